/**
 * Whole-pipeline mutation: real captures with bytes flipped, inserted and deleted, run through
 * everything. In-process for many inputs; through the CLI (a child process, as a user runs it)
 * for a handful: exit 0 or 1 with a one-line message, never a stack trace, a hang or a memory
 * blow-up.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { runNode } from './cli-run.js';
import { CI_SEED, mutatedSeedArb } from './kit.js';
import { assertTarget, pipeline } from './targets.js';

/** A run that blows past this much memory on a < 100 KB capture is a blow-up. */
const MAX_PEAK_MIB = 250;

describe('whole-pipeline mutation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpcap-mutation-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('in-process: mutated captures through the pipe and every reporter', async () => {
    await assertTarget(pipeline, 50, CI_SEED);
  });

  it('the CLI on a handful of mutated captures: exit 0 or 1 with a message, no stack, no hang', async () => {
    const files = fc.sample(mutatedSeedArb(6), { seed: CI_SEED, numRuns: 6 }).map((bytes, i) => {
      const path = join(dir, `mutated-${i}.pcap`);
      writeFileSync(path, bytes);
      return path;
    });
    const commands = ['json', 'transcript', 'sessions', 'stats', 'json', 'transcript'];
    const runs = await Promise.all(
      files.map((file, i) =>
        runNode([commands[i % commands.length], '--no-color', file], { timeoutMs: 30_000 }),
      ),
    );
    runs.forEach((run, i) => {
      const what = `${commands[i]} ${files[i]}: ${run.stderr}`;
      assert.equal(run.timedOut, false, `hang: ${what}`);
      assert.ok(run.code === 0 || run.code === 1, `exit ${run.code}: ${what}`);
      assert.ok(!run.stderr.includes('internal error'), what);
      assert.ok(!/\n\s+at /.test(run.stderr), `a stack trace: ${what}`);
      if (run.code === 1) {
        assert.equal(run.stderr.trimEnd().split('\n').length, 1, 'one line');
        assert.ok(run.stderr.includes(files[i]), 'names the file');
      } else if (commands[i] === 'json') JSON.parse(run.stdout);
      assert.ok(run.peakMiB < MAX_PEAK_MIB, `peak ${run.peakMiB} MiB`);
    });
  });
});
