/** Records waiting for their turn in an ordered report: spilled past the live limit, back unchanged. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyseCaptures } from '../../src/analyse.js';
import { createMessageParserSink } from '../../src/mail/message-parser-sink.js';
import { WaitingRecords } from '../../src/waiting-records.js';

const ROOT = join(import.meta.dirname, '../..');
const REAL = join(ROOT, 'fixtures/real');

async function realRecords() {
  const files = readdirSync(REAL).map((f) => join(REAL, f));
  const { sessions } = await analyseCaptures(files, { messageSink: createMessageParserSink() });
  return sessions;
}

/** Every record in, last first (so all but the live ones spill), then taken in number order. */
function roundTrip<R>(records: R[], waiting: WaitingRecords<R>): R[] {
  for (let n = records.length - 1; n >= 0; n--) waiting.set(n, records[n]);
  assert.equal(waiting.size, records.length);
  const out: R[] = [];
  for (let n = 0; n < records.length; n++) {
    const record = waiting.take(n);
    assert.ok(record !== undefined, `record ${n} came back`);
    out.push(record);
  }
  assert.equal(waiting.size, 0);
  assert.equal(waiting.take(0), undefined);
  return out;
}

describe('WaitingRecords', () => {
  it('gives back every real session record, message details included, as it was', async () => {
    const records = await realRecords();
    assert.equal(records.length, 39);
    const back = roundTrip(records, new WaitingRecords(2));
    assert.equal(JSON.stringify(back), JSON.stringify(records));
    // The two kept live are the very objects; the spilled ones are copies.
    assert.equal(back[records.length - 1], records[records.length - 1]);
    assert.notEqual(back[0], records[0]);
  });

  it('spills again after it has drained, and keeps records in memory when no file can be made', async () => {
    const records = (await realRecords()).slice(0, 6);
    const waiting = new WaitingRecords<(typeof records)[number]>(1);
    assert.equal(JSON.stringify(roundTrip(records, waiting)), JSON.stringify(records));
    assert.equal(JSON.stringify(roundTrip(records, waiting)), JSON.stringify(records));
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = join(ROOT, 'no-such-folder', 'tmp');
    try {
      assert.equal(JSON.stringify(roundTrip(records, new WaitingRecords(1))), JSON.stringify(records));
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }
  });
});
