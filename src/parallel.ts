import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  type AnalyseOptions,
  type AnalysisResult,
  analyseCaptures,
  readSegments,
  type SessionOptions,
} from './analyse.js';
import type { InputSummary } from './capture/raw-packet.js';
import { flowShard } from './decode/flow-shard.js';
import { SegmentBatchWriter } from './decode/segment-batch.js';
import { createMessageParserSink } from './mail/message-parser-sink.js';
import type { MessageRecord } from './mail/message-record.js';
import type { ProgressFigures } from './report/progress.js';
import { parseKeyId, type SessionKey, SessionOrderer } from './session-order.js';
import type { SessionRecord } from './smtp/records.js';

/** How much of each message to parse: all of it, the top header block only, or nothing (hash only). */
export type MessageParsing = 'full' | 'headers' | 'none';

export function messageSinkFor(parsing: MessageParsing): AnalyseOptions<MessageRecord>['messageSink'] {
  if (parsing === 'none') return undefined;
  return createMessageParserSink({ headersOnly: parsing === 'headers' });
}

export interface WorkerJob {
  options: SessionOptions;
  messages: MessageParsing;
}

/** Main thread -> worker: a batch of its segments (and how far reading has got), or the end. */
export type MainMessage = { type: 'batch'; batch: Uint8Array | null; position: SessionKey } | { type: 'end' };

/** Worker -> main thread. */
export type WorkerMessage =
  | { type: 'session'; session: SessionRecord<MessageRecord> }
  | { type: 'connection'; key: SessionKey; state: 'smtp' | 'probe' | 'not-smtp' }
  /** The batch's buffer comes back (transferred) to be filled again. */
  | { type: 'position'; key: SessionKey; batch: ArrayBuffer | null }
  | { type: 'done' };

export interface ParallelOptions
  extends SessionOptions,
    Pick<AnalyseOptions<MessageRecord>, 'decode' | 'read'> {
  /** How much of each message to parse. */
  messages: MessageParsing;
  workers: number;
  onProgress?: (figures: ProgressFigures) => void;
  /** Each session, by first packet (S1, S2, ...). */
  onSession?: (session: SessionRecord<MessageRecord>) => void;
  /** Collect every session into the result (default true). */
  keep?: boolean;
}

/**
 * A young generation of 4 MB semi-spaces, as the CLI's own `--max-semi-space-size=4`: garbage
 * from per-packet views is collected sooner, which keeps peak memory down at a small CPU cost.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 12 };

/** Batches a worker may have queued before reading waits for it (about 1 MiB of capture each). */
const MAX_IN_FLIGHT = 8;

/** Below this much input per thread, starting threads costs more than it saves. */
const BYTES_PER_WORKER = 128 * 1024 * 1024;

/** How many workers to use by default: one per core, but not more than the input is worth. */
export function defaultWorkers(totalBytes: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(totalBytes / BYTES_PER_WORKER)));
}

/**
 * Runs the pipe with the back half on `workers` threads. This thread reads and decodes the
 * capture once and sends each worker the segments of its connections (a symmetric flow hash),
 * a batch per chunk read; the workers reassemble and read SMTP. Each worker reports the
 * connections it opens and how far it has got, so sessions are numbered by first packet exactly
 * as one thread numbers them: the output is identical whatever the thread count.
 */
export async function analyseInParallel(
  paths: string[],
  options: ParallelOptions,
): Promise<AnalysisResult<MessageRecord>> {
  const {
    messages,
    workers: count,
    onProgress,
    onSession,
    keep = true,
    decode,
    read,
    ...sessionOptions
  } = options;
  if (count <= 1) {
    return analyseCaptures<MessageRecord>(paths, {
      ...options,
      order: 'first-packet',
      messageSink: messageSinkFor(messages),
    });
  }
  const kept: SessionRecord<MessageRecord>[] = [];
  const orderer = new SessionOrderer<SessionRecord<MessageRecord>>(
    count,
    true,
    ({ id, record }) => {
      record.id = id;
      if (keep) kept.push(record);
      onSession?.(record);
    },
    keep ? Number.POSITIVE_INFINITY : undefined,
  );
  const figures: ProgressFigures = { bytes: 0, packets: 0, sessions: 0, transactions: 0 };
  const inFlight = new Array<number>(count).fill(0);
  let wake: (() => void) | null = null;
  const onMessage = (index: number, message: WorkerMessage): void => {
    switch (message.type) {
      case 'connection':
        if (message.state === 'smtp') orderer.open(message.key);
        else if (message.state === 'probe') orderer.probe(message.key);
        else orderer.discard(message.key);
        return;
      case 'position':
        if (message.batch) writers[index].recycle(message.batch);
        inFlight[index]--;
        orderer.position(index, message.key);
        wake?.();
        return;
      case 'session':
        figures.sessions++;
        figures.transactions += message.session.transactions.length;
        orderer.close(parseKeyId(message.session.id), message.session);
        return;
      default:
        return;
    }
  };
  const workers = Array.from({ length: count }, (_, index) =>
    startWorker({ options: sessionOptions, messages }, (m) => onMessage(index, m)),
  );
  const writers = workers.map(() => new SegmentBatchWriter());
  const send = (position: SessionKey): void => {
    workers.forEach((w, i) => {
      const batch = writers[i].take();
      const message: MainMessage = { type: 'batch', batch, position };
      inFlight[i]++;
      w.worker.postMessage(message, batch ? [batch.buffer as ArrayBuffer] : []);
    });
  };
  // Reading waits while a worker is behind, so memory holds a few batches, not the capture;
  // and while the caller's own pace says so (its output is behind).
  const pace = (): Promise<void> | undefined => {
    const caller = read?.pace?.();
    return caller ? caller.then(workersPace) : workersPace();
  };
  const workersPace = (): Promise<void> | undefined => {
    if (inFlight.every((n) => n < MAX_IN_FLIGHT)) return undefined;
    return new Promise((resolve) => {
      wake = () => {
        if (inFlight.every((n) => n < MAX_IN_FLIGHT)) {
          wake = null;
          resolve();
        }
      };
    });
  };
  let inputs: InputSummary[];
  try {
    const failed = Promise.race(workers.map((w) => w.failed));
    inputs = await Promise.race([
      readSegments(
        paths,
        (segment, input) => writers[flowShard(segment, count)].append(segment, input),
        {
          decode,
          read: { ...read, pace },
          onProgress: onProgress ? () => onProgress(figures) : undefined,
          onPosition: send,
        },
        figures,
      ),
      failed,
    ]);
    send([paths.length, 0]);
    for (const w of workers) w.worker.postMessage({ type: 'end' } satisfies MainMessage);
    await Promise.race([Promise.all(workers.map((w) => w.done)), failed]);
  } finally {
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
  orderer.finish();
  onProgress?.(figures);
  return { inputs, sessions: kept };
}

function workerUrl(): { url: URL; eval: boolean } {
  const here = import.meta.url;
  // Under tsx (tests, dev) the worker is TypeScript: boot it through tsx's loader.
  if (here.endsWith('.ts')) return { url: new URL('./analyse-worker.ts', here), eval: true };
  return { url: new URL('./analyse-worker.js', here), eval: false };
}

interface StartedWorker {
  worker: Worker;
  /** Settles when the worker has finished every session. */
  done: Promise<void>;
  /** Rejects when the worker fails; never resolves. */
  failed: Promise<never>;
}

function startWorker(job: WorkerJob, onMessage: (message: WorkerMessage) => void): StartedWorker {
  const { url, eval: viaTsx } = workerUrl();
  const worker = viaTsx
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`,
        {
          eval: true,
          workerData: job,
          resourceLimits: WORKER_LIMITS,
        },
      )
    : new Worker(url, { workerData: job, resourceLimits: WORKER_LIMITS });
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let finished = false;
  const failed = new Promise<never>((_, reject) => {
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'done') {
        finished = true;
        finish();
      } else onMessage(message);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (!finished) reject(new Error(`analysis worker exited with code ${code}`));
    });
  });
  // A failure after the end is of no interest; keep it from being an unhandled rejection.
  failed.catch(() => {});
  return { worker, done, failed };
}
