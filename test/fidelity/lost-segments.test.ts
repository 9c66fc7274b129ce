/**
 * Segments the capture lost (issue #3): the stream moves past the hole when the peer ACKs beyond
 * it, at a FIN, at the idle timeout or at the end of the capture, and the SMTP layer gets a gap of
 * the exact length: inside DATA or BDAT the message keeps the hole (data.gaps) and parsing goes on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Frame } from '../helpers/capture-writer.js';
import { type DialogueStep, ethernet, parseIpTcp, splitSegment, tcpDialogue } from '../helpers/frames.js';
import {
  analyseFrames,
  analysePackets,
  anomalies,
  assertCounts,
  CLIENT,
  cleanCounts,
  commandView,
  dialogue,
  MESSAGE,
  onlySession,
  P,
  rewrite,
  SERVER,
  sha256,
  sideBytes,
  txView,
} from './fidelity.js';

const MSG = P.message - 1;
/** The message segment cut at 21 and 41: "...\r\n\r\n" | "line one\r\nline two\r\n" | "line three\r\n.\r\n". */
function threePieces(packets: Buffer[]): Buffer[] {
  return splitSegment(splitSegment(packets, MSG, 21), MSG + 1, 20);
}
const HOLE = { offset: 21, length: 20 };
const SEEN = MESSAGE.slice(0, 21) + MESSAGE.slice(41);

function holeView(reply: number | null) {
  return {
    mailFrom: 'a@c.test',
    rcptTo: [['b@mx.test', 250]],
    data: { method: 'DATA', size: SEEN.length, sha256: sha256(SEEN), reply, gaps: [HOLE] },
    status: 'incomplete',
  };
}

/** Ethernet frames at the given capture seconds (fractions allowed). */
function framesAt(packets: Buffer[], seconds: number[]): Frame[] {
  return packets.map((ip, i) => ({
    data: ethernet(ip),
    tsSec: 1_700_000_000 + Math.floor(seconds[i]),
    tsNsec: Math.round((seconds[i] % 1) * 1e9),
  }));
}

describe('a hole the stream moves past', () => {
  it('ACKed beyond by the reply to the message: gap in data.gaps, status incomplete, parsing goes on', async () => {
    const packets = threePieces(dialogue());
    const capture = [...packets.slice(0, MSG + 1), ...packets.slice(MSG + 2)];
    const s = onlySession(await analysePackets(capture));
    assert.deepEqual(s.transactions.map(txView), [holeView(250)]);
    // The queued reply (packet 15 of the capture) carries the ACK that proves the loss.
    assert.deepEqual(anomalies(s), [['gap-in-data', P.queued + 1]]);
    assert.deepEqual(commandView(s).slice(-2), [
      ['DATA', 354],
      ['QUIT', 221],
    ]);
    assert.equal(s.state, 'truncated');
    const { span } = cleanCounts();
    assertCounts(s, { bytes: [span[0] - 20, span[1]], duplicates: [0, 0], gaps: [20, 0] }, span);
  });

  it('ACKed beyond by a bare ACK that reaches held bytes: the gap comes at that ACK', async () => {
    const packets = threePieces(dialogue());
    const last = parseIpTcp(packets[MSG + 2]);
    const ack = rewrite(packets[MSG + 3], {
      payload: Buffer.alloc(0),
      ack: (last.seq + 15) >>> 0,
      flags: 'A',
    });
    const capture = [...packets.slice(0, MSG + 1), packets[MSG + 2], ack, ...packets.slice(MSG + 3)];
    const s = onlySession(await analysePackets(capture));
    assert.deepEqual(s.transactions.map(txView), [holeView(250)]);
    assert.deepEqual(anomalies(s), [['gap-in-data', MSG + 3]]);
    const { span } = cleanCounts();
    assertCounts(s, { bytes: [span[0] - 20, span[1]], duplicates: [0, 0], gaps: [20, 0] }, span);
  });

  it('a lost command: gap-in-commands, and the commands after it still parse', async () => {
    const packets = dialogue();
    const capture = [...packets.slice(0, P.rcpt - 1), ...packets.slice(P.rcpt)];
    const s = onlySession(await analysePackets(capture));
    assert.deepEqual(anomalies(s)[0], ['gap-in-commands', P.rcptReply - 1]);
    assert.deepEqual(commandView(s).slice(-2), [
      ['DATA', 354],
      ['QUIT', 221],
    ]);
    assert.equal(s.transactions[0].data?.sha256, sha256(MESSAGE));
    const { span } = cleanCounts();
    assertCounts(s, { bytes: [span[0] - 21, span[1]], duplicates: [0, 0], gaps: [21, 0] }, span);
  });

  it('a hole that ends between CR and LF inside DATA is not a bare LF', async () => {
    // The hole is "line one\r" (bytes 21-30): the bytes after it start with its LF.
    const packets = splitSegment(splitSegment(dialogue(), MSG, 21), MSG + 1, 9);
    const capture = [...packets.slice(0, MSG + 1), ...packets.slice(MSG + 2)];
    const s = onlySession(await analysePackets(capture));
    assert.deepEqual(s.transactions[0].data?.gaps, [{ offset: 21, length: 9 }]);
    assert.deepEqual(anomalies(s), [['gap-in-data', P.queued + 1]]);
  });

  it('the end of a BDAT chunk lost before the FIN: the FIN gives the length of the hole', async () => {
    const chunk = Buffer.from(MESSAGE);
    const steps: DialogueStep[] = [
      { from: 'server', data: '220 mx.test ESMTP\r\n' },
      { from: 'client', data: 'EHLO c.test\r\n' },
      { from: 'server', data: '250-mx.test\r\n250 CHUNKING\r\n' },
      { from: 'client', data: 'MAIL FROM:<a@c.test>\r\n' },
      { from: 'server', data: '250 2.1.0 Ok\r\n' },
      { from: 'client', data: 'RCPT TO:<b@mx.test>\r\n' },
      { from: 'server', data: '250 2.1.5 Ok\r\n' },
      { from: 'client', data: Buffer.concat([Buffer.from(`BDAT ${chunk.length} LAST\r\n`), chunk]) },
    ];
    let packets = tcpDialogue({ client: CLIENT, server: SERVER, steps, close: 'none' });
    const bdat = packets.length - 1;
    const sent = parseIpTcp(packets[bdat]);
    const fin = rewrite(packets[bdat], {
      seq: (sent.seq + sent.payload.length) >>> 0,
      payload: Buffer.alloc(0),
      flags: 'FA',
    });
    // "BDAT 53 LAST\r\n" and 30 chunk bytes arrive; the last 23 do not; then the client's FIN.
    packets = splitSegment(packets, bdat, 14 + 30);
    const capture = [...packets.slice(0, bdat + 1), fin];
    const s = onlySession(await analysePackets(capture));
    const seen = chunk.subarray(0, 30);
    assert.deepEqual(s.transactions.map(txView), [
      {
        mailFrom: 'a@c.test',
        rcptTo: [['b@mx.test', 250]],
        data: {
          method: 'BDAT',
          size: 30,
          sha256: sha256(seen),
          reply: null,
          gaps: [{ offset: 30, length: 23 }],
        },
        status: 'incomplete',
      },
    ]);
    // Declared when the capture ends, at the last packet (the FIN).
    assert.deepEqual(anomalies(s), [['gap-in-data', capture.length]]);
    const span: [number, number] = [sideBytes(steps, 'client'), sideBytes(steps, 'server')];
    assertCounts(s, { bytes: [span[0] - 23, span[1]], duplicates: [0, 0], gaps: [23, 0] }, span);
  });

  it('the idle timeout moves past the hole (600 s of capture time, another connection later)', async () => {
    const packets = threePieces(dialogue());
    // The capture holds the message with its hole and nothing after it; 700 s later another
    // connection starts.
    const first = [...packets.slice(0, MSG + 1), packets[MSG + 2]];
    const other = tcpDialogue({ client: { ip: '192.0.2.99', port: 40000 }, server: SERVER, steps: [] }).slice(
      0,
      1,
    );
    const seconds = [...first.map((_, i) => i / 1000), 700];
    const result = await analyseFrames(framesAt([...first, ...other], seconds));
    assert.equal(result.sessions.length, 2);
    const s = result.sessions[0];
    assert.deepEqual(s.transactions.map(txView), [holeView(null)]);
    assert.deepEqual(anomalies(s), [['gap-in-data', first.length]]);
    assert.equal(s.state, 'truncated');
    assert.equal(s.end, '2023-11-14T22:13:20.013000Z');
    const client = 13 + 22 + 21 + 6 + Buffer.byteLength(MESSAGE) + 3;
    const server = 19 + 29 + 14 + 14 + 14;
    assertCounts(s, { bytes: [client - 20, server], duplicates: [0, 0], gaps: [20, 0] }, [client, server]);
  });

  it('the end of the capture moves past the hole', async () => {
    const packets = threePieces(dialogue());
    const capture = [...packets.slice(0, MSG + 1), packets[MSG + 2]];
    const s = onlySession(await analysePackets(capture));
    assert.deepEqual(s.transactions.map(txView), [holeView(null)]);
    assert.deepEqual(anomalies(s), [['gap-in-data', capture.length]]);
    assert.equal(s.state, 'truncated');
  });
});
