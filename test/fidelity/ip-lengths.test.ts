/**
 * IP lengths the capture does not match (issue #3): total length 0 from segmentation offload,
 * frames of 64 KiB, and snaplen cuts (in the payload and inside the TCP header), each missing
 * range a gap of known length in the message, never invented bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Frame } from '../helpers/capture-writer.js';
import { type DialogueStep, ethernet, tcpDialogue } from '../helpers/frames.js';
import {
  analyseFrames,
  anomalies,
  assertCounts,
  CLIENT,
  CLIENT6,
  commandView,
  rewrite,
  SERVER,
  SERVER6,
  sha256,
  sideBytes,
  smtpSteps,
  txView,
  warnings,
} from './fidelity.js';

/** Index (0-based) of the first message segment in a dialogue of stepsWithBody(). */
const BODY = 12;

/** smtpSteps with the message sent as two segments: `body` (ends with CRLF), then `tail` + ".\r\n". */
function stepsWithBody(body: string, tail = 'tail line\r\n'): DialogueStep[] {
  const steps = smtpSteps();
  steps.splice(9, 1, { from: 'client', data: body }, { from: 'client', data: `${tail}.\r\n` });
  return steps;
}

/** Ethernet frames 1 ms apart; `caplen` cuts chosen frames as a snaplen would (origLength kept). */
function frames(packets: Buffer[], caplen: Map<number, number> = new Map()): Frame[] {
  return packets.map((ip, i) => {
    const data = ethernet(ip);
    const cut = caplen.get(i);
    return {
      data: cut === undefined ? data : data.subarray(0, cut),
      origLength: data.length,
      tsSec: 1_700_000_000,
      tsNsec: i * 1_000_000,
    };
  });
}

/** A message body of exactly `size` bytes: a header, 78-byte lines, a last shorter line. */
function bodyOf(size: number): string {
  const head = 'Subject: big\r\n\r\n';
  let rest = size - head.length;
  let out = head;
  while (rest >= 78 + 3) {
    out += `${'x'.repeat(76)}\r\n`;
    rest -= 78;
  }
  return `${out}${'y'.repeat(rest - 2)}\r\n`;
}

function spanOf(steps: DialogueStep[]): [number, number] {
  return [sideBytes(steps, 'client'), sideBytes(steps, 'server')];
}

describe('segmentation offload: IPv4 total length 0', () => {
  it('reads a 64 KiB frame whose total length is 0 from the captured length', async () => {
    // 65536-byte frame: 14 Ethernet + 20 IP + 20 TCP + 65482 payload (message + ".\r\n").
    const message = bodyOf(65482 - 3);
    const steps = smtpSteps(message);
    const packets = tcpDialogue({ client: CLIENT, server: SERVER, steps, mss: 70_000 });
    const tso = Buffer.from(packets[BODY]);
    tso.writeUInt16BE(0, 2);
    packets[BODY] = tso;
    const f = frames(packets);
    assert.equal(f[BODY].data.length, 65536);
    const result = await analyseFrames(f);
    const [s] = result.sessions;
    assert.deepEqual(s.transactions.map(txView), [
      {
        mailFrom: 'a@c.test',
        rcptTo: [['b@mx.test', 250]],
        data: { method: 'DATA', size: 65479, sha256: sha256(message), reply: 250, gaps: [] },
        status: 'delivered',
      },
    ]);
    assert.deepEqual(anomalies(s), []);
    assert.deepEqual(warnings(result), []);
    const span = spanOf(steps);
    assertCounts(s, { bytes: span, duplicates: [0, 0], gaps: [0, 0] }, span);
  });

  it('a total-length-0 frame cut by the snaplen: the rest of it is a gap from the wire length', async () => {
    const body = bodyOf(65482);
    const steps = stepsWithBody(body);
    const packets = tcpDialogue({ client: CLIENT, server: SERVER, steps, mss: 70_000 });
    const tso = Buffer.from(packets[BODY]);
    tso.writeUInt16BE(0, 2);
    packets[BODY] = tso;
    // A 1514-byte snaplen keeps 1460 payload bytes of the 65482.
    const result = await analyseFrames(frames(packets, new Map([[BODY, 1514]])));
    const [s] = result.sessions;
    const seen = `${body.slice(0, 1460)}tail line\r\n`;
    assert.deepEqual(s.transactions.map(txView), [
      {
        mailFrom: 'a@c.test',
        rcptTo: [['b@mx.test', 250]],
        data: {
          method: 'DATA',
          size: seen.length,
          sha256: sha256(seen),
          reply: 250,
          gaps: [{ offset: 1460, length: 64022 }],
        },
        status: 'incomplete',
      },
    ]);
    assert.deepEqual(anomalies(s), [['gap-in-data', BODY + 1]]);
    assert.deepEqual(commandView(s).at(-1), ['QUIT', 221]);
    const span = spanOf(steps);
    assertCounts(s, { bytes: [span[0] - 64022, span[1]], duplicates: [0, 0], gaps: [64022, 0] }, span);
  });
});

describe('snaplen cuts', () => {
  it('a cut inside the payload: captured bytes kept, the rest a gap of the length the IP header gives', async () => {
    const body = bodyOf(1000);
    const steps = stepsWithBody(body);
    const packets = tcpDialogue({ client: CLIENT, server: SERVER, steps });
    // Snaplen 100: 14 + 20 + 20 headers and 46 payload bytes.
    const result = await analyseFrames(frames(packets, new Map([[BODY, 100]])));
    const [s] = result.sessions;
    const seen = `${body.slice(0, 46)}tail line\r\n`;
    assert.deepEqual(s.transactions[0].data?.gaps, [{ offset: 46, length: 954 }]);
    assert.equal(s.transactions[0].data?.sha256, sha256(seen));
    assert.equal(s.transactions[0].data?.size, seen.length);
    assert.equal(s.transactions[0].status, 'incomplete');
    assert.deepEqual(anomalies(s), [['gap-in-data', BODY + 1]]);
    assert.deepEqual(warnings(result), []);
    assert.deepEqual(commandView(s).at(-1), ['QUIT', 221]);
    const span = spanOf(steps);
    assertCounts(s, { bytes: [span[0] - 954, span[1]], duplicates: [0, 0], gaps: [954, 0] }, span);
  });

  it('a cut inside the TCP header (options): the segment is placed, its whole payload a gap', async () => {
    const body = bodyOf(500);
    const steps = stepsWithBody(body);
    const packets = tcpDialogue({ client: CLIENT, server: SERVER, steps });
    // NOP, NOP, timestamps: a 32-byte TCP header, of which a 64-byte snaplen keeps 30.
    const tcpOptions = Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    packets[BODY] = rewrite(packets[BODY], { tcpOptions });
    const result = await analyseFrames(frames(packets, new Map([[BODY, 64]])));
    const [s] = result.sessions;
    const seen = 'tail line\r\n';
    assert.deepEqual(s.transactions[0].data?.gaps, [{ offset: 0, length: 500 }]);
    assert.equal(s.transactions[0].data?.sha256, sha256(seen));
    assert.equal(s.transactions[0].status, 'incomplete');
    // The gap is known at the cut packet itself, not only when the server's ACK passes it.
    assert.deepEqual(anomalies(s), [['gap-in-data', BODY + 1]]);
    assert.deepEqual(warnings(result), []);
    const span = spanOf(steps);
    assertCounts(s, { bytes: [span[0] - 500, span[1]], duplicates: [0, 0], gaps: [500, 0] }, span);
  });

  it('IPv6: a cut payload is a gap of the length the payload length field gives', async () => {
    const body = bodyOf(800);
    const steps = stepsWithBody(body);
    const packets = tcpDialogue({ client: CLIENT6, server: SERVER6, steps });
    // 14 + 40 + 20 headers, 26 payload bytes.
    const result = await analyseFrames(frames(packets, new Map([[BODY, 100]])));
    const [s] = result.sessions;
    const seen = `${body.slice(0, 26)}tail line\r\n`;
    assert.deepEqual(s.transactions[0].data?.gaps, [{ offset: 26, length: 774 }]);
    assert.equal(s.transactions[0].data?.sha256, sha256(seen));
    const span = spanOf(steps);
    assertCounts(s, { bytes: [span[0] - 774, span[1]], duplicates: [0, 0], gaps: [774, 0] }, span);
  });
});
