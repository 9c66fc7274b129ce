/** Many messages open at once share a bounded number of batch buffers and read as they do alone. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BatchPool } from '../../src/mail/batch-pool.js';
import { createMessageParserSink } from '../../src/mail/message-parser-sink.js';
import type { MessageRecord } from '../../src/mail/message-record.js';
import type { MessageSink } from '../../src/smtp/transaction-builder.js';
import { parse, transaction } from './helpers.js';

const TRUTH = new URL('../../fixtures/truth/', import.meta.url);
const MESSAGES = [
  '14-attachment-base64',
  '15-quoted-printable-curl',
  '17-utf8-8bitmime',
  '16-dot-stuffing',
].map((name) => readFileSync(new URL(`${name}/sent.eml`, TRUTH)));

describe('BatchPool', () => {
  it('takes back the batch of the holder unused for longest once maxOut are out', () => {
    const pool = new BatchPool(8, 2);
    const surrendered: string[] = [];
    const holder = (name: string) => ({ lastUse: 0, surrender: () => surrendered.push(name) });
    const [a, b, c] = [holder('a'), holder('b'), holder('c')];
    const batchA = pool.take(a);
    pool.take(b);
    pool.touch(a);
    assert.equal(batchA.length, 8);
    // b was used last before a: it gives way. (A real holder gives its batch back in surrender.)
    pool.take(c);
    assert.deepEqual(surrendered, ['b']);
  });

  it('200 messages written in turn, a packet each, give the records they give alone', async () => {
    const alone: MessageRecord[] = [];
    for (const message of MESSAGES) alone.push(await parse(message, Number.POSITIVE_INFINITY));
    const factory = createMessageParserSink();
    const open: { sink: MessageSink<MessageRecord>; message: Buffer }[] = [];
    for (let i = 0; i < 200; i++) {
      const sink = factory(transaction(i + 1));
      if (!sink) throw new Error('no sink');
      open.push({ sink, message: MESSAGES[i % MESSAGES.length] });
    }
    const longest = Math.max(...MESSAGES.map((m) => m.length));
    for (let at = 0; at < longest; at += 1448) {
      for (const { sink, message } of open)
        if (at < message.length) sink.write(message.subarray(at, at + 1448));
    }
    const records = await Promise.all(open.map(({ sink }) => sink.end()));
    records.forEach((record, i) => {
      assert.equal(JSON.stringify(record), JSON.stringify(alone[i % MESSAGES.length]), `message ${i + 1}`);
    });
    // Real values, not just agreement: the base64 message's attachment hash.
    assert.equal(
      records[0]?.attachments[0].sha256,
      '47b0db331fa851918402344e2850b2ee62d5563f157ca4887f0dc266cfde30ca',
    );
  });
});
