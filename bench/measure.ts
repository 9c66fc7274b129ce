/**
 * Runs one command under `/usr/bin/time -v` with stdout to /dev/null and returns its wall time
 * (measured here with hrtime), user and system CPU seconds and peak RSS (from time's report).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

export const TIME_BIN = '/usr/bin/time';

export interface Measurement {
  wallSec: number;
  userSec: number;
  sysSec: number;
  /** user + sys. */
  cpuSec: number;
  /** Maximum resident set size of the process (the largest one when it forks). */
  peakRssMB: number;
  exitCode: number;
  /** Last lines of stderr, for failures. */
  stderrTail: string;
}

export interface MeasureOptions {
  /** Where `time -v` writes its report. */
  scratchDir: string;
  /** Default /dev/null. */
  stdoutFile?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const STDERR_KEEP = 4096;

export async function measure(
  command: string,
  args: string[],
  options: MeasureOptions,
): Promise<Measurement> {
  const report = join(options.scratchDir, `time-${process.pid}-${Date.now()}.txt`);
  const out = openSync(options.stdoutFile ?? '/dev/null', 'w');
  let stderr = '';
  const started = process.hrtime.bigint();
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(TIME_BIN, ['-v', '-o', report, command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', out, 'pipe'],
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      stderr = (stderr + text).slice(-STDERR_KEEP);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  });
  const wallSec = Number(process.hrtime.bigint() - started) / 1e9;
  closeSync(out);
  const text = readFileSync(report, 'utf8');
  await rm(report, { force: true });
  const field = (name: string): number => {
    const m = new RegExp(`^\\s*${name}: (.+)$`, 'm').exec(text);
    if (!m) throw new Error(`${TIME_BIN} -v gave no "${name}" for ${command}`);
    return Number(m[1]);
  };
  const userSec = field('User time \\(seconds\\)');
  const sysSec = field('System time \\(seconds\\)');
  const rssKB = field('Maximum resident set size \\(kbytes\\)');
  return {
    wallSec,
    userSec,
    sysSec,
    cpuSec: userSec + sysSec,
    peakRssMB: rssKB / 1024,
    exitCode,
    stderrTail: stderr,
  };
}

/** stdout of a short command, or '' when it fails. */
export function capture(command: string, args: string[], cwd?: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (r.error) return '';
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}
