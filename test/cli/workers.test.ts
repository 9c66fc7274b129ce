/** --workers N: the same result, byte for byte and in the same order, as one thread. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { firstDamage } from '../../src/capture/damage.js';
import { CaptureInputError } from '../../src/capture/errors.js';
import type { InputSummary } from '../../src/capture/raw-packet.js';
import { agreedInputs, analyseInParallel } from '../../src/parallel.js';
import { tcpDialogue } from '../helpers/frames.js';
import { captureOf } from '../helpers/scripted-capture.js';
import { smtpSteps } from '../helpers/smtp-steps.js';

const ROOT = join(import.meta.dirname, '../..');
const REAL = join(ROOT, 'fixtures/real');
const ALL = [...readdirSync(REAL).map((f) => join(REAL, f)), join(ROOT, 'fixtures/exim-telnet.pcap')];

describe('--workers', () => {
  it('two and three threads give exactly what one gives, over every fixture', async () => {
    const one = await analyseInParallel(ALL, { messages: 'full', workers: 1 });
    // 50 connections, but the format variants of scenarios 01, 04 and 13 hold the same
    // connections again: read as one capture, their packets are retransmissions (10 fewer).
    assert.equal(one.sessions.length, 40);
    for (const workers of [2, 3]) {
      const many = await analyseInParallel(ALL, { messages: 'full', workers });
      assert.equal(JSON.stringify(many), JSON.stringify(one), `${workers} workers`);
    }
  });

  it('a connection on another port found to be SMTP while the next input is read keeps its place', async () => {
    const server = { ip: '10.9.0.25', port: 2626 };
    const probe = tcpDialogue({
      client: { ip: '10.9.1.1', port: 40001 },
      server,
      steps: smtpSteps('Subject: probe\r\n\r\nx\r\n'),
    });
    const later = [1, 2, 3].flatMap((i) =>
      tcpDialogue({
        client: { ip: '10.9.1.2', port: 41000 + i },
        server: { ip: '10.9.0.25', port: 25 },
        steps: smtpSteps(`Subject: s${i}\r\n\r\nbody\r\n`),
      }),
    );
    // Handshake and greeting in the first file; the EHLO that decides, and the rest, in the next.
    const dir = mkdtempSync(join(tmpdir(), 'smtpcap-workers-'));
    const files = [join(dir, 'a.pcap'), join(dir, 'b.pcap')];
    writeFileSync(files[0], captureOf(probe.slice(0, 4), { startSec: 1000 }));
    writeFileSync(files[1], captureOf([...probe.slice(4), ...later], { startSec: 1001 }));
    const one = await analyseInParallel(files, { messages: 'full', workers: 1 });
    assert.deepEqual(
      one.sessions.map((s) => [s.id, s.server.port, s.transactions[0]?.message?.subject]),
      [
        ['S1', 2626, 'probe'],
        ['S2', 25, 's1'],
        ['S3', 25, 's2'],
        ['S4', 25, 's3'],
      ],
    );
    for (const workers of [2, 3]) {
      const many = await analyseInParallel(files, { messages: 'full', workers });
      assert.equal(JSON.stringify(many), JSON.stringify(one), `${workers} workers`);
    }
  });

  it("idle connections time out at the same packet in every worker (each sees every packet's time)", async () => {
    // One packet an hour late: every connection idle then times out, in whichever shard.
    const capture = Buffer.from(readFileSync(join(REAL, '31-concurrent-sessions.pcap')));
    let at = 24;
    for (let i = 1; i < 100; i++) at += 16 + capture.readUInt32LE(at + 8);
    capture.writeUInt32LE(capture.readUInt32LE(at) + 3600, at);
    const file = join(mkdtempSync(join(tmpdir(), 'smtpcap-workers-')), 'late.pcap');
    writeFileSync(file, capture);
    const one = await analyseInParallel([file], { messages: 'full', workers: 1 });
    assert.ok(
      one.sessions.some((s) => s.state === 'midstream'),
      'some session resumed after the timeout',
    );
    for (const workers of [2, 3]) {
      const many = await analyseInParallel([file], { messages: 'full', workers });
      assert.equal(JSON.stringify(many), JSON.stringify(one), `${workers} workers`);
    }
  });

  it('says when the workers read different lengths of a file that changed under them', () => {
    const input = (packets: number, bytes: number): InputSummary => ({
      file: 'ring.pcap',
      format: 'pcap',
      linkTypes: [1],
      packets,
      bytes,
      warnings: [],
    });
    const same = agreedInputs([[input(10, 1000)], [input(10, 1000)]]);
    assert.deepEqual(same, [input(10, 1000)]);
    const [changed] = agreedInputs([[input(10, 1000)], [input(4, 400)], [input(10, 1000)]]);
    assert.equal(changed.packets, 10);
    assert.deepEqual(changed.warnings, [
      {
        code: 'input-changed',
        packet: -1,
        offset: -1,
        detail:
          'the file changed while it was read: the worker threads read 10 packets (1000 bytes), 4 packets (400 bytes); sessions past the shortest read may be missing or cut',
      },
    ]);
    assert.ok(firstDamage([changed]), '--strict counts it as damage');
  });

  it('an input that is not a capture fails in the workers as it does on one thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpcap-workers-'));
    const garbage = join(dir, 'notes.txt');
    writeFileSync(garbage, 'this is not a capture\n');
    for (const workers of [1, 2]) {
      await assert.rejects(
        analyseInParallel([garbage], { messages: 'full', workers }),
        (err: unknown) =>
          err instanceof CaptureInputError &&
          err.file === garbage &&
          err.reason === 'not a pcap or pcapng capture (starts with bytes 74 68 69 73)',
      );
    }
  });

  it('the CLI prints the same bytes with --workers 2 (json; stats, which takes sessions in any order)', () => {
    const run = (command: string, workers: string) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'src/cli.ts'), command, '--workers', workers, ...ALL],
        {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        },
      );
    for (const command of ['json', 'stats']) {
      const one = run(command, '1');
      const two = run(command, '2');
      assert.equal(one.status, 0, one.stderr);
      assert.equal(two.status, 0, two.stderr);
      assert.equal(two.stdout, one.stdout, command);
    }
  });
});
