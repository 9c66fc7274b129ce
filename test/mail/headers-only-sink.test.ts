import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MAX_HEADER_BYTES } from '../../src/mail/headers-only-sink.js';
import type { MessageRecord } from '../../src/mail/message-record.js';
import { CHUNK_SIZES, crlf, parse, parseAll } from './helpers.js';

const TRUTH = new URL('../../fixtures/truth/', import.meta.url);
const truth = (path: string): Buffer => readFileSync(new URL(path, TRUTH));

/** The record without what only the full sink reads (the body). */
function headerFields(record: MessageRecord): Partial<MessageRecord> {
  const { parts: _p, attachments: _a, urls: _u, emails: _e, domains: _d, anomalies: _an, ...rest } = record;
  return rest;
}

async function light(message: Buffer): Promise<MessageRecord> {
  const records: MessageRecord[] = [];
  for (const size of CHUNK_SIZES) records.push(await parse(message, size, { headersOnly: true }));
  for (const r of records.slice(1)) assert.deepEqual(r, records[0], 'chunking changes the result');
  return records[0];
}

const SAMPLES: [string, Buffer][] = [
  ['14-attachment-base64', truth('14-attachment-base64/sent.eml')],
  ['15-quoted-printable-curl', truth('15-quoted-printable-curl/sent.eml')],
  ['17-utf8-8bitmime', truth('17-utf8-8bitmime/sent.eml')],
  [
    'encoded words, address lists, Received',
    crlf(
      'Received: from mail.example.test (mail.example.test [192.0.2.1])',
      '\tby mx.example.test (Postfix) with ESMTPS id 4ABC123; Thu, 03 Dec 2026 16:01:41 +0000',
      'From: =?UTF-8?Q?Jos=C3=A9?= <jose@x.test>',
      'To: "Doe, John" <john@x.test>, undisclosed-recipients:;',
      'Subject: =?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9_cr=C3=A8me?= =?ISO-8859-2?Q?=A3=F3d=BC?=',
      '  =?windows-1252?Q?=80_price_=93quoted=94?=',
      'Date: Thu, 3 Dec 2026 17:01:41 +0100 (CET)',
      'Message-ID: <m@x>',
      'References: <a@x>',
      '  <b@x>',
      'Content-Type: multipart/mixed; boundary=O',
      '',
      '--O',
      'Subject: a header-looking line in the body',
      '',
      'x',
      '--O--',
      '',
    ),
  ],
  ['no header block at all', crlf('', 'just a body', '')],
  ['no blank line', crlf('Subject: only headers', 'From: a@x.test')],
  ['bare LF line ends', Buffer.from('Subject: lf\nFrom: a@x.test\n\nbody\n')],
  ['empty message', Buffer.alloc(0)],
];

describe('HeadersOnlySink', () => {
  for (const [name, message] of SAMPLES) {
    it(`gives the full sink's header fields, body fields empty: ${name}`, async () => {
      const full = await parseAll(message);
      const record = await light(message);
      assert.deepEqual(headerFields(record), headerFields(full));
      assert.deepEqual(
        [record.parts, record.attachments, record.urls, record.emails, record.domains, record.anomalies],
        [[], [], [], [], [], []],
      );
    });
  }

  it('finds the blank line when its CR and LF arrive apart, and reads nothing after it', async () => {
    const message = crlf('Subject: split', '', 'Subject: not this one', '');
    const at = message.indexOf('\r\n\r\n') + 3;
    const sink = (await import('../../src/mail/message-parser-sink.js')).createMessageParserSink({
      headersOnly: true,
    });
    const { transaction } = await import('./helpers.js');
    const s = sink(transaction());
    assert.ok(s);
    s.write(message.subarray(0, at));
    s.write(message.subarray(at));
    const record = await s.end();
    assert.equal(record?.subject, 'split');
  });

  it('keeps at most MAX_HEADER_BYTES of a huge header block', async () => {
    const filler = `X-Filler: ${'a'.repeat(998)}`;
    const lines = ['Subject: big'];
    while (lines.length * 1000 < MAX_HEADER_BYTES * 2) lines.push(filler);
    lines.push('From: late@x.test', '', 'body');
    const record = await parse(crlf(...lines), 4096, { headersOnly: true });
    assert.equal(record.subject, 'big');
    assert.equal(record.from, null);
  });
});
