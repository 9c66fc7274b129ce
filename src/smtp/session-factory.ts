import type { ConnectionInfo, StreamFactory, StreamHandler } from '../tcp/stream.js';
import type { DialogueListener } from './dialogue.js';
import type { SessionRecord } from './records.js';
import { DEFAULT_SMTP_LIMITS, type SmtpLimits, SmtpSession } from './smtp-session.js';
import type { MessageSinkFactory } from './transaction-builder.js';

/** Ports where SMTP is expected: relay, implicit TLS submission, submission, the common alternative. */
export const SMTP_PORTS: readonly number[] = [25, 465, 587, 2525];
/** Ports where the session is TLS from its first byte. */
export const IMPLICIT_TLS_PORTS: readonly number[] = [465];

export interface SessionFactoryOptions<M> {
  /** Ports besides SMTP_PORTS to read as SMTP. */
  extraPorts?: number[];
  limits?: Partial<SmtpLimits>;
  messageSink?: MessageSinkFactory<M>;
  dialogue?: DialogueListener;
  /** Session ids; by default S1, S2, ... in the order connections open. */
  idFor?: (info: ConnectionInfo) => string;
  onRecord: (record: SessionRecord<M>, ready: Promise<void> | null) => void;
}

/**
 * Makes one SmtpSession per connection to an SMTP port, numbering sessions S1, S2, ... in the
 * order their first packet appears in the capture.
 */
export class SmtpSessionFactory<M> implements StreamFactory {
  readonly ports: Set<number>;
  private opened = 0;
  private readonly limits: SmtpLimits;

  constructor(private readonly options: SessionFactoryOptions<M>) {
    this.ports = new Set([...SMTP_PORTS, ...(options.extraPorts ?? [])]);
    this.limits = { ...DEFAULT_SMTP_LIMITS, ...options.limits };
  }

  /** Cheap filter the reassembler applies before any per-connection work. */
  isCandidate = (srcPort: number, dstPort: number): boolean =>
    this.ports.has(srcPort) || this.ports.has(dstPort);

  open(info: ConnectionInfo): StreamHandler | null {
    if (!this.ports.has(info.server.port)) return null;
    this.opened++;
    return new SmtpSession<M>({
      id: this.options.idFor?.(info) ?? `S${this.opened}`,
      info,
      implicitTls: IMPLICIT_TLS_PORTS.includes(info.server.port),
      limits: this.limits,
      messageSink: this.options.messageSink,
      dialogue: this.options.dialogue,
      onRecord: this.options.onRecord,
    });
  }
}
