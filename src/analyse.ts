import type { InputSummary, RawPacket } from './capture/raw-packet.js';
import { type ReadCaptureOptions, readCapture } from './capture/read-capture.js';
import { PacketDecoder, type PacketDecoderOptions } from './decode/packet-decoder.js';
import { newTcpSegment, type TcpSegment } from './decode/tcp-segment.js';
import type { ProgressFigures } from './report/progress.js';
import { InOrder, type SessionKey } from './session-order.js';
import type { DialogueListener } from './smtp/dialogue.js';
import { type SessionRecord, sessionOrdinal } from './smtp/records.js';
import { SmtpSessionFactory } from './smtp/session-factory.js';
import type { SmtpLimits } from './smtp/smtp-session.js';
import type { MessageSinkFactory } from './smtp/transaction-builder.js';
import { TcpReassembler, type TcpReassemblerOptions } from './tcp/reassembler.js';

/** Warnings listed per input; the rest are counted in one closing warning. */
const MAX_WARNINGS_PER_INPUT = 1000;

/** What the back of the pipe (TCP and SMTP) takes: plain data, so a worker thread can take it too. */
export interface SessionOptions {
  /** Ports besides 25, 465, 587 and 2525 to read as SMTP. */
  ports?: number[];
  /** Find SMTP on any other port by its content (a 220 greeting and HELO/EHLO/LHLO); default true. */
  detect?: boolean;
  smtpLimits?: Partial<SmtpLimits>;
  tcp?: Omit<TcpReassemblerOptions, 'isCandidate' | 'serverPorts'>;
  /**
   * Compute each message's SHA-256 (data.sha256; default true). A report that never shows it
   * turns it off: it is the largest cost per byte of the capture.
   */
  hashMessages?: boolean;
}

export interface AnalyseOptions<M> extends SessionOptions {
  /** What to do with each message's bytes besides hashing them (the mail layer's parser, an extractor). */
  messageSink?: MessageSinkFactory<M>;
  /** Receives every line of every session's dialogue, for the transcript. */
  dialogue?: DialogueListener;
  /** Called for each session as soon as it ends (capture order of endings), with its message data settled. */
  onSession?: (session: SessionRecord<M>) => void;
  /**
   * The order onSession sees sessions in: as each ends (default; NDJSON), or by first packet
   * (S1, S2, ...; a document), holding only the sessions that ended before an earlier one did.
   */
  order?: 'end' | 'first-packet';
  /** Collect every session into the result (default true); false keeps memory flat. */
  keep?: boolean;
  /** Called after each chunk read (about every MiB), for a progress display. */
  onProgress?: (figures: ProgressFigures) => void;
  /** Called for each input after it has been read. */
  onInput?: (input: InputSummary) => void;
  /** IP fragment reassembly limits (timeout, byte and datagram caps). */
  decode?: Omit<PacketDecoderOptions, 'onWarning'>;
  read?: ReadCaptureOptions;
}

export interface AnalysisResult<M> {
  inputs: InputSummary[];
  /** Every session, ordered by its first packet (S1, S2, ...). */
  sessions: SessionRecord<M>[];
}

/** What reading reports besides the segments, chunk by chunk. */
export interface ReadCallbacks {
  /** Called after each chunk read (about every MiB). */
  onProgress?: (figures: ProgressFigures) => void;
  /** After each chunk: every packet up to this one has been read (and handed on). */
  onPosition?: (key: SessionKey) => void;
  /** After each chunk, before its buffer is reused for the next read. */
  onChunkEnd?: () => void;
  onInput?: (input: InputSummary) => void;
}

/**
 * The front of the pipe: reads the inputs in order and decodes every packet, handing each TCP
 * segment on with the index of its input. Per-packet work is synchronous, one await per chunk.
 */
export async function readSegments(
  paths: string[],
  onSegment: (segment: TcpSegment, inputIndex: number) => void,
  options: ReadCallbacks & Pick<AnalyseOptions<never>, 'decode' | 'read'>,
  figures: ProgressFigures,
): Promise<InputSummary[]> {
  const inputs: InputSummary[] = [];
  const segment = newTcpSegment();
  const { onProgress, onPosition } = options;
  for (let inputIndex = 0; inputIndex < paths.length; inputIndex++) {
    const decodeWarnings: InputSummary['warnings'] = [];
    let unlisted = 0;
    const decoder = new PacketDecoder({
      ...options.decode,
      onWarning: (w) => {
        if (decodeWarnings.length < MAX_WARNINGS_PER_INPUT) decodeWarnings.push({ ...w, offset: -1 });
        else unlisted++;
      },
    });
    let lastPacket = 0;
    const onPacket = (packet: RawPacket): void => {
      figures.packets++;
      lastPacket = packet.index;
      if (decoder.decode(packet, segment)) onSegment(segment, inputIndex);
    };
    const bytesBefore = figures.bytes;
    const read: ReadCaptureOptions = {
      ...options.read,
      onProgress: (bytesRead) => {
        figures.bytes = bytesBefore + bytesRead;
        options.onChunkEnd?.();
        onProgress?.(figures);
        onPosition?.([inputIndex, lastPacket]);
      },
    };
    const summary = await readCapture(paths[inputIndex], onPacket, read);
    figures.bytes = bytesBefore + summary.bytes;
    // Fragments still waiting at the end of the file will never complete: report them.
    decoder.flush(summary.packets);
    summary.warnings.push(...decodeWarnings);
    if (unlisted > 0) {
      summary.warnings.push({
        code: 'warning-cap',
        packet: -1,
        offset: -1,
        detail: `${unlisted} further warnings`,
      });
    }
    summary.warnings.sort((a, b) => a.packet - b.packet);
    inputs.push(summary);
    options.onInput?.(summary);
  }
  return inputs;
}

export interface SessionPipeOptions<M> extends SessionOptions {
  messageSink?: MessageSinkFactory<M>;
  dialogue?: DialogueListener;
  /** Each session as it ends, with its message data settled. */
  onRecord: (record: SessionRecord<M>) => void;
  /** Ids are `<input index>:<first packet>` keys for a caller that numbers sessions itself. */
  keyIds?: boolean;
  /**
   * A connection became a session, a probe (content detection deciding), or was found not SMTP;
   * told only with keyIds, which gives each connection its key.
   */
  onConnection?: (key: SessionKey, state: 'smtp' | 'probe' | 'not-smtp') => void;
}

/**
 * The back of the pipe: TCP reassembly and SMTP sessions for the segments pushed in. Connections
 * may continue from one input into the next (a capture rotated by tcpdump -C), so it is
 * finished only after the last input.
 */
export class SessionPipe<M> {
  private readonly reassembler: TcpReassembler;
  /** Records waiting for their message sinks; each leaves the set once delivered. */
  private readonly settling = new Set<Promise<void>>();
  /** The first error a delivery threw, rethrown by finish. */
  private failure: unknown = null;
  private inputIndex = 0;

  constructor(options: SessionPipeOptions<M>) {
    const deliver = options.onRecord;
    const factory = new SmtpSessionFactory<M>({
      keyFor: options.keyIds ? (info) => [this.inputIndex, info.first.packet] : undefined,
      extraPorts: options.ports,
      detect: options.detect,
      limits: options.smtpLimits,
      messageSink: options.messageSink,
      hashMessages: options.hashMessages,
      dialogue: options.dialogue,
      onConnection: options.onConnection
        ? (_info, state, key) => {
            // The key taken at open: a probe may be decided while a later input is read.
            if (key) options.onConnection?.(key, state);
          }
        : undefined,
      onRecord: (record, ready) => {
        if (!ready) {
          deliver(record);
          return;
        }
        // Kept only until delivered: a capture of a million messages must not hold a million.
        const settled: Promise<void> = ready
          .then(() => deliver(record))
          .catch((err: unknown) => {
            this.failure ??= err;
          })
          .finally(() => this.settling.delete(settled));
        this.settling.add(settled);
      },
    });
    this.reassembler = new TcpReassembler(factory, {
      ...options.tcp,
      isCandidate: factory.isCandidate,
      serverPorts: factory.ports,
    });
  }

  push(segment: TcpSegment, inputIndex: number): void {
    this.inputIndex = inputIndex;
    this.reassembler.push(segment);
  }

  /** A segment another pipe (worker) follows: its time still moves this pipe's clock. */
  passBy(segment: TcpSegment): void {
    this.reassembler.passBy(segment);
  }

  /** The buffers behind the segments pushed so far are about to be reused. */
  releaseBuffers(): void {
    this.reassembler.releaseBuffers();
  }

  /** The end of the capture: every connection is flushed and closed, every message settled. */
  async finish(): Promise<void> {
    this.reassembler.finish();
    await Promise.all([...this.settling]);
    if (this.failure !== null) throw this.failure;
  }
}

/**
 * Runs the whole pipe over the inputs on this thread, read in order: capture -> decode -> TCP ->
 * SMTP. Throws CaptureInputError for an input that cannot be read at all; damage inside an
 * input becomes warnings in its summary.
 */
export async function analyseCaptures<M>(
  paths: string[],
  options: AnalyseOptions<M> = {},
): Promise<AnalysisResult<M>> {
  const sessions: SessionRecord<M>[] = [];
  const figures: ProgressFigures = { bytes: 0, packets: 0, sessions: 0, transactions: 0 };
  const keep = options.keep ?? true;
  const emit = (record: SessionRecord<M>): void => {
    if (keep) sessions.push(record);
    options.onSession?.(record);
  };
  // Sessions that ended before an earlier-numbered one did (kept as they are when all are kept).
  const inOrder =
    options.order === 'first-packet'
      ? new InOrder<SessionRecord<M>>(emit, keep ? Number.POSITIVE_INFINITY : undefined)
      : null;
  const pipe = new SessionPipe<M>({
    ...options,
    onRecord: (record) => {
      figures.sessions++;
      figures.transactions += record.transactions.length;
      if (inOrder) inOrder.put(sessionOrdinal(record.id), record);
      else emit(record);
    },
  });
  const inputs = await readSegments(
    paths,
    (segment, input) => pipe.push(segment, input),
    { ...options, onChunkEnd: () => pipe.releaseBuffers() },
    figures,
  );
  await pipe.finish();
  // Most sessions end at the end of the capture: show their count.
  options.onProgress?.(figures);
  sessions.sort((a, b) => sessionOrdinal(a.id) - sessionOrdinal(b.id));
  return { inputs, sessions };
}
