/**
 * TCP sequence handling through the whole pipeline (issue #3): conflicting retransmissions and
 * partial overlaps on either side, keep-alive probes, sequence numbers across 2^32 in both
 * directions, FIN or RST written before the last data, late segments after the peer spoke.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpTcp, splitSegment } from '../helpers/frames.js';
import {
  analysePackets,
  anomalies,
  assertCounts,
  cleanCounts,
  commandView,
  deliveredView,
  dialogue,
  MESSAGE,
  onlySession,
  P,
  rewrite,
  txView,
} from './fidelity.js';

const MSG = P.message - 1;
/** Client bytes before the message: EHLO, MAIL, RCPT and DATA lines. */
const BEFORE_MESSAGE = 13 + 22 + 21 + 6;
const SEGMENT = Buffer.from(`${MESSAGE}.\r\n`);

/** The message segment's bytes [from, to) at their own sequence numbers, `patch` written at `at`. */
function messagePiece(
  packet: Buffer,
  from: number,
  to: number,
  patch?: { at: number; text: string },
): Buffer {
  const p = parseIpTcp(packet);
  const payload = Buffer.from(SEGMENT.subarray(from, to));
  if (patch) payload.write(patch.text, patch.at - from, 'latin1');
  return rewrite(packet, { seq: (p.seq + from) >>> 0, payload, flags: 'PA' });
}

describe('retransmissions and overlaps', () => {
  it('a retransmission of the same range with other bytes: the first copy is kept, overlap-conflict names both packets', async () => {
    const packets = dialogue();
    const changed = messagePiece(packets[MSG], 0, SEGMENT.length, { at: 21, text: 'LINE' });
    packets.splice(MSG + 1, 0, changed);
    const s = onlySession(await analysePackets(packets));
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(anomalies(s), [['overlap-conflict', P.message + 1]]);
    assert.equal(
      s.anomalies[0].detail,
      `client->server offset ${BEFORE_MESSAGE + 21}: 4 byte(s) of packet 14 differ from packet 13, which was kept`,
    );
    const { span } = cleanCounts();
    assertCounts(s, { bytes: span, duplicates: [SEGMENT.length, 0], gaps: [0, 0] }, span);
  });

  it('a partial overlap of delivered bytes (left side): conflict against the delivered packet', async () => {
    // The message in [0,20) and [20,56); a segment [10,30) with other bytes at 12-14 comes between.
    const packets = splitSegment(dialogue(), MSG, 20);
    const middle = messagePiece(packets[MSG], 10, 30, { at: 12, text: 'EL' });
    packets.splice(MSG + 1, 0, middle);
    const s = onlySession(await analysePackets(packets));
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(anomalies(s), [['overlap-conflict', P.message + 1]]);
    assert.equal(
      s.anomalies[0].detail,
      `client->server offset ${BEFORE_MESSAGE + 12}: 2 byte(s) of packet 14 differ from packet 13, which was kept`,
    );
    // [10,20) repeats the first segment, then [20,30) of the last one repeats the middle one.
    const { span } = cleanCounts();
    assertCounts(s, { bytes: span, duplicates: [20, 0], gaps: [0, 0] }, span);
  });

  it('a partial overlap of held bytes (right side): conflict against the held packet', async () => {
    // [20,56) arrives first and is held; [10,30) with other bytes at 25-27 overlaps its start.
    const split = splitSegment(dialogue(), MSG, 20);
    const [first, second] = [split[MSG], split[MSG + 1]];
    const middle = messagePiece(first, 10, 30, { at: 25, text: '_O' });
    const packets = [...split.slice(0, MSG), second, middle, first, ...split.slice(MSG + 2)];
    const s = onlySession(await analysePackets(packets));
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(anomalies(s), [['overlap-conflict', P.message + 1]]);
    assert.equal(
      s.anomalies[0].detail,
      `client->server offset ${BEFORE_MESSAGE + 25}: 2 byte(s) of packet 14 differ from packet 13, which was kept`,
    );
    const { span } = cleanCounts();
    assertCounts(s, { bytes: span, duplicates: [20, 0], gaps: [0, 0] }, span);
  });
});

describe('keep-alive probes', () => {
  it('one byte at next-1 (0x00 or any value) and bare probes are never inserted', async () => {
    const packets = splitSegment(dialogue(), MSG, 20);
    const second = parseIpTcp(packets[MSG + 1]);
    const greeting = parseIpTcp(packets[P.greeting - 1]);
    const probe = (packet: Buffer, seq: number, payload: Buffer): Buffer =>
      rewrite(packet, { seq: (seq - 1) >>> 0, payload, flags: 'A' });
    // Inside DATA: a 0x00 probe between the halves of the message; the server probes with 'x'
    // after its greeting, and both sides send a bare probe.
    packets.splice(
      MSG + 1,
      0,
      probe(packets[MSG + 1], second.seq, Buffer.from([0])),
      probe(packets[MSG + 1], second.seq, Buffer.alloc(0)),
    );
    packets.splice(
      P.greeting,
      0,
      probe(packets[P.greeting - 1], (greeting.seq + greeting.payload.length) >>> 0, Buffer.from('x')),
      probe(packets[P.greeting - 1], (greeting.seq + greeting.payload.length) >>> 0, Buffer.alloc(0)),
    );
    const s = onlySession(await analysePackets(packets));
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(anomalies(s), []);
    const { counts, span } = cleanCounts();
    assertCounts(s, counts, span);
  });

  it('a midstream capture that opens on a keep-alive after the peer ACKed: the probe byte is not data', async () => {
    const packets = dialogue();
    const mail = parseIpTcp(packets[P.mail - 1]);
    // The capture starts at the EHLO reply (which ACKs the client up to MAIL); then a 0x00 probe.
    const probe = rewrite(packets[P.mail - 1], {
      seq: (mail.seq - 1) >>> 0,
      payload: Buffer.from([0]),
      flags: 'A',
    });
    const capture = [packets[P.ehloReply - 1], probe, ...packets.slice(P.mail - 1)];
    const s = onlySession(await analysePackets(capture));
    assert.deepEqual(commandView(s), [
      ['MAIL', 250],
      ['RCPT', 250],
      ['DATA', 354],
      ['QUIT', 221],
    ]);
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.equal(s.bytes.client, 22 + 21 + 6 + SEGMENT.length + 6);
    assert.deepEqual([s.duplicates.client, s.gaps.client], [0, 0]);
  });
});

describe('sequence numbers across 2^32', () => {
  it('reordering, retransmission and a conflict across the wrap, in both directions', async () => {
    // Client data starts at 2^32 - 82: the wrap falls 20 bytes into the message. Server data
    // starts at 2^32 - 29: the wrap falls 10 bytes into the EHLO reply.
    let packets = dialogue({ clientIsn: 2 ** 32 - 83, serverIsn: 2 ** 32 - 30 });
    const reply = P.ehloReply - 1;
    packets = splitSegment(splitSegment(packets, reply, 5), reply + 1, 15);
    // Server pieces [0,5) [5,20) [20,29): arrive last-first, then the middle one again.
    packets = [
      ...packets.slice(0, reply),
      packets[reply + 2],
      packets[reply + 1],
      packets[reply],
      Buffer.from(packets[reply + 1]),
      ...packets.slice(reply + 3),
    ];
    const msg = MSG + 3;
    const whole = packets[msg];
    assert.equal(parseIpTcp(whole).seq, 2 ** 32 - 20);
    // Client pieces [0,10) [10,40) [40,59): the last first, the middle one, a conflicting copy of
    // the middle one (bytes 30-32 past the wrap differ), then the first.
    const pieces = [
      messagePiece(whole, 0, 10),
      messagePiece(whole, 10, 40),
      messagePiece(whole, 40, SEGMENT.length),
    ];
    const conflicting = messagePiece(whole, 10, 40, { at: 30, text: '##' });
    packets.splice(msg, 1, pieces[2], pieces[1], conflicting, pieces[0]);
    const s = onlySession(await analysePackets(packets));
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(commandView(s), [
      ['EHLO', 250],
      ['MAIL', 250],
      ['RCPT', 250],
      ['DATA', 354],
      ['QUIT', 221],
    ]);
    // The conflicting copy is packet 18 (3 more packets before it); the kept one is 17.
    assert.deepEqual(anomalies(s), [['overlap-conflict', 18]]);
    assert.equal(
      s.anomalies[0].detail,
      `client->server offset ${BEFORE_MESSAGE + 30}: 2 byte(s) of packet 18 differ from packet 17, which was kept`,
    );
    const { span } = cleanCounts();
    assertCounts(s, { bytes: span, duplicates: [30, 15], gaps: [0, 0] }, span);
  });
});

describe('FIN or RST written before the last data', () => {
  it('a FIN before the message and QUIT: the direction closes only once they arrived', async () => {
    const packets = dialogue();
    const fin = packets[P.clientFin - 1];
    const capture = [
      ...packets.slice(0, MSG),
      fin,
      ...packets.slice(MSG, P.clientFin - 1),
      ...packets.slice(P.clientFin),
    ];
    const s = onlySession(await analysePackets(capture));
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(anomalies(s), []);
    assert.equal(s.state, 'complete');
    assert.deepEqual(commandView(s).at(-1), ['QUIT', 221]);
    const { counts, span } = cleanCounts();
    assertCounts(s, counts, span);
  });

  it('an RST before the message and QUIT: they are still placed, then the RST closes', async () => {
    const packets = dialogue({ close: 'rst' });
    const rst = packets[packets.length - 1];
    assert.equal(parseIpTcp(rst).flags & 0x04, 0x04);
    const capture = [...packets.slice(0, MSG), rst, ...packets.slice(MSG, -1)];
    const s = onlySession(await analysePackets(capture));
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(anomalies(s), []);
    assert.equal(s.state, 'reset');
    // The session ends at the server's 221 (the last packet), when the client's bytes are all in.
    assert.equal(s.end, '2023-11-14T22:13:20.016000Z');
    assert.deepEqual(commandView(s).at(-1), ['QUIT', 221]);
    const { counts, span } = cleanCounts();
    assertCounts(s, counts, span);
  });
});

describe('late segments', () => {
  it('a segment that arrives after the peer spoke (its ACK short of the hole) is still placed', async () => {
    // Pipelined MAIL, RCPT and DATA (all sent before any reply, so with the same ACK); RCPT is
    // written after DATA and after the server's reply to MAIL, whose ACK covers MAIL only.
    const packets = dialogue();
    const mail = parseIpTcp(packets[P.mail - 1]);
    const rcpt = parseIpTcp(packets[P.rcpt - 1]);
    const mailReply = rewrite(packets[P.mailReply - 1], { ack: rcpt.seq });
    const rcptReply = rewrite(packets[P.rcptReply - 1], { ack: parseIpTcp(packets[P.data - 1]).seq });
    const capture = [
      ...packets.slice(0, P.mail),
      rewrite(packets[P.data - 1], { ack: mail.ack }),
      mailReply,
      rewrite(packets[P.rcpt - 1], { ack: mail.ack }),
      rcptReply,
      packets[P.dataReply - 1],
      ...packets.slice(P.dataReply),
    ];
    const s = onlySession(await analysePackets(capture));
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(commandView(s), [
      ['EHLO', 250],
      ['MAIL', 250],
      ['RCPT', 250],
      ['DATA', 354],
      ['QUIT', 221],
    ]);
    assert.deepEqual(anomalies(s), []);
    const { counts, span } = cleanCounts();
    assertCounts(s, counts, span);
  });
});
