import {
  createMessageParserSink,
  type MessageParserSinkOptions,
} from '../../src/mail/message-parser-sink.js';
import type { MessageRecord } from '../../src/mail/message-record.js';
import type { Transaction } from '../../src/smtp/records.js';

export const CHUNK_SIZES = [1, 7, Number.POSITIVE_INFINITY];

/** A transaction as the SMTP layer hands it to a sink factory. */
export function transaction(index = 1): Transaction<MessageRecord> {
  return {
    index,
    start: '2026-12-03T16:01:41.123456Z',
    end: '2026-12-03T16:01:42Z',
    mailFrom: null,
    rcptTo: [],
    data: null,
    status: 'incomplete',
    message: null,
  };
}

/** Lines joined with CRLF, as mail travels. */
export function crlf(...lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

/** Feeds `message` through a fresh sink in pieces of `chunk` bytes (copied, so views are not kept). */
export async function parse(
  message: Buffer,
  chunk: number,
  options: MessageParserSinkOptions = {},
): Promise<MessageRecord> {
  const sink = createMessageParserSink(options)(transaction());
  if (!sink) throw new Error('no sink');
  const size = Math.min(chunk, message.length || 1);
  for (let i = 0; i < message.length; i += size) {
    const piece = Buffer.from(message.subarray(i, i + size));
    sink.write(piece);
    piece.fill(0x58); // the sink must have copied what it keeps
  }
  const record = await sink.end();
  if (!record) throw new Error('no record');
  return record;
}

/** Parses in every chunk size, checks they agree, returns the record. */
export async function parseAll(
  message: Buffer,
  options: MessageParserSinkOptions = {},
): Promise<MessageRecord> {
  const records = [];
  for (const size of CHUNK_SIZES) records.push(await parse(message, size, options));
  for (const r of records.slice(1)) {
    if (JSON.stringify(r) !== JSON.stringify(records[0])) {
      throw new Error(`chunking changes the result:\n${JSON.stringify(records[0])}\n${JSON.stringify(r)}`);
    }
  }
  return records[0];
}
