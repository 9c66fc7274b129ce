/**
 * The benchmark of issue #6: smtpcap (each mode, one and two workers when the CLI has --workers)
 * against tshark --export-objects imf and tcpflow, A B A B, on the 1 GB input built by
 * build-input.ts. Prints a table and writes it into the README's Performance section.
 *
 *   npm run bench                      20 copies (~1 GB), 3 rounds
 *   npm run bench:quick                the 50 MB slice itself, 1 round
 *   npm run bench -- --copies 100      the 5 GB long run
 *   npm run bench -- --profile [mode]  one run of a mode (default json) under node --cpu-prof
 * Other options: --rounds N, --input FILE (any capture), --no-readme, --no-build, --no-tools,
 * --modes sessions,json-nomime,json (a subset), --top N (profile lines).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../src/capture/read-capture.js';
import { buildInput, CACHE_DIR, DEFAULT_COPIES, DEFAULT_SOURCE } from './build-input.js';
import { capture, type Measurement, measure } from './measure.js';
import { type ProfileSummary, summariseProfile } from './profile.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(REPO, 'dist/cli.js');
const README = join(REPO, 'README.md');

interface Options {
  quick: boolean;
  copies: number;
  rounds: number;
  input?: string;
  readme: boolean;
  build: boolean;
  tools: boolean;
  profile?: string;
  top: number;
  /** smtpcap modes to run (sessions, json-nomime, json); default all. */
  modes?: string[];
}

interface Entry {
  /** Row label. */
  label: string;
  kind: 'smtpcap' | 'tshark' | 'tcpflow';
  /** smtpcap: the mode key used for targets ('sessions', 'json-nomime', 'json'). */
  mode?: string;
  workers?: number;
  command: string;
  args: string[];
  /** A fresh output directory per run (tshark, tcpflow). */
  outDir?: string;
  runs: Measurement[];
  /** Files the tool wrote into outDir (first round). */
  outputs?: number;
}

interface InputInfo {
  file: string;
  bytes: number;
  packets: number;
  description: string;
  markerKey: string;
}

interface Features {
  noMime: boolean;
  workers: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    copies: DEFAULT_COPIES,
    rounds: 3,
    readme: true,
    build: true,
    tools: true,
    top: 25,
  };
  let roundsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--quick':
        o.quick = true;
        break;
      case '--copies':
        o.copies = Number(value());
        break;
      case '--rounds':
        o.rounds = Number(value());
        roundsGiven = true;
        break;
      case '--input':
        o.input = value();
        break;
      case '--no-readme':
        o.readme = false;
        break;
      case '--no-build':
        o.build = false;
        break;
      case '--no-tools':
        o.tools = false;
        break;
      case '--top':
        o.top = Number(value());
        break;
      case '--modes':
        o.modes = value().split(',');
        break;
      case '--profile': {
        const next = argv[i + 1];
        o.profile = next !== undefined && !next.startsWith('--') ? value() : 'json';
        break;
      }
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  if (o.quick && !roundsGiven) o.rounds = 1;
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error('--rounds must be a positive integer');
  return o;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function ensureTools(): void {
  const missing: string[] = [];
  const need: [string, string][] = [
    ['/usr/bin/time', 'time'],
    ['tshark', 'tshark'],
    ['tcpflow', 'tcpflow'],
  ];
  for (const [bin, pkg] of need) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) missing.push(pkg);
  }
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')} (apt-get install -y)`);
  const r = spawnSync('apt-get', ['install', '-y', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0)
    throw new Error(`could not install ${missing.join(' ')}: run apt-get install -y ${missing.join(' ')}`);
}

function detectFeatures(): Features {
  const jsonHelp = capture('node', [CLI, 'json', '--help']);
  const sessionsHelp = capture('node', [CLI, 'sessions', '--help']);
  return { noMime: jsonHelp.includes('--no-mime'), workers: sessionsHelp.includes('--workers') };
}

async function countPackets(file: string): Promise<number> {
  const summary = await readCapture(file, () => {});
  return summary.packets;
}

async function resolveInput(o: Options): Promise<InputInfo> {
  if (o.input !== undefined) {
    const file = resolve(o.input);
    return {
      file,
      bytes: statSync(file).size,
      packets: await countPackets(file),
      description: `\`${basename(file)}\` (given with --input)`,
      markerKey: `input-${basename(file).replace(/[^A-Za-z0-9.-]/g, '_')}`,
    };
  }
  if (o.quick) {
    const file = DEFAULT_SOURCE;
    return {
      file,
      bytes: statSync(file).size,
      packets: await countPackets(file),
      description: `the 50 MB slice \`${basename(file)}\` itself (pcapng)`,
      markerKey: 'slice',
    };
  }
  const built = await buildInput({ copies: o.copies, log });
  log(
    `input ${built.file}${built.cached ? ' (cached)' : ''}: ${built.bytes} bytes, ${built.packets} packets`,
  );
  return {
    file: built.file,
    bytes: built.bytes,
    packets: built.packets,
    description: `${built.copies} copies of the 50 MB slice in one classic pcap, built by \`bench/build-input.ts\``,
    markerKey: `x${built.copies}`,
  };
}

function smtpcapEntries(file: string, f: Features, only: string[] | undefined): Entry[] {
  const modes: { mode: string; label: string; args: string[] }[] = [
    { mode: 'sessions', label: 'smtpcap sessions', args: ['sessions'] },
  ];
  if (f.noMime) {
    modes.push({ mode: 'json-nomime', label: 'smtpcap json --no-mime', args: ['json', '--no-mime'] });
    modes.push({ mode: 'json', label: 'smtpcap json', args: ['json'] });
  } else {
    // Without --no-mime the only json there is stands for both rows of the targets.
    modes.push({ mode: 'json', label: 'smtpcap json (no --no-mime yet)', args: ['json'] });
  }
  const workerCounts = f.workers ? [1, 2] : [0];
  const entries: Entry[] = [];
  for (const m of modes) {
    if (only && !only.includes(m.mode) && !(m.mode === 'json' && !f.noMime && only.includes('json-nomime')))
      continue;
    for (const w of workerCounts) {
      const workerArgs = w > 0 ? ['--workers', String(w)] : [];
      entries.push({
        label: w > 0 ? `${m.label} --workers ${w}` : m.label,
        kind: 'smtpcap',
        mode: m.mode,
        workers: w === 0 ? 1 : w,
        // Run as an installed `smtpcap` runs: the script itself, so its shebang's node flags apply.
        command: CLI,
        args: [...m.args, '--quiet', ...workerArgs, file],
        runs: [],
      });
    }
  }
  return entries;
}

function toolEntries(file: string, scratch: string): Entry[] {
  const tsharkDir = join(scratch, 'tshark-imf');
  const tcpflowDir = join(scratch, 'tcpflow');
  return [
    {
      label: 'tshark --export-objects imf',
      kind: 'tshark',
      command: 'tshark',
      args: ['-r', file, '-q', '--export-objects', `imf,${tsharkDir}`],
      outDir: tsharkDir,
      runs: [],
    },
    {
      label: 'tcpflow -r -o',
      kind: 'tcpflow',
      command: 'tcpflow',
      args: ['-r', file, '-o', tcpflowDir],
      outDir: tcpflowDir,
      runs: [],
    },
  ];
}

/** Newest mtime and file count under dist/: another `npm run build` during the run changes it. */
function distFingerprint(): string {
  let newest = 0;
  let n = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.js')) {
        n++;
        newest = Math.max(newest, statSync(path).mtimeMs);
      }
    }
  };
  walk(join(REPO, 'dist'));
  return `${n} files, newest ${new Date(newest).toISOString()}`;
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile()) n++;
    else if (e.isDirectory()) n += countFiles(join(dir, e.name));
  }
  return n;
}

async function runEntry(e: Entry, scratch: string, round: number): Promise<void> {
  if (e.outDir) {
    await rm(e.outDir, { recursive: true, force: true });
    await mkdir(e.outDir, { recursive: true });
  }
  const m = await measure(e.command, e.args, { scratchDir: scratch, cwd: REPO });
  if (m.exitCode !== 0) {
    throw new Error(`${e.label} exited with ${m.exitCode}:\n${m.stderrTail}`);
  }
  if (e.outDir) {
    if (round === 0) e.outputs = countFiles(e.outDir);
    await rm(e.outDir, { recursive: true, force: true });
  }
  e.runs.push(m);
  log(
    `  ${e.label.padEnd(44)} wall ${m.wallSec.toFixed(2).padStart(7)} s  cpu ${m.cpuSec
      .toFixed(2)
      .padStart(7)} s  rss ${m.peakRssMB.toFixed(0).padStart(6)} MB`,
  );
}

/** One untimed run that also warms the page cache: what smtpcap found, for the record. */
function sanity(file: string, f: Features): string {
  const args = [CLI, 'stats', '--quiet', '--no-color', ...(f.noMime ? ['--no-mime'] : []), file];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`smtpcap stats failed (${r.status}): ${r.stderr}`);
  const cell = (name: string): string =>
    new RegExp(`│\\s*${name}\\s*│\\s*([^│]*?)\\s*│`).exec(r.stdout)?.[1] ?? '?';
  const byStatus = /│\s*by status\s*│\s*([^│]*?)\s*│/.exec(r.stdout)?.[1];
  return `${cell('sessions')} sessions, ${cell('transactions')} transactions${byStatus ? ` (${byStatus})` : ''}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

interface Ratio {
  median: number;
  min: number;
  max: number;
}

/** Per round: reference / subject (how many times faster the subject is), for a metric. */
function ratio(
  subject: Entry,
  reference: Entry | undefined,
  metric: 'cpuSec' | 'wallSec',
): Ratio | undefined {
  if (!reference || reference.runs.length === 0) return undefined;
  const n = Math.min(subject.runs.length, reference.runs.length);
  const rs: number[] = [];
  for (let i = 0; i < n; i++) rs.push(reference.runs[i][metric] / subject.runs[i][metric]);
  return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs) };
}

function fmtRatio(r: Ratio | undefined): string {
  if (!r) return '—';
  if (r.min === r.max) return `${r.median.toFixed(2)}×`;
  return `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
}

function fmtRange(xs: number[], digits: number): string {
  const med = median(xs).toFixed(digits);
  if (xs.length < 2) return med;
  return `${med} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
}

function resultTable(entries: Entry[], input: InputInfo): string {
  const tshark = entries.find((e) => e.kind === 'tshark');
  const tcpflow = entries.find((e) => e.kind === 'tcpflow');
  const head = [
    'run',
    'MB/s (wall)',
    'packets/s (wall)',
    'CPU s (user+sys)',
    'wall s',
    'peak RSS MB',
    '× tshark CPU',
    '× tshark wall',
    '× tcpflow CPU',
    '× tcpflow wall',
  ];
  const rows = entries.map((e) => {
    const wall = e.runs.map((r) => r.wallSec);
    const cpu = e.runs.map((r) => r.cpuSec);
    const rss = e.runs.map((r) => r.peakRssMB);
    const mw = median(wall);
    const own = e.kind !== 'smtpcap';
    return [
      e.label,
      (input.bytes / 1e6 / mw).toFixed(0),
      Math.round(input.packets / mw).toLocaleString('en-US'),
      fmtRange(cpu, 2),
      fmtRange(wall, 2),
      Math.max(...rss).toFixed(0),
      own && e.kind === 'tshark' ? '1' : fmtRatio(ratio(e, tshark, 'cpuSec')),
      own && e.kind === 'tshark' ? '1' : fmtRatio(ratio(e, tshark, 'wallSec')),
      own && e.kind === 'tcpflow' ? '1' : fmtRatio(ratio(e, tcpflow, 'cpuSec')),
      own && e.kind === 'tcpflow' ? '1' : fmtRatio(ratio(e, tcpflow, 'wallSec')),
    ];
  });
  return markdownTable(head, rows);
}

/** Columns whose cells all start with a figure (or are empty or a dash) are right-aligned. */
function markdownTable(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const numeric = head.map((_h, i) => rows.every((r) => /^([0-9]|—|$)/.test(r[i] ?? '')));
  return [line(head), line(numeric.map((n) => (n ? '---:' : '---'))), ...rows.map(line)].join('\n');
}

interface Target {
  what: string;
  value: string;
  met: boolean | undefined;
}

/** The targets of issue #6, judged on the worst round (min ratio, max RSS). */
function targets(entries: Entry[], f: Features): Target[] {
  const tshark = entries.find((e) => e.kind === 'tshark');
  const tcpflow = entries.find((e) => e.kind === 'tcpflow');
  const find = (mode: string, workers: number): Entry | undefined =>
    entries.find((e) => e.kind === 'smtpcap' && e.mode === mode && e.workers === workers);
  const out: Target[] = [];
  const ratioTarget = (
    what: string,
    e: Entry | undefined,
    ref: Entry | undefined,
    metric: 'cpuSec' | 'wallSec',
    want: number,
  ): void => {
    const r = e ? ratio(e, ref, metric) : undefined;
    if (!e)
      out.push({
        what,
        value: f.workers ? 'not run (--modes)' : 'not run (workers not implemented)',
        met: undefined,
      });
    else if (!r) out.push({ what, value: 'no reference run', met: undefined });
    else out.push({ what, value: `${fmtRatio(r)}, want ≥ ${want}×`, met: r.min >= want });
  };
  const fast = f.noMime ? ['sessions', 'json-nomime'] : ['sessions', 'json'];
  for (const mode of fast) {
    const name =
      mode === 'json-nomime' ? 'json --no-mime' : mode === 'json' ? 'json (stands for --no-mime)' : mode;
    ratioTarget(`${name}, 1 worker, CPU vs tshark`, find(mode, 1), tshark, 'cpuSec', 5);
    ratioTarget(`${name}, 1 worker, CPU vs tcpflow`, find(mode, 1), tcpflow, 'cpuSec', 1);
    ratioTarget(`${name}, 2 workers, wall vs tshark`, find(mode, 2), tshark, 'wallSec', 8);
  }
  ratioTarget('full json, 1 worker, CPU vs tshark', find('json', 1), tshark, 'cpuSec', 1.5);
  ratioTarget('full json, 2 workers, wall vs tshark', find('json', 2), tshark, 'wallSec', 2.5);
  const rss = (workers: number, limit: number): void => {
    const runs = entries.filter((e) => e.kind === 'smtpcap' && e.workers === workers);
    if (runs.length === 0) {
      out.push({ what: `peak RSS, ${workers} workers`, value: 'not run', met: undefined });
      return;
    }
    const peak = Math.max(...runs.flatMap((e) => e.runs.map((r) => r.peakRssMB)));
    out.push({
      what: `peak RSS, ${workers === 1 ? '1 worker' : `${workers} workers`}, any mode`,
      value: `${peak.toFixed(0)} MB, want ≤ ${limit} MB`,
      met: peak <= limit,
    });
  };
  rss(1, 150);
  rss(2, 300);
  return out;
}

function targetsTable(ts: Target[]): string {
  return markdownTable(
    ['target (#6)', 'measured: median (min–max over rounds)', 'met'],
    ts.map((t) => [t.what, t.value, t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**']),
  );
}

function machine(): string {
  const model =
    /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
  const nproc = capture('nproc', []).trim();
  const mem = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  const tshark = capture('tshark', ['--version']).split('\n')[0]?.replace(/\.$/, '').trim();
  const tcpflow = capture('tcpflow', ['--version'])
    .split('\n')[0]
    ?.replace(/Running as.*$/, '')
    .trim();
  return [
    `${nproc} CPUs (nproc), ${model} (/proc/cpuinfo)`,
    mem ? `${(Number(mem) / 1024 / 1024).toFixed(0)} GB RAM` : '',
    `Node ${process.version}`,
    tshark,
    tcpflow,
  ]
    .filter((s) => s)
    .join('; ');
}

function replaceBetweenMarkers(key: string, body: string): void {
  const begin = `<!-- bench:${key}:begin -->`;
  const end = `<!-- bench:${key}:end -->`;
  let text = readFileSync(README, 'utf8');
  const block = `${begin}\n${body.trim()}\n${end}`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) {
    text = text.slice(0, i) + block + text.slice(j + end.length);
  } else {
    let perf = text.indexOf('\n## Performance\n');
    if (perf < 0) {
      const changelog = text.indexOf('\n## Changelog\n');
      const section = '\n## Performance\n\n`npm run bench` (see bench/run.ts) writes its results here.\n';
      text =
        changelog >= 0 ? text.slice(0, changelog) + section + text.slice(changelog) : `${text}${section}`;
      perf = text.indexOf('\n## Performance\n');
    }
    // At the end of the Performance section: before the next "## " heading.
    const next = text.indexOf('\n## ', perf + 1);
    const at = next >= 0 ? next : text.length;
    text = `${text.slice(0, at).trimEnd()}\n\n${block}\n${text.slice(at)}`;
  }
  writeFileSync(README, text);
}

function profileMarkdown(p: ProfileSummary, mode: string, input: InputInfo, top: number): string {
  const fnRows = p.functions
    .slice(0, top)
    .map((e) => [
      e.name || '(anonymous)',
      e.where ? `\`${e.where}\`` : '',
      e.selfMs.toFixed(0),
      pct(e.share),
    ]);
  const groupRows = p.groups.slice(0, 15).map((e) => [e.name, e.selfMs.toFixed(0), pct(e.share)]);
  return [
    `Profile of \`smtpcap ${mode}\` on ${input.description} (${(input.bytes / 1e6).toFixed(0)} MB), ` +
      `${new Date().toISOString().slice(0, 10)}, node --cpu-prof, main thread, ${(p.totalMs / 1000).toFixed(1)} s sampled.`,
    '',
    'Self time by file or package:',
    '',
    markdownTable(['where', 'self ms', 'share'], groupRows),
    '',
    `Top ${Math.min(top, p.functions.length)} functions by self time (locations are in dist/, the compiled src/):`,
    '',
    markdownTable(['function', 'location', 'self ms', 'share'], fnRows),
  ].join('\n');
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

async function runProfile(o: Options, input: InputInfo, f: Features, scratch: string): Promise<void> {
  const modeArgs: Record<string, string[]> = {
    sessions: ['sessions'],
    json: ['json'],
    'json-nomime': f.noMime ? ['json', '--no-mime'] : ['json'],
    stats: ['stats'],
  };
  const mode = o.profile ?? 'json';
  const args = modeArgs[mode];
  if (!args) throw new Error(`--profile: unknown mode ${mode} (sessions, json, json-nomime, stats)`);
  const dir = join(scratch, 'cpuprof');
  await rm(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const workerArgs = f.workers ? ['--workers', '1'] : [];
  log(`profiling smtpcap ${args.join(' ')} on ${input.file}`);
  const m = await measure(
    process.execPath,
    ['--cpu-prof', '--cpu-prof-dir', dir, CLI, ...args, '--quiet', ...workerArgs, input.file],
    { scratchDir: scratch, cwd: REPO },
  );
  if (m.exitCode !== 0) throw new Error(`profiled run failed (${m.exitCode}): ${m.stderrTail}`);
  const files = readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error('node --cpu-prof wrote no profile');
  // The largest profile is the main thread's.
  files.sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size);
  const summary = summariseProfile(join(dir, files[0]), REPO);
  const text = profileMarkdown(summary, args.join(' '), input, o.top);
  process.stdout.write(
    `\n${text}\n\n(profile: ${join(dir, files[0])}; wall ${m.wallSec.toFixed(2)} s under the profiler)\n`,
  );
  if (o.readme) replaceBetweenMarkers(`profile-${mode}-${input.markerKey}`, text);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const scratch = join(CACHE_DIR, 'work');
  mkdirSync(scratch, { recursive: true });
  if (o.build) {
    log('npm run build');
    const r = spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error('npm run build failed: fix the build or pass --no-build');
  }
  ensureTools();
  const features = detectFeatures();
  const input = await resolveInput(o);
  if (o.profile !== undefined) {
    await runProfile(o, input, features, scratch);
    return;
  }
  log(
    `features: --no-mime ${features.noMime ? 'yes' : 'not implemented'}, ` +
      `workers: ${features.workers ? '1 and 2' : 'not implemented'}`,
  );
  log('warm-up (untimed): smtpcap stats');
  const found = sanity(input.file, features);
  log(`  ${found}`);
  const entries = [
    ...smtpcapEntries(input.file, features, o.modes),
    ...(o.tools ? toolEntries(input.file, scratch) : []),
  ];
  const distAtStart = distFingerprint();
  let distChanged = '';
  for (let round = 0; round < o.rounds; round++) {
    log(`round ${round + 1}/${o.rounds}`);
    for (const e of entries) {
      await runEntry(e, scratch, round);
      const now = distFingerprint();
      if (now !== distAtStart && distChanged === '') {
        distChanged = `dist/ was rebuilt during the run (after ${e.label}, round ${round + 1}): the figures mix two builds; run again`;
        log(`WARNING: ${distChanged}`);
      }
    }
  }
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const notes: string[] = [];
  if (distChanged) notes.push(`**${distChanged}.**`);
  if (!features.noMime) notes.push('`json --no-mime` is not implemented yet: plain `json` stands for it.');
  if (!features.workers)
    notes.push('workers: not implemented (`--workers` is not an option yet): one thread only.');
  const tshark = entries.find((e) => e.kind === 'tshark');
  const tcpflow = entries.find((e) => e.kind === 'tcpflow');
  const body = [
    `${date}, ${machine()}.`,
    '',
    `Input: ${input.description}: ${(input.bytes / 1e6).toFixed(0)} MB, ` +
      `${input.packets.toLocaleString('en-US')} packets; page cache warm; ${o.rounds > 1 ? `${o.rounds} rounds, A B A B` : '1 round'}. ` +
      'Figures are medians with (min–max) over rounds; × columns say how many times faster than the ' +
      'tool (its time ÷ ours), per round.',
    '',
    `smtpcap found: ${found}` +
      (tshark?.outputs !== undefined ? `; tshark exported ${tshark.outputs} imf objects` : '') +
      (tcpflow?.outputs !== undefined ? `; tcpflow wrote ${tcpflow.outputs} files` : '') +
      '.',
    ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
    '',
    resultTable(entries, input),
    '',
    targetsTable(targets(entries, features)),
  ].join('\n');
  process.stdout.write(`\n${body}\n`);
  if (o.readme) {
    replaceBetweenMarkers(input.markerKey, body);
    log(`README.md: Performance section updated (bench:${input.markerKey})`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
