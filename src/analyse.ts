import type { InputSummary, RawPacket } from './capture/raw-packet.js';
import { type ReadCaptureOptions, readCapture } from './capture/read-capture.js';
import { flowShard } from './decode/flow-shard.js';
import { PacketDecoder, type PacketDecoderOptions } from './decode/packet-decoder.js';
import { newTcpSegment } from './decode/tcp-segment.js';
import type { ProgressFigures } from './report/progress.js';
import type { DialogueListener } from './smtp/dialogue.js';
import type { SessionRecord } from './smtp/records.js';
import { SmtpSessionFactory } from './smtp/session-factory.js';
import type { SmtpLimits } from './smtp/smtp-session.js';
import type { MessageSinkFactory } from './smtp/transaction-builder.js';
import { TcpReassembler, type TcpReassemblerOptions } from './tcp/reassembler.js';

/** Warnings listed per input; the rest are counted in one closing warning. */
const MAX_WARNINGS_PER_INPUT = 1000;

export interface AnalyseOptions<M> {
  /** Ports besides 25, 465, 587 and 2525 to read as SMTP. */
  ports?: number[];
  /** What to do with each message's bytes besides hashing them (the mail layer's parser, an extractor). */
  messageSink?: MessageSinkFactory<M>;
  /** Receives every line of every session's dialogue, for the transcript. */
  dialogue?: DialogueListener;
  /** Called for each session as soon as it ends (capture order of endings), with its message data settled. */
  onSession?: (session: SessionRecord<M>) => void;
  /** Called after each chunk read (about every MiB), for a progress display. */
  onProgress?: (figures: ProgressFigures) => void;
  /** Called for each input after it has been read. */
  onInput?: (input: InputSummary) => void;
  smtpLimits?: Partial<SmtpLimits>;
  tcp?: Omit<TcpReassemblerOptions, 'isCandidate' | 'serverPorts'>;
  /** IP fragment reassembly limits (timeout, byte and datagram caps). */
  decode?: Omit<PacketDecoderOptions, 'onWarning'>;
  read?: ReadCaptureOptions;
  /**
   * Only the connections of one shard of `count` (a symmetric flow hash): what a worker thread
   * runs. Session ids are then `<input index>:<first packet>` keys for the caller to renumber.
   */
  shard?: { index: number; count: number };
}

export interface AnalysisResult<M> {
  inputs: InputSummary[];
  /** Every session, ordered by its first packet (S1, S2, ...). */
  sessions: SessionRecord<M>[];
}

/**
 * Runs the whole pipe over the inputs, read in order: capture -> decode -> TCP -> SMTP.
 * Connections may continue from one file into the next (a capture rotated by tcpdump -C), so
 * the reassembler is flushed only after the last input. Throws CaptureInputError for an input
 * that cannot be read at all; damage inside an input becomes warnings in its summary.
 */
export async function analyseCaptures<M>(
  paths: string[],
  options: AnalyseOptions<M> = {},
): Promise<AnalysisResult<M>> {
  const sessions: SessionRecord<M>[] = [];
  const settling: Promise<void>[] = [];
  const figures: ProgressFigures = { bytes: 0, packets: 0, sessions: 0, transactions: 0 };
  const deliver = (record: SessionRecord<M>): void => {
    figures.sessions++;
    figures.transactions += record.transactions.length;
    sessions.push(record);
    options.onSession?.(record);
  };
  let inputIndex = 0;
  const shard = options.shard;
  const factory = new SmtpSessionFactory<M>({
    idFor: shard ? (info) => `${inputIndex}:${info.first.packet}` : undefined,
    extraPorts: options.ports,
    limits: options.smtpLimits,
    messageSink: options.messageSink,
    dialogue: options.dialogue,
    onRecord: (record, ready) => {
      if (ready) settling.push(ready.then(() => deliver(record)));
      else deliver(record);
    },
  });
  const reassembler = new TcpReassembler(factory, {
    ...options.tcp,
    isCandidate: factory.isCandidate,
    serverPorts: factory.ports,
  });
  const inputs: InputSummary[] = [];
  const segment = newTcpSegment();
  for (const path of paths) {
    const decodeWarnings: InputSummary['warnings'] = [];
    let unlisted = 0;
    const decoder = new PacketDecoder({
      ...options.decode,
      onWarning: (w) => {
        if (decodeWarnings.length < MAX_WARNINGS_PER_INPUT) decodeWarnings.push({ ...w, offset: -1 });
        else unlisted++;
      },
    });
    const onPacket = (packet: RawPacket): void => {
      figures.packets++;
      if (!decoder.decode(packet, segment)) return;
      if (shard && flowShard(segment, shard.count) !== shard.index) return;
      reassembler.push(segment);
    };
    const bytesBefore = figures.bytes;
    const onProgress = options.onProgress;
    const read: ReadCaptureOptions = onProgress
      ? {
          ...options.read,
          onProgress: (bytesRead) => {
            figures.bytes = bytesBefore + bytesRead;
            onProgress(figures);
          },
        }
      : (options.read ?? {});
    const summary = await readCapture(path, onPacket, read);
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
    inputIndex++;
  }
  reassembler.finish();
  await Promise.all(settling);
  if (!shard) sessions.sort((a, b) => sessionOrdinal(a.id) - sessionOrdinal(b.id));
  return { inputs, sessions };
}

/** The number in a session id `S<n>`. */
function sessionOrdinal(id: string): number {
  return Number(id.slice(1));
}
