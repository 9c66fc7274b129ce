/**
 * The 50 MB slice of a real load run (../shared/corpus/perf/, read in place: it is too big for
 * fixtures/): every accepted plaintext message its truth file lists must be found with its sha256.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyseCaptures } from '../../src/analyse.js';

const PERF = join(import.meta.dirname, '../../../shared/corpus/perf');
const CAPTURE = join(PERF, 'perf-1g-mtu1500.slice-50mb.pcap');
const TRUTH = join(PERF, 'perf-1g-mtu1500.slice-50mb.messages.jsonl');

interface TruthMessage {
  gen_id: string;
  mail_from: string;
  rcpts: [string, number][];
  data_cmd: 'DATA' | 'BDAT';
  accepted: boolean;
  encrypted: boolean;
  size: number;
  sha256: string;
}

describe('perf slice (real load-run traffic)', () => {
  const present = existsSync(CAPTURE) && existsSync(TRUTH);
  it('finds every accepted plaintext message with its sha256, envelope and size', {
    skip: present ? false : `corpus not found at ${PERF}`,
  }, async () => {
    const truth = readFileSync(TRUTH, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as TruthMessage);
    const wanted = truth.filter((m) => m.accepted && !m.encrypted);
    assert.equal(wanted.length, 253, 'the truth file lists 253 accepted plaintext messages');

    const { inputs, sessions } = await analyseCaptures([CAPTURE]);
    assert.equal(inputs[0].format, 'pcapng');
    const bySha = new Map<
      string,
      { from: string | undefined; rcpts: string[]; method: string; size: number; status: string }
    >();
    for (const session of sessions) {
      for (const tx of session.transactions) {
        if (!tx.data?.sha256) continue;
        bySha.set(tx.data.sha256, {
          from: tx.mailFrom?.address,
          rcpts: tx.rcptTo.filter((r) => r.accepted).map((r) => r.address),
          method: tx.data.method,
          size: tx.data.size,
          status: tx.status,
        });
      }
    }
    for (const message of wanted) {
      const found = bySha.get(message.sha256);
      assert.ok(found, `${message.gen_id}: message with sha256 ${message.sha256} found`);
      assert.equal(found.size, message.size, `${message.gen_id} size`);
      assert.equal(found.method, message.data_cmd, `${message.gen_id} method`);
      assert.equal(found.status, 'delivered', `${message.gen_id} status`);
      assert.equal(found.from, message.mail_from, `${message.gen_id} mail from`);
      assert.deepEqual(
        found.rcpts,
        message.rcpts.filter(([, code]) => code >= 200 && code < 300).map(([address]) => address),
        `${message.gen_id} accepted recipients`,
      );
    }
  });
});
