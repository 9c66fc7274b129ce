/**
 * Resource exhaustion (issue #7): each scenario of scenarios.ts, generated as a stream at its CI
 * size (the same shape as the full size, which `npm run fuzz` runs), in a child process of
 * its own: the documented cap is hit and reported, and the peak memory stays bounded.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runNode } from '../fuzz/cli-run.js';
import { ROOT } from '../fuzz/kit.js';
import { SCENARIOS, type ScenarioResult } from './scenarios.js';

/**
 * Peak RSS allowed at CI size, node + tsx included (about 95 MiB of it before any input: the
 * compiled CLI starts at about 70), run with the CLI's V8 flags (runNode). The largest measured
 * was 138 MiB (out-of-order, fragments); the rest is room for a loaded machine. A blow-up guard;
 * the full-size figures are in the README.
 */
const CI_PEAK_MIB = 170;
const RUNNER = join(ROOT, 'test/exhaustion/run-scenario.ts');

describe('resource exhaustion: every cap holds and is reported', { concurrency: 2 }, () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: ${scenario.description} -> ${scenario.cap}`, async () => {
      const run = await runNode([scenario.name, 'ci'], { script: RUNNER, timeoutMs: 120_000 });
      assert.equal(run.timedOut, false, 'hang');
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as ScenarioResult;
      assert.equal(result.error, null, `${scenario.name}: ${result.error}`);
      assert.ok(result.ok);
      assert.ok(
        run.peakMiB > 0 && run.peakMiB < (scenario.ciPeakMiB ?? CI_PEAK_MIB),
        `peak ${run.peakMiB} MiB`,
      );
    });
  }
});
