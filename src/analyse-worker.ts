/**
 * A worker thread of `analyseInParallel`: the back of the pipe (TCP reassembly, SMTP, message
 * parsing) for the connections of its shard. The main thread reads and decodes the capture and
 * sends this worker its segments in batches; the worker reports each connection it opens, how
 * far it has got, and each session record (with a `<input>:<first packet>` id to renumber).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SessionPipe } from './analyse.js';
import { readSegmentBatch } from './decode/segment-batch.js';
import { newTcpSegment } from './decode/tcp-segment.js';
import type { MessageRecord } from './mail/message-record.js';
import { type MainMessage, messageSinkFor, type WorkerJob, type WorkerMessage } from './parallel.js';

const job = workerData as WorkerJob;
const port = parentPort;
if (!port) throw new Error('analyse-worker must run in a worker thread');
const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

const pipe = new SessionPipe<MessageRecord>({
  ...job.options,
  messageSink: messageSinkFor(job.messages),
  keyIds: true,
  onConnection: (key, state) => post({ type: 'connection', key, state }),
  onRecord: (session) => post({ type: 'session', session }),
});
const segment = newTcpSegment();

port.on('message', (message: MainMessage) => {
  if (message.type === 'batch') {
    const returned = message.batch ? (message.batch.buffer as ArrayBuffer) : null;
    if (message.batch) {
      const batch = Buffer.from(message.batch.buffer, message.batch.byteOffset, message.batch.byteLength);
      readSegmentBatch(batch, segment, (seg, input) => pipe.push(seg, input));
      // The batch goes back to be refilled: what the reassembler keeps of it is copied now.
      pipe.releaseBuffers();
    }
    post({ type: 'position', key: message.position, batch: returned }, returned ? [returned] : []);
    return;
  }
  pipe.finish().then(
    () => {
      post({ type: 'done' });
      port.close();
    },
    (err: unknown) => {
      throw err;
    },
  );
});
