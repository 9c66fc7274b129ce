import type { ConnectionInfo, StreamFactory, StreamHandler } from '../tcp/stream.js';
import { SmtpProbe } from './detect.js';
import type { DialogueEvent, DialogueListener } from './dialogue.js';
import type { SessionRecord } from './records.js';
import { DEFAULT_SMTP_LIMITS, type SmtpLimits, SmtpSession } from './smtp-session.js';
import type { MessageSinkFactory } from './transaction-builder.js';

/** A connection's place in the inputs: (input index, packet number of its first packet). */
export type ConnectionKey = readonly [input: number, packet: number];

/** A key as a session id: `<input>:<packet>`. */
export function keyId(key: ConnectionKey): string {
  return `${key[0]}:${key[1]}`;
}

/** Ports where SMTP is expected: relay, implicit TLS submission, submission, the common alternative. */
export const SMTP_PORTS: readonly number[] = [25, 465, 587, 2525];
/** Ports where the session is TLS from its first byte. */
export const IMPLICIT_TLS_PORTS: readonly number[] = [465];
/**
 * Connection slots a session takes while a message sink reads its message: the sink's state
 * (MIME scanner, part hashes, header fields, indicator sets) is about three times the session's.
 */
export const MESSAGE_SLOTS = 6;

export interface SessionFactoryOptions<M> {
  /** Ports besides SMTP_PORTS to read as SMTP. */
  extraPorts?: number[];
  /** Also find SMTP on other ports by its content (a 220 greeting and a HELO/EHLO/LHLO); default true. */
  detect?: boolean;
  limits?: Partial<SmtpLimits>;
  messageSink?: MessageSinkFactory<M>;
  /** Compute each message's SHA-256 (default true). */
  hashMessages?: boolean;
  dialogue?: DialogueListener;
  /**
   * A connection's place, taken when it opens (input index, first packet), which then is its
   * session's id (`<input>:<packet>`) for a caller that numbers sessions itself; by default
   * sessions are numbered S1, S2, ... in the order connections open.
   */
  keyFor?: (info: ConnectionInfo) => ConnectionKey;
  onRecord: (record: SessionRecord<M>, ready: Promise<void> | null) => void;
  /**
   * Told of every connection the factory keeps: at open, 'smtp' (an SMTP port) or 'probe'
   * (detection watches it); later, for a probe, 'smtp' or 'not-smtp' once its content decides.
   * `info` is the connection as opened; `key` its place from keyFor (taken at open: a probe may
   * be decided while a later input is read).
   */
  onConnection?: (
    info: ConnectionInfo,
    state: 'smtp' | 'probe' | 'not-smtp',
    key: ConnectionKey | null,
  ) => void;
}

/**
 * One connection in the order of its first packet. A probe is undecided until its content
 * says whether it is SMTP; an SMTP entry gets its id once every entry before it is decided, so
 * ids follow first packets and a probe that is not SMTP never takes one.
 */
interface Entry<M> {
  decided: boolean;
  smtp: boolean;
  /** The place from `keyFor`, or null to number it. */
  key: ConnectionKey | null;
  id: string | null;
  /** The record, when the session ended before its id was known. */
  record: { record: SessionRecord<M>; ready: Promise<void> | null } | null;
  /** Dialogue events sent before the id was known. */
  events: DialogueEvent[] | null;
}

/**
 * Makes one SmtpSession per SMTP connection (an SMTP port, or any port where detection finds
 * SMTP), numbering sessions S1, S2, ... in the order their first packet appears in the capture.
 */
export class SmtpSessionFactory<M> implements StreamFactory {
  readonly ports: Set<number>;
  readonly detect: boolean;
  private numbered = 0;
  private readonly limits: SmtpLimits;
  /** Entries not yet numbered, in first-packet order, from `head` on. */
  private queue: Entry<M>[] = [];
  private head = 0;
  /** Message sinks made and not yet ended, over all sessions. */
  private openSinks = 0;
  private readonly messageSink: MessageSinkFactory<M> | undefined;

  constructor(private readonly options: SessionFactoryOptions<M>) {
    this.ports = new Set([...SMTP_PORTS, ...(options.extraPorts ?? [])]);
    this.detect = options.detect ?? true;
    this.limits = { ...DEFAULT_SMTP_LIMITS, ...options.limits };
    this.messageSink = options.messageSink && this.counted(options.messageSink);
  }

  extraSlots(): number {
    return this.openSinks * (MESSAGE_SLOTS - 1);
  }

  /** The sink factory, counting the sinks open for extraSlots. */
  private counted(factory: MessageSinkFactory<M>): MessageSinkFactory<M> {
    return (transaction) => {
      const sink = factory(transaction);
      if (sink === null) return null;
      this.openSinks++;
      return {
        write: (bytes) => sink.write(bytes),
        gap: (length) => sink.gap(length),
        end: () => {
          this.openSinks--;
          return sink.end();
        },
      };
    };
  }

  /** Cheap filter the reassembler applies before any per-connection work; every port with detection. */
  isCandidate = (srcPort: number, dstPort: number): boolean =>
    this.detect || this.ports.has(srcPort) || this.ports.has(dstPort);

  open(info: ConnectionInfo): StreamHandler | null {
    const onPort = this.ports.has(info.server.port);
    if (!onPort && !this.detect) return null;
    const entry: Entry<M> = {
      decided: onPort,
      smtp: onPort,
      key: this.options.keyFor?.(info) ?? null,
      id: null,
      record: null,
      events: null,
    };
    this.queue.push(entry);
    this.options.onConnection?.(info, onPort ? 'smtp' : 'probe', entry.key);
    this.settle();
    if (onPort) return this.session(info, entry);
    return new SmtpProbe(info, (found) => this.session(found, entry), {
      decided: (smtp) => {
        entry.decided = true;
        entry.smtp = smtp;
        this.options.onConnection?.(info, smtp ? 'smtp' : 'not-smtp', entry.key);
        this.settle();
      },
    });
  }

  private session(info: ConnectionInfo, entry: Entry<M>): SmtpSession<M> {
    const listener = this.options.dialogue;
    return new SmtpSession<M>({
      id: entry.id ?? (entry.key ? keyId(entry.key) : ''),
      info,
      implicitTls: IMPLICIT_TLS_PORTS.includes(info.server.port),
      limits: this.limits,
      messageSink: this.messageSink,
      hashMessages: this.options.hashMessages ?? true,
      dialogue: listener
        ? (_id, event) => {
            if (entry.id !== null) listener(entry.id, event);
            else {
              const kept = { ...event, bytes: Buffer.from(event.bytes) };
              if (entry.events) entry.events.push(kept);
              else entry.events = [kept];
            }
          }
        : undefined,
      onRecord: (record, ready) => {
        if (entry.id === null) entry.record = { record, ready };
        else this.deliver(entry.id, record, ready);
      },
    });
  }

  /** Numbers every decided entry at the front of the queue, releasing what waited for its id. */
  private settle(): void {
    const queue = this.queue;
    while (this.head < queue.length && queue[this.head].decided) {
      const entry = queue[this.head++];
      if (!entry.smtp) continue;
      const id = entry.key ? keyId(entry.key) : `S${++this.numbered}`;
      entry.id = id;
      const listener = this.options.dialogue;
      if (entry.events && listener) for (const event of entry.events) listener(id, event);
      entry.events = null;
      if (entry.record) this.deliver(id, entry.record.record, entry.record.ready);
      entry.record = null;
    }
    // Drop the numbered prefix now and then, so the queue holds only what waits.
    if (this.head > 1024 && this.head * 2 > queue.length) {
      this.queue = queue.slice(this.head);
      this.head = 0;
    }
  }

  private deliver(id: string, record: SessionRecord<M>, ready: Promise<void> | null): void {
    record.id = id;
    this.options.onRecord(record, ready);
  }
}
