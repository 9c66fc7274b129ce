/** `smtpcap extract` on real captures: files byte-exact against the truth, an mbox that reads back. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tcpDialogue } from '../helpers/frames.js';
import { captureOf } from '../helpers/scripted-capture.js';
import { smtpSteps } from '../helpers/smtp-steps.js';

const ROOT = join(import.meta.dirname, '../..');
const REAL = join(ROOT, 'fixtures/real');
const TRUTH = join(ROOT, 'fixtures/truth');

function smtpcap(args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Reads an mboxrd file back: messages split at `From ` lines, one `>` removed from `>+From `. */
function readMboxrd(mbox: Buffer): { from: string; body: Buffer }[] {
  const text = mbox.toString('latin1');
  const messages: { from: string; lines: string[] }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('From ')) messages.push({ from: line, lines: [] });
    else messages.at(-1)?.lines.push(/^>+From /.test(line) ? line.slice(1) : line);
  }
  return messages.map(({ from, lines }) => {
    // The writer ends each message with one newline and a blank separator line.
    const body = lines.join('\n').replace(/\n\n$/, '\n');
    return { from, body: Buffer.from(body, 'latin1') };
  });
}

describe('smtpcap extract', () => {
  it('scenario 14: the .eml equals sent.eml and both attachments are byte-exact', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'smtpcap-extract-')), 'out');
    const { code, stderr } = smtpcap(['extract', join(REAL, '14-attachment-base64.pcap'), '-o', dir]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(readdirSync(dir).sort(), [
      'S1-1-two-attachments.eml',
      'attachments',
      'index.csv',
      'index.json',
    ]);
    assert.ok(
      readFileSync(join(dir, 'S1-1-two-attachments.eml')).equals(
        readFileSync(join(TRUTH, '14-attachment-base64/sent.eml')),
      ),
    );
    const extracted = join(dir, 'attachments/S1-1-two-attachments');
    for (const name of ['pixel.png', 'random-48k.bin']) {
      assert.equal(
        sha256(readFileSync(join(extracted, name))),
        sha256(readFileSync(join(TRUTH, '14-attachment-base64/attachments', name))),
        name,
      );
    }
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    assert.equal(
      index.messages[0].sha256,
      sha256(readFileSync(join(TRUTH, '14-attachment-base64/sent.eml'))),
    );
    assert.equal(index.messages[0].attachments.length, 2);
  });

  it('scenario 04: the mbox holds the three delivered messages, with envelope sender and capture time', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'smtpcap-extract-')), 'out');
    const mbox = `${dir}.mbox`;
    const { code, stderr } = smtpcap([
      'extract',
      join(REAL, '04-multi-message-session.pcap'),
      '-o',
      dir,
      '--mbox',
      mbox,
    ]);
    assert.equal(code, 0, stderr);
    const messages = readMboxrd(readFileSync(mbox));
    assert.deepEqual(
      messages.map((m) => m.from),
      ['one', 'two', 'four'].map((who) => `From ${who}@client.test Thu Dec  3 16:00:42 2026`),
    );
    const truth = ['sent.eml', 'sent-2.eml', 'sent-3.eml'].map((f) =>
      readFileSync(join(TRUTH, '04-multi-message-session', f)),
    );
    // mbox lines end in LF: the CRLF of the message as sent is kept as CR + LF.
    messages.forEach((m, i) => {
      assert.equal(sha256(m.body), sha256(truth[i]), `message ${i + 1}`);
    });
  });

  it('refuses a non-empty folder without --force', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpcap-extract-'));
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const refused = smtpcap(['extract', join(REAL, '04-multi-message-session.pcap'), '-o', dir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not empty/);
    const forced = smtpcap(['extract', join(REAL, '04-multi-message-session.pcap'), '-o', dir, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.eml')).length, 3);
    assert.equal(readFileSync(join(dir, 'keep.txt'), 'utf8'), 'mine');
  });

  it('scenario 26: the cut-off message is left out by default, and --all writes it marked incomplete', () => {
    const capture = join(REAL, '26-drop-mid-data-fin.pcap');
    const plain = join(mkdtempSync(join(tmpdir(), 'smtpcap-extract-')), 'out');
    assert.equal(smtpcap(['extract', capture, '-o', plain]).code, 0);
    assert.deepEqual(
      readdirSync(plain).filter((f) => f.endsWith('.eml')),
      [],
    );
    const all = join(mkdtempSync(join(tmpdir(), 'smtpcap-extract-')), 'out');
    assert.equal(smtpcap(['extract', capture, '-o', all, '--all']).code, 0);
    const emls = readdirSync(all).filter((f) => f.endsWith('.eml'));
    assert.equal(emls.length, 1);
    assert.match(emls[0], /^S1-1-incomplete/);
    assert.ok(
      readFileSync(join(all, emls[0])).equals(
        readFileSync(join(TRUTH, '26-drop-mid-data-fin/partial-1.bin')),
      ),
    );
    const index = JSON.parse(readFileSync(join(all, 'index.json'), 'utf8'));
    assert.equal(index.messages[0].status, 'incomplete');
  });

  it('--from filters by envelope sender', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'smtpcap-extract-')), 'out');
    const { code } = smtpcap([
      'extract',
      join(REAL, '04-multi-message-session.pcap'),
      '-o',
      dir,
      '--from',
      '/^(two|four)@/',
    ]);
    assert.equal(code, 0);
    assert.deepEqual(
      readdirSync(dir)
        .filter((f) => f.endsWith('.eml'))
        .sort(),
      ['S1-2-second-message.eml', 'S1-4-fourth-with-DSN.eml'],
    );
  });

  it('an output folder that cannot be made: exit 1 with one line, never a hang', () => {
    // Node's recursive mkdirSync spins forever on a path under /proc: we must not.
    const { code, stderr } = smtpcap([
      'extract',
      join(REAL, '01-plain-ehlo.pcap'),
      '-o',
      '/proc/smtpcap-nope/out',
    ]);
    assert.equal(code, 1);
    assert.match(
      stderr.trim(),
      /^smtpcap: cannot create the output folder \/proc\/smtpcap-nope\/out \(ENOENT\)$/,
    );
  });

  it('refuses, before writing anything, an output that is a file or an index that cannot be written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpcap-extract-'));
    const input = join(REAL, '01-plain-ehlo.pcap');
    const file = join(dir, 'file.txt');
    writeFileSync(file, 'mine');
    const busy = join(dir, 'busy');
    mkdirSync(join(busy, 'index.json'), { recursive: true });
    const cases: [string[], string][] = [
      [['-o', file, '--force'], `${file} is not a directory`],
      [
        ['-o', busy, '--force'],
        `${join(busy, 'index.json')} is a directory: the index cannot be written there`,
      ],
      [
        ['-o', join(dir, 'out2'), '--mbox', join(dir, 'nowhere', 'x.mbox')],
        `${join(dir, 'nowhere', 'x.mbox')}: its folder does not exist`,
      ],
      [['-o', join(dir, 'out3'), '--mbox', busy, '--force'], `${busy} is a directory, not a file to write`],
      [
        ['-o', join(dir, 'out'), '--mbox', join(dir, 'out', 'index.csv')],
        `--mbox ${join(dir, 'out', 'index.csv')} is where the index goes: name another file`,
      ],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = smtpcap(['extract', input, ...args]);
      assert.equal(code, 1, args.join(' '));
      assert.equal(stderr.trim(), `smtpcap: ${message}`);
    }
    assert.equal(readFileSync(file, 'utf8'), 'mine');
    assert.deepEqual(readdirSync(busy), ['index.json']);
    // A refused mbox leaves no temporary folder behind.
    assert.deepEqual(readdirSync(join(dir, 'out2')), []);
  });

  it('writes every message when sessions wait for an earlier one still open (more than 64)', () => {
    // S1 greets and stays open to the end of the capture; S2..S101 each deliver one message
    // meanwhile, so the ordered reports hold 100 finished sessions behind S1.
    const server = { ip: '10.9.0.1', port: 25 };
    const open = tcpDialogue({
      client: { ip: '10.9.1.1', port: 40000 },
      server,
      steps: [
        { from: 'server', data: '220 mx.test ESMTP\r\n' },
        { from: 'client', data: 'EHLO idle.test\r\n' },
      ],
      close: 'none',
    });
    const packets = [...open];
    const sent: string[] = [];
    for (let i = 0; i < 100; i++) {
      const message = `Subject: waiting ${i}\r\n\r\nbody ${i}\r\n`;
      sent.push(message);
      packets.push(
        ...tcpDialogue({ client: { ip: '10.9.1.2', port: 41000 + i }, server, steps: smtpSteps(message) }),
      );
    }
    const dir = mkdtempSync(join(tmpdir(), 'smtpcap-extract-'));
    const capture = join(dir, 'waiting.pcap');
    writeFileSync(capture, captureOf(packets));
    const out = join(dir, 'out');
    const { code, stderr } = smtpcap(['extract', capture, '-o', out]);
    assert.equal(code, 0, stderr);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as {
      messages: { file: string; sessionId: string; transactionIndex: number }[];
    };
    assert.deepEqual(
      index.messages.map((m) => m.sessionId),
      sent.map((_, i) => `S${i + 2}`),
    );
    index.messages.forEach((m, i) => {
      assert.equal(readFileSync(join(out, m.file), 'latin1'), sent[i]);
    });
    const csv = readFileSync(join(out, 'index.csv'), 'utf8').split('\r\n');
    assert.equal(csv.length, 1 + 100 + 1);
    assert.deepEqual(
      csv.slice(1, -1).map((line) => line.split(',')[1]),
      sent.map((_, i) => `S${i + 2}`),
    );
  });
});
