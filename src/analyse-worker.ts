/**
 * A worker thread of `analyseInParallel`: runs the whole pipe over every input but keeps only
 * its shard of the connections, and posts each session record (with its ordering key) back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { analyseCaptures } from './analyse.js';
import { CaptureInputError } from './capture/errors.js';
import type { MessageRecord } from './mail/message-record.js';
import { messageSinkFor, type WorkerJob, type WorkerMessage } from './parallel.js';

const job = workerData as WorkerJob;
const port = parentPort;
if (!port) throw new Error('analyse-worker must run in a worker thread');
const post = (message: WorkerMessage): void => port.postMessage(message);

try {
  const result = await analyseCaptures<MessageRecord>(job.paths, {
    ...job.options,
    messageSink: messageSinkFor(job.messages),
    shard: job.shard,
    onSession: (session) => post({ type: 'session', session }),
    onConnection: (key, state) => post({ type: 'connection', key, state }),
    onPosition: (key) => post({ type: 'position', key }),
    onProgress: job.progress ? ({ bytes, packets }) => post({ type: 'progress', bytes, packets }) : undefined,
  });
  post({ type: 'done', inputs: result.inputs });
} catch (err) {
  if (err instanceof CaptureInputError) post({ type: 'input-error', file: err.file, reason: err.reason });
  else throw err;
}
