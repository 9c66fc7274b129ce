/** --workers N: the same result, byte for byte and in the same order, as one thread. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CaptureInputError } from '../../src/capture/errors.js';
import { analyseInParallel } from '../../src/parallel.js';

const ROOT = join(import.meta.dirname, '../..');
const REAL = join(ROOT, 'fixtures/real');
const ALL = [...readdirSync(REAL).map((f) => join(REAL, f)), join(ROOT, 'fixtures/exim-telnet.pcap')];

describe('--workers', () => {
  it('two and three threads give exactly what one gives, over every fixture', async () => {
    const one = await analyseInParallel(ALL, { messages: 'full', workers: 1 });
    // 50 connections, but the format variants of scenarios 01, 04 and 13 hold the same
    // connections again: read as one capture, their packets are retransmissions (10 fewer).
    assert.equal(one.sessions.length, 40);
    for (const workers of [2, 3]) {
      const many = await analyseInParallel(ALL, { messages: 'full', workers });
      assert.equal(JSON.stringify(many), JSON.stringify(one), `${workers} workers`);
    }
  });

  it('an input that is not a capture fails in the workers as it does on one thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpcap-workers-'));
    const garbage = join(dir, 'notes.txt');
    writeFileSync(garbage, 'this is not a capture\n');
    for (const workers of [1, 2]) {
      await assert.rejects(
        analyseInParallel([garbage], { messages: 'full', workers }),
        (err: unknown) =>
          err instanceof CaptureInputError &&
          err.file === garbage &&
          err.reason === 'not a pcap or pcapng capture (starts with bytes 74 68 69 73)',
      );
    }
  });

  it('the CLI prints the same bytes with --workers 2 (json; stats, which takes sessions in any order)', () => {
    const run = (command: string, workers: string) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'src/cli.ts'), command, '--workers', workers, ...ALL],
        {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        },
      );
    for (const command of ['json', 'stats']) {
      const one = run(command, '1');
      const two = run(command, '2');
      assert.equal(one.status, 0, one.stderr);
      assert.equal(two.status, 0, two.stderr);
      assert.equal(two.stdout, one.stdout, command);
    }
  });
});
