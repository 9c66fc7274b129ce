/**
 * A worker thread of `analyseInParallel`: reads and decodes every input itself and runs the rest
 * of the pipe (TCP reassembly, SMTP, message parsing) for the connections of its shard. It
 * reports each connection it opens, how far it has read, and each session record (with a
 * `<input>:<first packet>` id to renumber); it reads no further than the main thread allows.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readSegments, SessionPipe } from './analyse.js';
import { CaptureInputError } from './capture/errors.js';
import { flowShard } from './decode/flow-shard.js';
import type { MessageRecord } from './mail/message-record.js';
import {
  type MainMessage,
  messageSinkFor,
  type WorkerEvent,
  type WorkerJob,
  type WorkerMessage,
} from './parallel.js';
import type { ProgressFigures } from './report/progress.js';

const job = workerData as WorkerJob;
const port = parentPort;
if (!port) throw new Error('analyse-worker must run in a worker thread');
const post = (message: WorkerMessage): void => port.postMessage(message);
/** Events sent in one message: those of a chunk, or of the end, where every open session closes at once. */
const MAX_EVENTS = 256;
let events: WorkerEvent[] = [];
const report = (event: WorkerEvent): void => {
  events.push(event);
  if (events.length >= MAX_EVENTS) flush();
};
/** Sends what the chunk (or the end) produced. */
const flush = (): void => {
  post({ type: 'events', events });
  events = [];
};

let chunks = 0;
let allowed = job.ahead;
let resume: (() => void) | null = null;
port.on('message', (message: MainMessage) => {
  allowed = Math.max(allowed, message.upTo);
  if (resume && chunks < allowed) {
    resume();
    resume = null;
  }
});
const pace = (): Promise<void> | undefined =>
  chunks < allowed
    ? undefined
    : new Promise((resolve) => {
        resume = resolve;
      });

async function run(): Promise<void> {
  const pipe = new SessionPipe<MessageRecord>({
    ...job.options,
    messageSink: messageSinkFor(job.messages),
    keyIds: true,
    onConnection: (key, state) => report({ type: 'connection', key, state }),
    onRecord: (session) => report({ type: 'session', session }),
  });
  const figures: ProgressFigures = { bytes: 0, packets: 0, sessions: 0, transactions: 0 };
  const inputs = await readSegments(
    job.paths,
    (segment, input) => {
      if (flowShard(segment, job.shards) === job.shard) pipe.push(segment, input);
      else pipe.passBy(segment);
    },
    {
      decode: job.decode,
      read: { chunkSize: job.chunkSize, pace },
      onChunkEnd: () => pipe.releaseBuffers(),
      onPosition: (key) => {
        chunks++;
        report({ type: 'position', key, chunks, bytes: figures.bytes, packets: figures.packets });
        flush();
      },
    },
    figures,
  );
  // Nothing is left to read: no connection opens after this, whatever finishing closes.
  report({
    type: 'position',
    key: [job.paths.length, 0],
    chunks: Number.POSITIVE_INFINITY,
    bytes: figures.bytes,
    packets: figures.packets,
  });
  await pipe.finish();
  report({ type: 'done', inputs });
  flush();
  port?.close();
}

run().catch((err: unknown) => {
  const input = err instanceof CaptureInputError ? err : null;
  post({
    type: 'failed',
    message: err instanceof Error ? err.message : String(err),
    file: input?.file ?? null,
    reason: input?.reason ?? null,
  });
});
