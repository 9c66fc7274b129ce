/** Runs the CLI as a user would (a child process), with a time limit and its peak memory measured. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ROOT } from './kit.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Peak RSS of the child in MiB (-1 when it could not be measured). */
  peakMiB: number;
  ms: number;
}

const PROBE = join(ROOT, 'test/fuzz/rss-probe.mjs');

/**
 * The V8 flags of the CLI's shebang line: run through tsx the shebang is not read, and memory
 * measured without them would not be what a user gets.
 */
const SHEBANG = readFileSync(join(ROOT, 'src/cli.ts'), 'utf8').split('\n', 1)[0].split(/\s+/);
export const CLI_NODE_FLAGS = SHEBANG.filter((word) => word.startsWith('--'));
/** The environment the CLI's first line sets (`env -S NAME=value node ...`). */
const CLI_ENV = Object.fromEntries(
  SHEBANG.filter((word) => /^[A-Z_]+=/.test(word)).map((word) => word.split('=', 2)),
);

/**
 * `node <the CLI's V8 flags> --import tsx src/cli.ts ...args`; a script other than the CLI may be
 * named by `script`, and `compiled` runs dist/cli.js without tsx (what a user runs: tsx alone
 * takes about 25 MiB). `stdin` is written to the child's input with backpressure.
 */
export function runNode(
  args: string[],
  options: {
    timeoutMs?: number;
    script?: string;
    compiled?: boolean;
    stdin?: Iterable<Buffer>;
    /** Read and drop the child's output (hundreds of MB for a flood) instead of keeping it. */
    discardStdout?: boolean;
    env?: Record<string, string>;
    uid?: number;
    gid?: number;
  } = {},
): Promise<CliRun> {
  const dir = mkdtempSync(join(tmpdir(), 'smtpcap-rss-'));
  const rssFile = join(dir, 'rss');
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...inherited } = process.env;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      options.compiled
        ? [...CLI_NODE_FLAGS, '--import', PROBE, join(ROOT, 'dist/cli.js'), ...args]
        : [
            ...CLI_NODE_FLAGS,
            '--import',
            'tsx',
            '--import',
            PROBE,
            options.script ?? join(ROOT, 'src/cli.ts'),
            ...args,
          ],
      {
        cwd: ROOT,
        env: { ...inherited, ...CLI_ENV, ...options.env, SMTPCAP_RSS_FILE: rssFile },
        uid: options.uid,
        gid: options.gid,
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => {
      if (!options.discardStdout) out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    if (options.stdin) {
      // The child may exit before reading everything (EPIPE): that is its answer, not ours.
      child.stdin.on('error', () => {});
      Readable.from(options.stdin, { objectMode: false }).pipe(child.stdin);
    }
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let peakMiB = -1;
      try {
        peakMiB = Math.round((Number(readFileSync(rssFile, 'utf8')) / 1024) * 10) / 10;
      } catch {
        // killed before its exit handler ran
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        peakMiB,
        ms: Date.now() - started,
      });
    });
  });
}
