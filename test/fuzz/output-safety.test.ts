/**
 * Output safety (issue #7): a session full of terminal controls (ESC, CSI, OSC hyperlinks and
 * title changes, BEL, BS, CR, other C0/C1, bidi overrides) through every report of the CLI and its
 * error messages: none reaches the terminal raw. JSON stays valid JSON and keeps invalid UTF-8
 * recoverable where the contract says so. Extraction never writes outside its folder and never
 * follows a symlink placed in it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { dialogueCapture } from '../helpers/scripted-capture.js';
import { ROOT } from './kit.js';
import { assertTerminalSafe } from './targets.js';

const ESC = '\u001b';
const BEL = '\u0007';
const OSC_LINK = `${ESC}]8;;https://evil.example/${ESC}\\click${ESC}]8;;${ESC}\\`;
const OSC_TITLE = `${ESC}]0;pwned${BEL}${ESC}]2;title${BEL}`;
const CSI = `${ESC}[2J${ESC}[31m${ESC}[1;1H`;
const C1 = '\u0085\u009b31m\u009d0;x\u009c';
const BIDI = '\u202egnp.exe\u202c\u2066x\u2069\u200f\u061c';
const HOSTILE = `${OSC_LINK}${OSC_TITLE}${CSI}${BEL}a\bb\rc${C1}${BIDI}\u2028\u007f`;

/** Bytes as latin1 (raw) or UTF-8: both forms reach the decoders. */
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const raw = (s: string): Buffer => Buffer.from(s, 'latin1');

function hostileCapture(): Buffer {
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  const message = Buffer.concat([
    utf8(`From: "${HOSTILE}" <a@evil.example>\r\n`),
    utf8(`To: ${HOSTILE} <b@example.org>\r\n`),
    utf8(`Subject: ${HOSTILE}`),
    raw(' \x9b\xff\xfe\x1b[5m\r\n'),
    utf8('MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n'),
    utf8(`--zz\r\nContent-Type: text/plain\r\n\r\nbody ${HOSTILE}\r\n`),
    utf8(
      `--zz\r\nContent-Type: application/octet-stream; name="../../../escape-${ESC}[31m.txt"\r\n` +
        `Content-Disposition: attachment; filename="../../../escape-${ESC}]0;t${BEL}\u202e.txt"\r\n` +
        'Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--zz--\r\n.\r\n',
    ),
  ]);
  return dialogueCapture({
    client: { ip: '10.0.0.1', port: 40000 },
    server: { ip: '10.0.0.2', port: 25 },
    steps: [
      { from: 'server', data: utf8(`220 mx ${HOSTILE}\r\n`) },
      { from: 'client', data: utf8(`EHLO ${HOSTILE}\r\n`) },
      { from: 'server', data: utf8(`250-mx ${HOSTILE}\r\n250 AUTH PLAIN\r\n`) },
      {
        from: 'client',
        data: `AUTH PLAIN ${b64(`\u0000user${ESC}[8m${BIDI}\u0000pass${ESC}]0;x${BEL}`)}\r\n`,
      },
      { from: 'server', data: '235 ok\r\n' },
      { from: 'client', data: Buffer.concat([raw('MAIL FROM:<\x1b[31m\x9b\xff@evil.example>\r\n')]) },
      { from: 'server', data: utf8(`250 ${HOSTILE}\r\n`) },
      { from: 'client', data: utf8(`RCPT TO:<${ESC}]8;;x${ESC}\\r\u202e@example.org>\r\n`) },
      { from: 'server', data: '250 ok\r\n' },
      { from: 'client', data: 'DATA\r\n' },
      { from: 'server', data: '354 go\r\n' },
      { from: 'client', data: message },
      { from: 'server', data: utf8(`250 2.0.0 queued as ${ESC}[31mQ1\r\n`) },
      { from: 'client', data: raw(`NOOP \x07\x08\x9b\x1b]0;t\x07\r\n`) },
      { from: 'server', data: raw('250 \x00\x01\x7f\x85\r\n') },
      { from: 'client', data: 'QUIT\r\n' },
      { from: 'server', data: '221 bye\r\n' },
    ],
  });
}

function cli(args: string[]) {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Colour output: only SGR sequences (ESC [ ... m) may be raw; everything else as without colour. */
function withoutSgr(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

describe('output safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpcap-safety-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const capture = join(dir, 'hostile.pcap');
  writeFileSync(capture, hostileCapture());

  for (const command of ['sessions', 'transcript', 'stats', 'creds']) {
    for (const colour of ['--no-color', '--color']) {
      it(`${command} ${colour}: no control, C1 or bidi character reaches the terminal raw`, () => {
        const { code, stdout, stderr } = cli([command, colour, capture]);
        assert.equal(code, 0, stderr);
        assert.ok(stdout.length > 0);
        const shown = colour === '--color' ? withoutSgr(stdout) : stdout;
        assertTerminalSafe(shown, `${command} stdout`);
        assertTerminalSafe(stderr, `${command} stderr`);
        if (command === 'transcript')
          assert.ok(stdout.includes('\\e]0;pwned'), 'the hostile bytes are shown, escaped');
      });
    }
  }

  it('--show-secrets: the credentials are escaped too', () => {
    const { code, stdout, stderr } = cli(['creds', '--show-secrets', '--no-color', capture]);
    assert.equal(code, 0, stderr);
    assertTerminalSafe(stdout, 'creds --show-secrets');
  });

  it('json is valid JSON; invalid UTF-8 in the envelope is kept as hex beside the lossy text', () => {
    const { code, stdout, stderr } = cli(['json', capture]);
    assert.equal(code, 0, stderr);
    const doc = JSON.parse(stdout);
    const session = doc.sessions[0];
    const tx = session.transactions[0];
    // MAIL FROM:<ESC[31m 0x9b 0xff @evil.example>: not UTF-8.
    assert.equal(
      tx.mailFrom.addressHex,
      Buffer.from('\x1b[31m\x9b\xff@evil.example', 'latin1').toString('hex'),
    );
    assert.ok(tx.mailFrom.address.includes('\ufffd'), 'the text is lossy, the hex is not');
    const noop = session.commands.find((c: { verb: string }) => c.verb === 'NOOP');
    assert.equal(noop.argHex, Buffer.from('\x07\x08\x9b\x1b]0;t\x07', 'latin1').toString('hex'));
  });

  it('json: a header with invalid UTF-8 keeps its bytes in message.raw (one code point per byte, latin1)', () => {
    const { stdout } = cli(['json', capture]);
    const message = JSON.parse(stdout).sessions[0].transactions[0].message;
    const bytes = Buffer.from(message.raw.subject, 'latin1');
    assert.ok(bytes.includes(Buffer.from([0x9b, 0xff, 0xfe])), 'the raw bytes round-trip through latin1');
    assert.ok(message.subject.includes('\ufffd'), 'the decoded subject is lossy');
  });

  it('json: reply text is UTF-8 like command arguments, with a hex field when it is not valid UTF-8', () => {
    const { stdout } = cli(['json', capture]);
    const commands: { verb: string; reply: { text: string; textHex?: string } }[] =
      JSON.parse(stdout).sessions[0].commands;
    const mail = commands.find((c) => c.verb === 'MAIL');
    assert.ok(mail?.reply.text.includes('\u202e'), `MAIL reply: ${JSON.stringify(mail?.reply.text)}`);
    const noop = commands.find((c) => c.verb === 'NOOP');
    assert.equal(noop?.reply.textHex, Buffer.from('\x00\x01\x7f\x85', 'latin1').toString('hex'));
  });

  it('an error naming a file with terminal controls in its name is escaped', () => {
    const name = join(dir, `missing-${ESC}]0;t${BEL}${ESC}[2J\u202e.pcap`);
    const { code, stdout, stderr } = cli(['sessions', name]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assertTerminalSafe(stderr, 'stderr');
    assert.equal(stderr.trimEnd().split('\n').length, 1);
    assert.ok(stderr.includes('no such file'), stderr);
  });

  it('a warning about a damaged file whose name holds controls is escaped', () => {
    const name = join(dir, `cut-${ESC}[31m\u009b\u202e.pcap`);
    const bytes = readFileSync(capture);
    writeFileSync(name, bytes.subarray(0, bytes.length - 7));
    const { code, stderr } = cli(['sessions', '--no-color', name]);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /truncated record/);
    assertTerminalSafe(stderr, 'stderr');
  });

  it('extract: attachment names from the message never leave the folder', () => {
    const out = join(dir, 'out-names');
    const { code, stderr } = cli(['extract', '--all', '-o', out, capture]);
    assert.equal(code, 0, stderr);
    assertTerminalSafe(stderr, 'extract stderr');
    const real = realpathSync(out);
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((n) => {
        const p = join(d, n);
        return lstatSync(p).isDirectory() ? [p, ...walk(p)] : [p];
      });
    const files = walk(out);
    assert.ok(
      files.some((f) => f.endsWith('.eml')),
      'the message was written',
    );
    for (const f of files) {
      assert.ok(!lstatSync(f).isSymbolicLink(), `${f} is a symlink`);
      const rel = relative(real, realpathSync(f));
      assert.ok(!rel.startsWith('..'), `${f} outside the folder`);
      // Names we build: no control character and no bidi override in them.
      assertTerminalSafe(rel, 'a file name');
    }
    assert.ok(!readdirSync(dir).some((n) => n.startsWith('escape-')), 'nothing written beside the folder');
  });

  it('extract --force: symlinks placed in the folder are never followed', () => {
    const out = join(dir, 'out-links');
    const victim = join(dir, 'victim');
    mkdirSync(out);
    mkdirSync(victim);
    // Every name the extractor writes, pointing outside: files and the attachments folder.
    const planted = ['index.json', 'index.csv', 'attachments', 'messages.mbox'];
    for (const name of planted) symlinkSync(join(victim, name), join(out, name));
    const first = cli(['extract', '--all', '-o', join(dir, 'probe'), capture]);
    assert.equal(first.code, 0, first.stderr);
    for (const name of readdirSync(join(dir, 'probe'))) {
      if (!planted.includes(name)) symlinkSync(join(victim, name), join(out, name));
    }
    const { code, stderr } = cli([
      'extract',
      '--all',
      '--force',
      '-o',
      out,
      '--mbox',
      join(out, 'messages.mbox'),
      capture,
    ]);
    assert.ok(code === 0 || code === 1, `exit ${code}: ${stderr}`);
    assert.ok(!stderr.includes('internal error'), stderr);
    assert.deepEqual(readdirSync(victim), [], 'nothing written through a symlink');
    // A planted link is left alone or replaced by a file of our own; it never leads out.
    for (const name of readdirSync(out)) {
      const path = join(out, name);
      if (lstatSync(path).isSymbolicLink()) continue;
      assert.ok(!relative(realpathSync(out), realpathSync(path)).startsWith('..'), `${name} outside`);
    }
    assert.ok(!existsSync(join(victim, 'index.json')));
  });
});
