/**
 * Errors a user sees (issue #7): missing file, directory without captures, empty file, not a
 * capture, wrong permissions: exit 1 and one line naming the file. A capture corrupt in the
 * middle: everything before the damage reported, then a warning with the byte offset; --strict
 * exits 1 instead. Unknown or conflicting options: exit 2 with commander's usage line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CaptureInputError } from '../../src/capture/errors.js';
import { expandInputs, naturalCompare } from '../../src/capture/expand-inputs.js';
import { ROOT } from './kit.js';
import { recordEnds } from './targets.js';

const DEMO = join(ROOT, 'fixtures/exim-telnet.pcap');
const MULTI = join(ROOT, 'fixtures/real/04-multi-message-session.pcap');
const NOBODY = 65_534;

function cli(args: string[], options: { uid?: number; gid?: number } = {}) {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
    timeout: 60_000,
    ...options,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLine(stderr: string, file: string, reason: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  assert.ok(lines[0].startsWith('smtpcap: '), lines[0]);
  assert.ok(lines[0].includes(file), `names ${file}: ${lines[0]}`);
  assert.match(lines[0], reason);
}

describe('errors a user sees', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpcap-errors-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('expandInputs: a directory is the captures in it', () => {
    it('lists the regular files that start with a capture magic, in natural name order', () => {
      const d = join(dir, 'rotated');
      mkdirSync(d);
      for (const name of ['trace10', 'trace', 'trace2', 'trace1']) copyFileSync(DEMO, join(d, name));
      writeFileSync(join(d, 'notes.txt'), 'not a capture\n');
      writeFileSync(join(d, 'empty.pcap'), '');
      mkdirSync(join(d, 'sub'));
      copyFileSync(DEMO, join(d, 'sub', 'inner.pcap'));
      assert.deepEqual(expandInputs([d, '-', DEMO]), [
        ...['trace', 'trace1', 'trace2', 'trace10'].map((n) => join(d, n)),
        '-',
        DEMO,
      ]);
    });

    it('a directory without captures, or an empty one, is a CaptureInputError naming it', () => {
      const d = join(dir, 'no-captures');
      mkdirSync(d);
      assert.throws(
        () => expandInputs([d]),
        (e: unknown) => e instanceof CaptureInputError && e.file === d && /empty directory/.test(e.reason),
      );
      writeFileSync(join(d, 'a.txt'), 'text');
      assert.throws(
        () => expandInputs([d]),
        (e: unknown) =>
          e instanceof CaptureInputError && /without captures/.test(e.message) && !e.message.includes('\n'),
      );
    });

    it('a missing path passes through for the reader to report', () => {
      const missing = join(dir, 'nope.pcap');
      assert.deepEqual(expandInputs([missing]), [missing]);
    });

    it('natural order: digits compare as numbers', () => {
      assert.deepEqual(['c10', 'c9', 'c', 'c1', 'b'].sort(naturalCompare), ['b', 'c', 'c1', 'c9', 'c10']);
    });
  });

  it('missing file, empty file, not a capture, a directory: exit 1, one line naming it', () => {
    const empty = join(dir, 'empty.pcap');
    const text = join(dir, 'notes.pcap');
    const folder = join(dir, 'folder');
    writeFileSync(empty, '');
    writeFileSync(text, 'hello, this is not a capture\n');
    mkdirSync(folder);
    writeFileSync(join(folder, 'readme.txt'), 'nothing here');
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.pcap'), /no such file/],
      [empty, /empty file/],
      [text, /not a pcap or pcapng capture/],
      [folder, /directory/],
    ];
    for (const [file, reason] of cases) {
      const { code, stdout, stderr } = cli(['sessions', file]);
      assert.equal(code, 1, `${file}: ${stderr}`);
      assert.equal(stdout, '');
      assertOneLine(stderr, file, reason);
    }
  });

  it('json on a missing file prints nothing on stdout (no half-written document)', () => {
    const { code, stdout } = cli(['json', join(dir, 'missing.pcap')]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
  });

  it('a directory of captures is read as its files in order; one without captures says so', () => {
    const d = join(dir, 'cli-rotated');
    mkdirSync(d);
    copyFileSync(DEMO, join(d, 'a1'));
    const { code, stdout, stderr } = cli(['json', d]);
    assert.equal(code, 0, stderr);
    assert.equal(JSON.parse(stdout).inputs[0].file, join(d, 'a1'));
    const none = join(dir, 'cli-none');
    mkdirSync(none);
    const r = cli(['json', none]);
    assert.equal(r.code, 1);
    assertOneLine(r.stderr, none, /without captures/);
  });

  it('wrong permissions: exit 1, one line naming the file', (t) => {
    const file = join(dir, 'locked.pcap');
    copyFileSync(DEMO, file);
    chmodSync(file, 0o000);
    chmodSync(dir, 0o755);
    const asRoot = process.getuid?.() === 0;
    // Root reads any file: the CLI runs as nobody then, which cannot open it.
    const run = asRoot ? cli(['json', file], { uid: NOBODY, gid: NOBODY }) : cli(['json', file]);
    // A clone in a private folder: nobody cannot even load node modules there.
    if (
      asRoot &&
      /ERR_MODULE_NOT_FOUND|Cannot find package|EACCES: permission denied, (open|scandir|stat) .*node_modules/.test(
        run.stderr,
      )
    ) {
      t.skip(`cannot run node as uid ${NOBODY} here: ${run.stderr.split('\n')[0]}`);
      return;
    }
    assert.equal(run.code, 1, run.stderr);
    assertOneLine(run.stderr, file, /permission denied/);
  });

  describe('a capture corrupt in the middle', () => {
    const file = join(dir, 'corrupt-middle.pcap');
    const bytes = Buffer.from(readFileSync(MULTI));
    // The record header of the packet two thirds in: a captured length of 4 GiB.
    const ends = recordEnds(bytes);
    const cut = ends[Math.floor((ends.length * 2) / 3)];
    bytes.writeUInt32LE(0xffffffff, cut.end + 8);
    writeFileSync(file, bytes);

    it('reports everything before the damage, then warns with the packet and byte offset', () => {
      const { code, stdout, stderr } = cli(['json', file]);
      assert.equal(code, 0, stderr);
      const doc = JSON.parse(stdout);
      assert.equal(doc.inputs[0].packets, cut.packets);
      assert.ok(
        doc.sessions[0].transactions.some((t: { status: string }) => t.status === 'delivered'),
        'the messages before the damage',
      );
      assert.ok(
        stderr.includes(`packet ${cut.packets + 1} at byte offset ${cut.end}: corrupt record header`),
        stderr,
      );
    });

    it('--strict exits 1 with one line naming the file and the offset, and prints no report', () => {
      const { code, stdout, stderr } = cli(['sessions', '--strict', '--quiet', file]);
      assert.equal(code, 1, stderr);
      assert.equal(stdout, '');
      assertOneLine(stderr, file, new RegExp(`--strict: .*byte offset ${cut.end}`));
    });

    it('json --strict prints no report either', () => {
      const { code, stdout } = cli(['json', '--strict', '--quiet', file]);
      assert.equal(code, 1);
      assert.equal(stdout, '');
    });

    it('--strict on a sound capture changes nothing', () => {
      const { code, stderr } = cli(['sessions', '--strict', DEMO]);
      assert.equal(code, 0, stderr);
    });
  });

  it('an unknown option: exit 2 with commander usage line', () => {
    const { code, stdout, stderr } = cli(['json', '--frobnicate', DEMO]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /unknown option '--frobnicate'/);
    assert.match(stderr, /Usage: smtpcap json \[options\] <capture\.\.\.>/);
  });

  it('an invalid option value (--port 99999): exit 2 with the usage line', () => {
    const { code, stderr } = cli(['json', '--port', '99999', DEMO]);
    assert.equal(code, 2);
    assert.match(stderr, /Usage: smtpcap json/);
  });

  it('conflicting options (--ndjson with --workers): exit 2 with the usage line', () => {
    const { code, stderr } = cli(['json', '--ndjson', '--workers', '2', DEMO]);
    assert.equal(code, 2);
    assert.match(stderr, /Usage: smtpcap json/);
  });
});
