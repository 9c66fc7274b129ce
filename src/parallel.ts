import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type AnalyseOptions, type AnalysisResult, analyseCaptures, type SessionOptions } from './analyse.js';
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

export interface WorkerJob {
  paths: string[];
  /** This worker's shard of connections, of `shards`. */
  shard: number;
  shards: number;
  options: SessionOptions;
  messages: MessageParsing;
  decode?: AnalyseOptions<MessageRecord>['decode'];
  chunkSize?: number;
  /** Chunks a worker may read before it hears from the main thread. */
  ahead: number;
}

/** Main thread -> worker: read up to (not including) chunk `upTo`. */
export type MainMessage = { type: 'allow'; upTo: number };

/** What a worker reports, in order. */
export type WorkerEvent =
  | { type: 'session'; session: SessionRecord<MessageRecord> }
  | { type: 'connection'; key: SessionKey; state: 'smtp' | 'probe' | 'not-smtp' }
  /** Every packet up to `key` has been read: `chunks` read so far, and the reading figures. */
  | { type: 'position'; key: SessionKey; chunks: number; bytes: number; packets: number }
  /** Every session has been sent; and what reading found in each input. */
  | { type: 'done'; inputs: InputSummary[] };

/** Worker -> main thread: the events of one chunk read (one message each costs more than its work), or a failure. */
export type WorkerMessage =
  | { type: 'events'; events: WorkerEvent[] }
  | { type: 'failed'; message: string; file: string | null; reason: string | null };

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
  /**
   * 'first-packet' (default): S1, S2, ... in order, the same whatever the thread count. 'end':
   * each session as soon as it ends and has its number, in an order that depends on the threads'
   * pace (for a caller that only counts, so nothing waits behind a session that stays open).
   */
  order?: 'first-packet' | 'end';
}

/**
 * A young generation of 4 MB semi-spaces, as the CLI's own `--max-semi-space-size=4`: garbage
 * from per-packet views is collected sooner, which keeps peak memory down at a small CPU cost.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 12 };

/**
 * How many chunks (about 1 MiB of capture each) a worker may read past the slowest one: a
 * worker far ahead would leave its sessions waiting here for the other's position.
 */
const CHUNKS_AHEAD = 8;

/** Below this much input per thread, starting threads costs more than it saves. */
const BYTES_PER_WORKER = 128 * 1024 * 1024;

/** How many workers to use by default: one per core, but not more than the input is worth. */
export function defaultWorkers(totalBytes: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(totalBytes / BYTES_PER_WORKER)));
}

/** Whether every input can be read by several threads at once: a regular file, not stdin or a pipe. */
export function rereadable(paths: string[]): boolean {
  return paths.every((path) => {
    if (path === '-') return false;
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * Runs the pipe on `workers` threads. Each worker reads and decodes the whole capture (about an
 * eighth of one thread's work) and keeps only the segments of its connections (a symmetric flow
 * hash), so nothing but session records crosses between threads. Each worker reports the
 * connections it opens and how far it has read, so sessions are numbered by first packet exactly
 * as one thread numbers them: the output is identical whatever the thread count. Inputs that can
 * be read only once (stdin, a pipe) are analysed on this thread.
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
    order = 'first-packet',
    decode,
    read,
    ...sessionOptions
  } = options;
  if (count <= 1 || !rereadable(paths)) {
    return analyseCaptures<MessageRecord>(paths, {
      ...options,
      order,
      messageSink: messageSinkFor(messages),
    });
  }
  const kept: SessionRecord<MessageRecord>[] = [];
  const orderer = new SessionOrderer<SessionRecord<MessageRecord>>(
    count,
    order === 'first-packet',
    ({ id, record }) => {
      record.id = id;
      if (keep) kept.push(record);
      onSession?.(record);
    },
    keep ? Number.POSITIVE_INFINITY : undefined,
  );
  const figures: ProgressFigures = { bytes: 0, packets: 0, sessions: 0, transactions: 0 };
  const chunks = new Array<number>(count).fill(0);
  let allowed = CHUNKS_AHEAD;
  let callerBehind = false;
  // Workers read on while the slowest is close and the caller's output keeps up.
  const allowMore = (): void => {
    if (callerBehind) return;
    const wait = read?.pace?.();
    if (wait) {
      callerBehind = true;
      void wait.then(() => {
        callerBehind = false;
        allowMore();
      });
      return;
    }
    const upTo = Math.min(...chunks) + CHUNKS_AHEAD;
    if (upTo <= allowed) return;
    allowed = upTo;
    for (const w of workers) w.worker.postMessage({ type: 'allow', upTo } satisfies MainMessage);
  };
  const summaries: InputSummary[][] = [];
  const onEvent = (index: number, message: WorkerEvent): void => {
    switch (message.type) {
      case 'connection':
        if (message.state === 'smtp') orderer.open(message.key);
        else if (message.state === 'probe') orderer.probe(message.key);
        else orderer.discard(message.key);
        return;
      case 'position':
        orderer.position(index, message.key);
        chunks[index] = message.chunks;
        if (index === 0 && message.chunks > 0) {
          figures.bytes = message.bytes;
          figures.packets = message.packets;
          onProgress?.(figures);
        }
        allowMore();
        return;
      case 'session':
        figures.sessions++;
        figures.transactions += message.session.transactions.length;
        orderer.close(parseKeyId(message.session.id), message.session);
        return;
      case 'done':
        summaries[index] = message.inputs;
        return;
      default:
        return;
    }
  };
  const workers = Array.from({ length: count }, (_, shard) =>
    startWorker(
      {
        paths,
        shard,
        shards: count,
        options: sessionOptions,
        messages,
        decode,
        chunkSize: read?.chunkSize,
        ahead: CHUNKS_AHEAD,
      },
      (m) => onEvent(shard, m),
    ),
  );
  try {
    const failed = Promise.race(workers.map((w) => w.failed));
    await Promise.race([Promise.all(workers.map((w) => w.done)), failed]);
  } finally {
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
  orderer.finish();
  onProgress?.(figures);
  return { inputs: agreedInputs(summaries), sessions: kept };
}

/**
 * What reading found in each input, as worker 0 saw it. Every worker reads the same bytes, so
 * their summaries agree, unless a file changed while it was read (a ring buffer of `tcpdump -W`
 * overwriting it): then the workers stopped at different places, and each followed its
 * connections only as far as it read. That is said, not hidden.
 */
export function agreedInputs(summaries: InputSummary[][]): InputSummary[] {
  const [first, ...others] = summaries;
  return first.map((input, i) => {
    const read = others
      .map((s) => s[i])
      .filter((s) => s.packets !== input.packets || s.bytes !== input.bytes);
    if (read.length === 0) return input;
    const counts = [input, ...read].map((s) => `${s.packets} packets (${s.bytes} bytes)`).join(', ');
    return {
      ...input,
      warnings: [
        ...input.warnings,
        {
          code: 'input-changed',
          packet: -1,
          offset: -1,
          detail: `the file changed while it was read: the worker threads read ${counts}; sessions past the shortest read may be missing or cut`,
        },
      ],
    };
  });
}

function workerUrl(): { url: URL; eval: boolean } {
  const here = import.meta.url;
  // Under tsx (tests, dev) the worker is TypeScript: boot it through tsx's loader.
  if (here.endsWith('.ts')) return { url: new URL('./analyse-worker.ts', here), eval: true };
  return { url: new URL('./analyse-worker.js', here), eval: false };
}

interface StartedWorker {
  worker: Worker;
  /** Settles when the worker has sent every session. */
  done: Promise<void>;
  /** Rejects when the worker fails; never resolves. */
  failed: Promise<never>;
}

function startWorker(job: WorkerJob, onEvent: (event: WorkerEvent) => void): StartedWorker {
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
      if (message.type === 'failed') {
        reject(
          message.file !== null && message.reason !== null
            ? new CaptureInputError(message.file, message.reason)
            : new Error(message.message),
        );
        return;
      }
      for (const event of message.events) {
        onEvent(event);
        if (event.type === 'done') {
          finished = true;
          finish();
        }
      }
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
