/**
 * hashMessages: false (the sessions table, stats, creds and transcript never show data.sha256)
 * skips the hash and nothing else: every other field of every session is what a hashing run gives.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { analyseCaptures } from '../../src/analyse.js';

const CAPTURE = join(import.meta.dirname, '../../fixtures/real/04-multi-message-session.pcap');

it('hashMessages: false leaves data.sha256 null and every other field as it was', async () => {
  const hashed = await analyseCaptures([CAPTURE], {});
  const unhashed = await analyseCaptures([CAPTURE], { hashMessages: false });
  const datas = hashed.sessions.flatMap((s) => s.transactions.flatMap((t) => (t.data ? [t.data] : [])));
  assert.equal(datas.length, 3);
  for (const data of datas) assert.match(data.sha256 ?? '', /^[0-9a-f]{64}$/);
  for (const session of hashed.sessions) {
    for (const tx of session.transactions) if (tx.data) tx.data.sha256 = null;
  }
  assert.deepEqual(unhashed.sessions, hashed.sessions);
});
