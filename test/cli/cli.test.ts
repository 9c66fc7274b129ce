/** The command line as a user runs it: exit codes, messages on stderr, and what reaches stdout. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '../..');
const DEMO = join(ROOT, 'fixtures/exim-telnet.pcap');

function run(args: string[], env: Record<string, string> = {}) {
  // The outcome must not depend on the colour settings of whoever runs the tests.
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...inherited } = process.env;
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...inherited, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const ESC = '\u001b';

describe('smtpcap command line', () => {
  it('prints the sessions table by default, with no colour when piped', () => {
    const { code, stdout, stderr } = run([DEMO]);
    assert.equal(code, 0, stderr);
    assert.ok(stdout.includes('10.10.45.12:41736 → 10.10.171.90:25'));
    assert.ok(stdout.includes('user@client.thm'));
    assert.ok(stdout.includes('strategos@server.thm'));
    assert.match(stdout, /│\s+148 │ delivered/);
    assert.ok(stdout.includes('1 session, 1 transaction (1 delivered, 0 rejected, 0 aborted, 0 incomplete)'));
    assert.ok(!stdout.includes(ESC));
  });

  it('reads a named pipe (a FIFO, or <(zcat x.pcap.gz)) once, as it is written, even with --workers 2', async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'smtpcap-fifo-')), 'capture');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'json', '--workers', '2', fifo],
      { cwd: ROOT },
    );
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    const writer = createWriteStream(fifo);
    writer.end(readFileSync(DEMO));
    const timer = setTimeout(() => child.kill(), 30_000);
    const code = await new Promise<number | null>((resolve) =>
      child.on('close', (status) => resolve(status)),
    );
    clearTimeout(timer);
    assert.equal(code, 0);
    const doc = JSON.parse(Buffer.concat(out).toString('utf8'));
    assert.equal(doc.sessions.length, 1);
    assert.equal(doc.sessions[0].transactions[0].data.size, 148);
  });

  it('--from, --to and --since keep only the matching transactions of the sessions shown', () => {
    const multi = join(ROOT, 'fixtures/real/04-multi-message-session.pcap');
    const all = JSON.parse(run(['json', multi]).stdout);
    const senders = all.sessions[0].transactions.map(
      (t: { mailFrom: { address: string } }) => t.mailFrom.address,
    );
    assert.deepEqual(senders, [
      'one@client.test',
      'two@client.test',
      'three@client.test',
      'four@client.test',
    ]);
    const picked = (args: string[]) =>
      JSON.parse(run(['json', multi, ...args]).stdout).sessions.flatMap(
        (s: { transactions: { index: number }[] }) => s.transactions.map((t) => t.index),
      );
    assert.deepEqual(picked(['--from', 'two']), [2]);
    assert.deepEqual(picked(['--from', '/^(one|four)@/']), [1, 4]);
    assert.deepEqual(picked(['--since', all.sessions[0].transactions[2].start]), [3, 4]);
    // Every fraction digit counts (42.515300 is before 42.5156), and a time written as the table
    // prints it (a space, no zone) is UTC wherever the user is.
    const starts: string[] = all.sessions[0].transactions.map((t: { start: string }) => t.start);
    assert.match(starts[0], /^2026-12-03T16:00:42\.5153/);
    assert.deepEqual(picked(['--since', '2026-12-03T16:00:42.5156Z']), [2, 3, 4]);
    const until = starts[1].replace('T', ' ').replace('Z', '');
    const inNewYork = run(['json', multi, '--until', until], { TZ: 'America/New_York' });
    assert.deepEqual(
      JSON.parse(inNewYork.stdout).sessions[0].transactions.map((t: { index: number }) => t.index),
      [1, 2],
    );
    assert.deepEqual(picked(['--from', 'nobody']), []);
    const table = run([multi, '--from', 'two']).stdout;
    assert.ok(table.includes('two@client.test') && !table.includes('one@client.test'));
    assert.ok(table.includes('1 session, 1 transaction'));
  });

  it('json prints the contract, with the message hash', () => {
    const { code, stdout } = run(['json', DEMO]);
    assert.equal(code, 0);
    const doc = JSON.parse(stdout);
    assert.equal(doc.tool, 'smtpcap');
    assert.equal(doc.inputs[0].packets, 46);
    assert.equal(doc.sessions[0].id, 'S1');
    assert.equal(
      doc.sessions[0].transactions[0].data.sha256,
      'c63090a8392760afa36f9a2f31b8a878375114ee8b45ae2f6606655dd845a7f7',
    );
  });

  it('--ndjson prints one session per line', () => {
    const { code, stdout } = run([
      'json',
      '--ndjson',
      join(ROOT, 'fixtures/real/28-relay-postfix-to-aiosmtpd.pcap'),
    ]);
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).transactions[0].status),
      ['delivered', 'delivered'],
    );
  });

  it('transcript colours client red and server blue only when asked', () => {
    const coloured = run(['transcript', '--color', DEMO]);
    assert.equal(coloured.code, 0);
    assert.ok(coloured.stdout.includes(`${ESC}[31mC:`), 'client in red');
    assert.ok(coloured.stdout.includes(`${ESC}[34mS:`), 'server in blue');
    const plain = run(['transcript', DEMO], { FORCE_COLOR: '1', NO_COLOR: '1' });
    assert.ok(!plain.stdout.includes(ESC), 'NO_COLOR wins over FORCE_COLOR');
    assert.ok(plain.stdout.includes('C: MAIL FROM: <user@client.thm>'));
  });

  it('--session selects sessions', () => {
    const { stdout } = run([
      'json',
      '--session',
      's2',
      join(ROOT, 'fixtures/real/28-relay-postfix-to-aiosmtpd.pcap'),
    ]);
    const doc = JSON.parse(stdout);
    assert.deepEqual(
      doc.sessions.map((s: { id: string }) => s.id),
      ['S2'],
    );
  });

  it('exits 1 naming the file when it is missing, empty or not a capture', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpcap-cli-'));
    const empty = join(dir, 'empty.pcap');
    const text = join(dir, 'notes.txt');
    writeFileSync(empty, '');
    writeFileSync(text, 'hello, this is not a capture\n');
    for (const [file, reason] of [
      [join(dir, 'missing.pcap'), 'no such file'],
      [empty, 'empty file'],
      [text, 'not a pcap or pcapng capture'],
    ]) {
      const { code, stdout, stderr } = run([file]);
      assert.equal(code, 1, `${file}: ${stderr}`);
      assert.equal(stdout, '');
      assert.equal(stderr.trimEnd().split('\n').length, 1, 'one line');
      assert.ok(stderr.includes(file) && stderr.includes(reason), stderr);
    }
  });

  it('exits 2 with the usage line on an unknown option', () => {
    const { code, stderr } = run(['json', '--frobnicate', DEMO]);
    assert.equal(code, 2);
    assert.match(stderr, /unknown option '--frobnicate'/);
  });

  it('creds --subject reads the subject it filters on', () => {
    const auth = join(ROOT, 'fixtures/real/06-auth-plain.pcap');
    assert.match(run(['creds', '--subject', 'test Thu', auth]).stdout, /1 attempt, 1 succeeded/);
    assert.match(run(['creds', '--subject', 'nothing like it', auth]).stdout, /0 attempts, 0 succeeded/);
  });

  it('exits 2 on arguments that cannot work: stdin twice, a bad worker count, a command after an option, --since after --until', () => {
    const cases: [string[], RegExp][] = [
      [['json', '-', '-'], /stdin \(-\) can be read only once/],
      [['json', '--workers', '0x2', DEMO], /invalid worker count: 0x2 \(1 to 64\)/],
      [['json', '--workers', '65', DEMO], /invalid worker count: 65 \(1 to 64\)/],
      [
        ['--port', '2525', 'json', DEMO],
        /"json" is a command: put it first \(smtpcap json \[options\] <capture\.\.\.>\)/,
      ],
      [
        ['--no-mime', '--subject', 'x', DEMO],
        /--subject needs the message headers: it cannot go with --no-mime/,
      ],
      [
        ['json', '--since', '2030-01-01', '--until', '2020-01-01', DEMO],
        /--since 2030-01-01 is after --until 2020-01-01/,
      ],
    ];
    // Options without a value may come before the command.
    const flagsFirst = run(['--no-color', '-q', 'json', DEMO]);
    assert.equal(flagsFirst.code, 0, flagsFirst.stderr);
    assert.equal(JSON.parse(flagsFirst.stdout).sessions.length, 1);
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = run(args);
      assert.equal(code, 2, args.join(' '));
      assert.equal(stdout, '');
      assert.match(stderr, message);
      assert.match(stderr, /Usage: smtpcap \w+ \[options\] <capture\.\.\.>/);
    }
  });

  it('warns with file, packet and offset on a truncated capture, and still reports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpcap-cli-'));
    const cut = join(dir, 'cut.pcap');
    const full = readFileSync(DEMO);
    writeFileSync(cut, full.subarray(0, full.length - 5));
    const { code, stdout, stderr } = run([cut]);
    assert.equal(code, 0);
    assert.match(stderr, /cut\.pcap: packet 46 at byte offset \d+: truncated record/);
    assert.ok(stdout.includes('delivered'));
  });
});
