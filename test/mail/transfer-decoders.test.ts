import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import libbase64 from 'libbase64';
import libqp from 'libqp';
import {
  Base64Decoder,
  LibqpDecoder,
  QuotedPrintableDecoder,
  type TransferDecoder,
} from '../../src/mail/transfer-decoders.js';
import { CI_SEED } from '../fuzz/kit.js';
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

/** libqp's own reading, which LibqpDecoder must give in any chunking (mailparser decodes text with it). */
function libqpDecode(input: string): string {
  return libqp.decode(Buffer.from(input, 'latin1')).toString('latin1');
}

const libqpDecoder = (out: (b: Buffer) => void) => new LibqpDecoder(out);
const b64Restart = (out: (b: Buffer) => void) => new Base64Decoder(out, true);

describe('LibqpDecoder (the text indicators are found in, as mailparser reads it)', () => {
  it('soft breaks, =XX in either case, trailing blanks, and escapes cut at any byte', () => {
    each(libqpDecoder, 'a=3Db=\r\nc', 'a=bc');
    each(libqpDecoder, 'caf=C3=a9 ok', 'caf\xc3\xa9 ok');
    each(libqpDecoder, 'trail  \t\r\nnext', 'trail\r\nnext');
    each(libqpDecoder, 'keep=20\r\n', 'keep \r\n');
    each(libqpDecoder, 'soft= \t\r\nx', 'softx');
    each(libqpDecoder, 'lf only=\nx\n', 'lf onlyx\n');
    each(libqpDecoder, 'end  ', 'end');
    each(libqpDecoder, 'end=', 'end');
  });

  it('reads malformed input as libqp does, where QuotedPrintableDecoder reads it otherwise', () => {
    // A soft break joins "=4" and "1" into an escape.
    each(libqpDecoder, 'http://x.test/a=4=\r\n1', 'http://x.test/aA');
    each(qp, 'http://x.test/a=4=\r\n1', 'http://x.test/a=41');
    // Blanks after a "=" that does not end its line are kept; blanks before a lone CR are not.
    each(libqpDecoder, 'a= b', 'a= b');
    each(libqpDecoder, 'a  \rb', 'a\rb');
    each(libqpDecoder, 'bad=ZZ =4 =\r', 'bad=ZZ =4 =\r');
    each(libqpDecoder, '==41=', '=A');
    each(libqpDecoder, '=\rx', '=\rx');
  });

  it('equals libqp on random input in random pieces', () => {
    const text = fc
      .array(
        fc.constantFrom('=', '=', ' ', '\t', '\r', '\n', '\r\n', 'A', '4', 'f', 'z', '\xe9', 'x=', '= \r\n'),
        {
          maxLength: 60,
        },
      )
      .map((a) => a.join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 8 }), (input, chunk) => {
        assert.equal(decode(libqpDecoder, input, chunk), libqpDecode(input));
      }),
      { numRuns: 2000, seed: CI_SEED },
    );
  });
});

describe('Base64Decoder with restartAtPadding (libbase64, which mailparser decodes text with)', () => {
  it('ends a quantum at "=" and starts a new one after it', () => {
    each(b64Restart, 'QQ==QUJD', 'AABC');
    each(b64Restart, 'QUI=\r\nQUJD\r\n', 'ABABC');
    each(b64Restart, 'Q=QUJD', 'ABC');
    // Hashes keep the RFC 2045 reading, which skips "=" and runs the quanta on.
    each(b64, 'QQ==QUJD', 'A\x04\x14$');
  });

  it('equals libbase64 on random input in random pieces', () => {
    const text = fc
      .array(fc.constantFrom('Q', 'U', 'J', 'D', 'a', '0', '+', '/', '=', '==', '\r\n', ' ', '-', '*'), {
        minLength: 0,
        maxLength: 300,
      })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 200 }), (input, chunk) => {
        const expected = libbase64.decode(input.replace(/[^a-zA-Z0-9+/=]/g, '')).toString('latin1');
        assert.equal(decode(b64Restart, input, chunk), expected);
      }),
      { numRuns: 2000, seed: CI_SEED },
    );
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
