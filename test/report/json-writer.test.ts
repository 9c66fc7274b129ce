import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyseCaptures } from '../../src/analyse.js';
import type { MessageRecord } from '../../src/mail/message-record.js';
import { jsonDocument } from '../../src/report/json.js';

const REAL = join(import.meta.dirname, '../../fixtures/real');

describe('JSON document written a session at a time', () => {
  it('equals JSON.stringify of the whole document, for none, one and many sessions', async () => {
    const { inputs, sessions } = await analyseCaptures<MessageRecord>([
      join(REAL, '31-concurrent-sessions.pcap'),
    ]);
    assert.equal(sessions.length, 12);
    for (const subset of [[], sessions.slice(0, 1), sessions]) {
      const expected = `${JSON.stringify({ tool: 'smtpcap', version: '9.9.9', sessions: subset, inputs }, null, 2)}\n`;
      assert.equal(jsonDocument(inputs, subset as typeof sessions, '9.9.9'), expected);
    }
  });
});
