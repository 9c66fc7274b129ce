import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type AnalyseOptions, type AnalysisResult, analyseCaptures } from './analyse.js';
import { CaptureInputError } from './capture/errors.js';
import type { InputSummary } from './capture/raw-packet.js';
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

/** The options a worker can take: plain data (no callbacks cross a thread). */
export type WorkerOptions = Pick<
  AnalyseOptions<MessageRecord>,
  'ports' | 'detect' | 'smtpLimits' | 'tcp' | 'decode'
>;

export interface WorkerJob {
  paths: string[];
  options: WorkerOptions;
  messages: MessageParsing;
  shard: { index: number; count: number };
  /** Post progress messages (one worker does, for all). */
  progress: boolean;
}

export type WorkerMessage =
  | { type: 'session'; session: SessionRecord<MessageRecord> }
  | { type: 'progress'; bytes: number; packets: number }
  | { type: 'connection'; key: SessionKey; state: 'smtp' | 'probe' | 'not-smtp' }
  | { type: 'position'; key: SessionKey }
  | { type: 'done'; inputs: InputSummary[] }
  | { type: 'input-error'; file: string; reason: string };

export interface ParallelOptions extends WorkerOptions {
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
 * A young generation of 8 MB semi-spaces, as the CLI's own `--max-semi-space-size=8`: garbage
 * from per-packet views is collected sooner, which keeps peak memory down at a small CPU cost.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 24 };

/** Below this much input, starting threads costs more than it saves. */
const BYTES_PER_WORKER = 32 * 1024 * 1024;

/** How many workers to use by default: one per core, but not more than the input is worth. */
export function defaultWorkers(totalBytes: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(totalBytes / BYTES_PER_WORKER)));
}

/**
 * Runs the pipe on `workers` threads, each reading every input and keeping the connections of
 * its shard (a symmetric flow hash). The sessions are then numbered by where their first packet
 * is, exactly as one thread numbers them, so the result is identical whatever the thread count.
 */
export async function analyseInParallel(
  paths: string[],
  options: ParallelOptions,
): Promise<AnalysisResult<MessageRecord>> {
  if (options.workers <= 1) {
    const { messages, workers: _workers, ...rest } = options;
    return analyseCaptures<MessageRecord>(paths, {
      ...rest,
      order: 'first-packet',
      messageSink: messageSinkFor(messages),
    });
  }
  const { messages, workers: count, onProgress, onSession, keep = true, ...workerOptions } = options;
  const kept: SessionRecord<MessageRecord>[] = [];
  // Each worker says which connections it opened and how far it has read: the orderer numbers
  // a session once nothing before it can still appear, and hands it on in that order.
  const orderer = new SessionOrderer<SessionRecord<MessageRecord>>(count, true, ({ id, record }) => {
    record.id = id;
    if (keep) kept.push(record);
    onSession?.(record);
  });
  // Every worker reads all of the input: the first one's reading stands for all of them.
  const figures: ProgressFigures = { bytes: 0, packets: 0, sessions: 0, transactions: 0 };
  const onMessage = (index: number, message: WorkerMessage): void => {
    switch (message.type) {
      case 'connection':
        if (message.state === 'smtp') orderer.open(message.key);
        else if (message.state === 'probe') orderer.probe(message.key);
        else orderer.discard(message.key);
        return;
      case 'position':
        orderer.position(index, message.key);
        return;
      case 'session':
        figures.sessions++;
        figures.transactions += message.session.transactions.length;
        orderer.close(parseKeyId(message.session.id), message.session);
        break;
      case 'progress':
        if (index !== 0) return;
        figures.bytes = message.bytes;
        figures.packets = message.packets;
        break;
      default:
        return;
    }
    onProgress?.(figures);
  };
  const workers = Array.from({ length: count }, (_, index) =>
    startWorker(
      {
        paths,
        options: workerOptions,
        messages,
        shard: { index, count },
        progress: index === 0 && !!onProgress,
      },
      (m) => onMessage(index, m),
    ),
  );
  let results: WorkerResult[];
  try {
    results = await Promise.all(workers.map((w) => w.result));
  } finally {
    // One failed input fails them all: do not leave the others reading.
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
  orderer.finish();
  return { inputs: results[0].inputs, sessions: kept };
}

function workerUrl(): { url: URL; eval: boolean } {
  const here = import.meta.url;
  // Under tsx (tests, dev) the worker is TypeScript: boot it through tsx's loader.
  if (here.endsWith('.ts')) return { url: new URL('./analyse-worker.ts', here), eval: true };
  return { url: new URL('./analyse-worker.js', here), eval: false };
}

interface WorkerResult {
  inputs: InputSummary[];
}

function startWorker(
  job: WorkerJob,
  onMessage: (message: WorkerMessage) => void,
): { worker: Worker; result: Promise<WorkerResult> } {
  const { url, eval: viaTsx } = workerUrl();
  const worker = viaTsx
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`,
        {
          eval: true,
          workerData: job,
        },
      )
    : new Worker(url, { workerData: job, resourceLimits: WORKER_LIMITS });
  const result = new Promise<WorkerResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'done') {
        settled = true;
        resolve({ inputs: message.inputs });
      } else if (message.type === 'input-error') {
        settled = true;
        reject(new CaptureInputError(message.file, message.reason));
      } else onMessage(message);
    });
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`analysis worker ${job.shard.index} exited with code ${code}`));
    });
  });
  return { worker, result };
}
