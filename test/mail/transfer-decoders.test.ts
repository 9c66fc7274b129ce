import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Base64Decoder,
  QuotedPrintableDecoder,
  type TransferDecoder,
} from '../../src/mail/transfer-decoders.js';
import { CHUNK_SIZES, crlf, parseAll } from './helpers.js';

function decode(make: (out: (b: Buffer) => void) => TransferDecoder, input: string, chunk: number): string {
  const pieces: Buffer[] = [];
  const decoder = make((b) => pieces.push(Buffer.from(b)));
  const bytes = Buffer.from(input, 'latin1');
  const size = Math.min(chunk, bytes.length || 1);
  for (let i = 0; i < bytes.length; i += size) decoder.write(bytes.subarray(i, i + size));
  decoder.end();
  return Buffer.concat(pieces).toString('latin1');
}

function each(make: (out: (b: Buffer) => void) => TransferDecoder, input: string, expected: string): void {
  for (const size of CHUNK_SIZES) assert.equal(decode(make, input, size), expected, `chunk ${size}`);
}

const b64 = (out: (b: Buffer) => void) => new Base64Decoder(out);
const qp = (out: (b: Buffer) => void) => new QuotedPrintableDecoder(out);

describe('Base64Decoder', () => {
  it('decodes across line breaks, padding and junk in any chunking', () => {
    each(b64, 'SGVs\r\nbG8s\r\nIHdv\r\ncmxkIQ==', 'Hello, world!');
    each(b64, 'SGVsbG8\r\nsIHdvcmxk\r\nIQ', 'Hello, world!');
    each(b64, 'SG Vs*bG8s\tIHdvcmxkIQ==\r\n', 'Hello, world!');
    each(b64, 'QQ', 'A');
    each(b64, 'Q', '');
  });
});

describe('QuotedPrintableDecoder', () => {
  it('decodes =XX, soft breaks, drops trailing blanks, keeps malformed = literally', () => {
    each(qp, 'a=3Db=\r\nc', 'a=bc');
    each(qp, 'trail  \t\r\nnext', 'trail\r\nnext');
    each(qp, 'keep=20\r\n', 'keep \r\n');
    each(qp, 'bad=ZZ =4 =\r', 'bad=ZZ =4 =\r');
    each(qp, 'soft= \t\r\nx', 'softx');
    each(qp, 'lf only=\nx\n', 'lf onlyx\n');
    each(qp, 'end  ', 'end');
  });
});

describe('gaps', () => {
  it('flags a gap and keeps hashing what was seen', async () => {
    const { createMessageParserSink } = await import('../../src/mail/message-parser-sink.js');
    const { transaction } = await import('./helpers.js');
    const sink = createMessageParserSink()(transaction());
    assert.ok(sink);
    sink.write(crlf('Subject: gap', '', 'before', ''));
    sink.gap(100);
    sink.write(crlf('after', ''));
    const record = await sink.end();
    assert.ok(record);
    assert.deepEqual(record.anomalies, ['gap-in-message']);
    assert.equal(record.subject, 'gap');
    assert.equal(record.parts[0].size, Buffer.byteLength('before\r\nafter\r\n'));
  });

  it('has a record even for an empty message', async () => {
    const record = await parseAll(Buffer.alloc(0));
    assert.deepEqual(
      record.parts.map((p) => [p.path, p.contentType, p.size]),
      [['1', 'text/plain', 0]],
    );
    assert.equal(record.subject, null);
  });
});
