/**
 * The library API: everything the CLI does is available without it.
 *
 *   for await (const session of analyse(['capture.pcapng'])) console.log(session.id, session.transactions.length);
 */
import { type AnalyseOptions, analyseCaptures } from './analyse.js';
import type { SessionRecord } from './smtp/records.js';

export { type AnalyseOptions, type AnalysisResult, analyseCaptures } from './analyse.js';
export { CaptureInputError } from './capture/errors.js';
export type { CaptureWarning, InputSummary, RawPacket } from './capture/raw-packet.js';
export { formatWarning, readCapture } from './capture/read-capture.js';
export { createMessageParserSink } from './mail/message-parser-sink.js';
export type { MessageRecord } from './mail/message-record.js';
export { analyseInParallel, type MessageParsing, type ParallelOptions } from './parallel.js';
export { ANOMALY_CODES } from './smtp/anomaly-codes.js';
export type { DialogueEvent, DialogueListener } from './smtp/dialogue.js';
export type * from './smtp/records.js';
export type { MessageSink, MessageSinkFactory } from './smtp/transaction-builder.js';

/** Sessions as they end (capture order of endings), as an async iterable. */
export async function* analyse<M = never>(
  paths: string[],
  options: Omit<AnalyseOptions<M>, 'onSession'> = {},
): AsyncGenerator<SessionRecord<M>> {
  const ready: SessionRecord<M>[] = [];
  let wake: (() => void) | null = null;
  let finished = false;
  let failure: unknown = null;
  const signal = (): void => {
    wake?.();
    wake = null;
  };
  const onSession = (session: SessionRecord<M>): void => {
    ready.push(session);
    signal();
  };
  analyseCaptures<M>(paths, { ...options, onSession }).then(
    () => {
      finished = true;
      signal();
    },
    (err: unknown) => {
      failure = err;
      finished = true;
      signal();
    },
  );
  while (true) {
    const next = ready.shift();
    if (next) {
      yield next;
      continue;
    }
    if (finished) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
  if (failure !== null) throw failure;
}
