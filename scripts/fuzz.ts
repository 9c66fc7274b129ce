/**
 * `npm run fuzz`: the long fuzz campaign of issue #7. Runs every target of test/fuzz/targets.ts in
 * batches of fresh seeds (at least 10^6 inputs in all by default), shows progress, saves every
 * failing input (shrunk) to test/fuzz/regressions/ as a regression fixture that CI replays, then
 * runs the resource-exhaustion scenarios of test/exhaustion/ at their full size, each in a child
 * process with its peak memory measured.
 *
 *   npm run fuzz                          # 10^6 inputs, then the full-size exhaustion runs
 *   npm run fuzz -- --inputs 200000 --seed 42 --target decoder --no-exhaustion
 *   npm run fuzz -- --report fuzz-report.json
 *   npm run fuzz -- --exhaustion-only --scenario connections-1e5   (needs npm run build)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { batched, SCENARIOS, type ScenarioResult } from '../test/exhaustion/scenarios.js';
import { CLI_NODE_FLAGS, runNode } from '../test/fuzz/cli-run.js';
import { REGRESSIONS, ROOT, serialise, shortHash } from '../test/fuzz/kit.js';
import { TARGETS, type Target } from '../test/fuzz/targets.js';

/** Share of the inputs each target gets: cheap targets many, the ones through mailparser fewer. */
const SHARES: Record<string, number> = {
  'capture-readers': 0.3,
  'capture-truncation': 0.1,
  decoder: 0.25,
  'reassembler-random': 0.15,
  'reassembler-span': 0.1,
  'smtp-session': 0.06,
  mime: 0.015,
  pipeline: 0.025,
};

const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: '1000000' },
    seed: { type: 'string' },
    target: { type: 'string', multiple: true },
    batch: { type: 'string', default: '2000' },
    'no-exhaustion': { type: 'boolean', default: false },
    'exhaustion-only': { type: 'boolean', default: false },
    report: { type: 'string' },
    scenario: { type: 'string', multiple: true },
  },
});

const total = Number(values.inputs);
const baseSeed = values.seed !== undefined ? Number(values.seed) : Date.now() % 0x7fffffff;
const batch = Math.max(1, Number(values.batch));
const chosen = values.target ? TARGETS.filter((t) => values.target?.includes(t.name)) : [...TARGETS];
if (chosen.length === 0) {
  process.stderr.write(`no such target; targets: ${TARGETS.map((t) => t.name).join(', ')}\n`);
  process.exit(2);
}

interface TargetFigures {
  target: string;
  inputs: number;
  failures: number;
  seconds: number;
  perSecond: number;
  saved: string[];
}

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}\u001b[K`);
}

async function campaign(target: Target, inputs: number, seed: number): Promise<TargetFigures> {
  const started = Date.now();
  let done = 0;
  let failures = 0;
  const saved: string[] = [];
  let round = 0;
  let lastLine = 0;
  while (done < inputs) {
    const numRuns = Math.min(batch, inputs - done);
    const runSeed = (seed + round * 7919) % 0x7fffffff;
    round++;
    const result = await target.check({ seed: runSeed, numRuns });
    done += result.numRuns;
    if (result.failed) {
      failures++;
      const body = serialise({
        target: target.name,
        seed: runSeed,
        error: result.error.split('\n').slice(0, 20).join('\n'),
        input: result.counterexample,
      });
      const file = join(REGRESSIONS, `${target.name}-${shortHash(serialise(result.counterexample))}.json`);
      mkdirSync(REGRESSIONS, { recursive: true });
      writeFileSync(file, `${body}\n`);
      saved.push(file);
      log(`\n${target.name}: FAILURE (seed ${runSeed}) saved to ${file}\n  ${result.error.split('\n')[0]}`);
    }
    const seconds = (Date.now() - started) / 1000;
    const line = `${target.name}: ${done.toLocaleString('en')} / ${inputs.toLocaleString('en')} inputs, ${Math.round(done / Math.max(seconds, 0.001)).toLocaleString('en')}/s, ${failures} failures`;
    progress(line);
    if (!process.stderr.isTTY && Date.now() - lastLine > 10_000) {
      log(line);
      lastLine = Date.now();
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const figures = {
    target: target.name,
    inputs: done,
    failures,
    seconds,
    perSecond: Math.round(done / seconds),
    saved,
  };
  progress('');
  log(`${target.name}: ${done.toLocaleString('en')} inputs in ${seconds.toFixed(1)} s, ${failures} failures`);
  return figures;
}

type ExhaustionResult = ScenarioResult & { cliPeakMiB: number; cliExit: number | null };

/**
 * Each scenario at full size twice: in a process of its own through the library, which checks
 * the cap held (and keeps every session record to do so); then through the compiled CLI
 * (`json -`, the capture on stdin, output dropped), whose peak RSS is what a user gets.
 */
async function exhaustion(): Promise<ExhaustionResult[]> {
  if (!existsSync(join(ROOT, 'dist/cli.js'))) {
    process.stderr.write('exhaustion scenarios measure the compiled CLI: run npm run build first\n');
    process.exit(2);
  }
  const results: ExhaustionResult[] = [];
  const wanted = values.scenario;
  for (const scenario of SCENARIOS.filter((s) => wanted === undefined || wanted.includes(s.name))) {
    progress(`exhaustion: ${scenario.name} at ${scenario.sizes.full.toLocaleString('en')} ...`);
    const run = spawnSync(
      process.execPath,
      [
        ...CLI_NODE_FLAGS,
        '--import',
        'tsx',
        join(ROOT, 'test/exhaustion/run-scenario.ts'),
        scenario.name,
        'full',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 900_000, maxBuffer: 64 * 1024 * 1024 },
    );
    let result: ScenarioResult;
    try {
      result = JSON.parse(run.stdout) as ScenarioResult;
    } catch {
      result = {
        scenario: scenario.name,
        scale: 'full',
        size: scenario.sizes.full,
        inputBytes: 0,
        packets: 0,
        sessions: 0,
        ms: 0,
        peakMiB: -1,
        ok: false,
        error: `exit ${run.status} ${run.signal ?? ''}: ${run.stderr.split('\n').slice(0, 5).join(' ')}`,
        facts: {},
      };
    }
    const cli = await runNode(['json', '--quiet', '--workers', '1', '-'], {
      compiled: true,
      stdin: batched(scenario.capture(scenario.sizes.full)),
      discardStdout: true,
      timeoutMs: 900_000,
    });
    results.push({ ...result, cliPeakMiB: cli.peakMiB, cliExit: cli.code });
    progress('');
    log(
      `exhaustion ${scenario.name}: ${result.ok ? 'cap held' : `FAILED: ${result.error}`}, ` +
        `${(result.inputBytes / 1024 / 1024).toFixed(0)} MiB in ${(result.ms / 1000).toFixed(1)} s, ` +
        `peak ${result.peakMiB} MiB (library, all records kept); CLI exit ${cli.code}, peak ${cli.peakMiB} MiB`,
    );
  }
  return results;
}

const started = Date.now();
const figures: TargetFigures[] = [];
if (!values['exhaustion-only']) {
  const shareSum = chosen.reduce((n, t) => n + (SHARES[t.name] ?? 0.05), 0);
  log(`fuzz campaign: ${total.toLocaleString('en')} inputs over ${chosen.length} targets, seed ${baseSeed}`);
  for (const target of chosen) {
    const inputs = Math.max(1, Math.round((total * (SHARES[target.name] ?? 0.05)) / shareSum));
    figures.push(await campaign(target, inputs, baseSeed));
  }
}
const scenarios = values['no-exhaustion'] ? [] : await exhaustion();
const inputs = figures.reduce((n, f) => n + f.inputs, 0);
const failures = figures.reduce((n, f) => n + f.failures, 0) + scenarios.filter((s) => !s.ok).length;
log(
  `\ndone: ${inputs.toLocaleString('en')} inputs, ${failures} failures, ${((Date.now() - started) / 60_000).toFixed(1)} min`,
);
for (const f of figures)
  log(
    `  ${f.target.padEnd(20)} ${String(f.inputs).padStart(9)} inputs  ${String(f.perSecond).padStart(6)}/s  ${f.failures} failures`,
  );
for (const s of scenarios)
  log(
    `  ${s.scenario.padEnd(20)} ${s.ok ? 'cap held' : 'FAILED  '}  library ${s.peakMiB} MiB  CLI ${s.cliPeakMiB} MiB`,
  );
if (values.report) {
  writeFileSync(
    values.report,
    `${JSON.stringify({ seed: baseSeed, inputs, failures, targets: figures, scenarios }, null, 2)}\n`,
  );
}
process.exitCode = failures > 0 ? 1 : 0;
