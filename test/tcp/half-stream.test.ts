import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Direction } from '../../src/tcp/stream.js';
import { ACK, FIN, RST, SYN, setup, Talk } from '../helpers/segments.js';

const C = Direction.ClientToServer;
const S = Direction.ServerToClient;

/** Three-way handshake: client data starts at cIsn+1, server data at sIsn+1. */
function handshake(talk: Talk, cIsn = 1000, sIsn = 5000): void {
  talk.c(cIsn, '', { flags: SYN });
  talk.s(sIsn, '', { flags: SYN | ACK, ack: cIsn + 1 });
  talk.c(cIsn + 1, '', { ack: sIsn + 1 });
}

describe('in order', () => {
  test('a whole session: bytes, interleaving, close on the second FIN, tombstone', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    const p4 = talk.s(5001, '220 hi\r\n', { ack: 1001 });
    const p5 = talk.c(1001, 'EHLO x\r\n', { ack: 5009 });
    const p6 = talk.s(5009, '250 ok\r\n', { ack: 1009 });
    talk.c(1009, '', { flags: FIN | ACK, ack: 5017 });
    const p8 = talk.s(5017, '', { flags: FIN | ACK, ack: 1010 });
    talk.c(1010, '', { ack: 5018 }); // last ACK after close: no phantom connection
    r.finish();
    const c = rec.only;
    assert.deepEqual(c.info.client, { ip: '10.0.0.1', port: 40000 });
    assert.deepEqual(c.info.server, { ip: '10.0.0.2', port: 25 });
    assert.equal(c.info.roleSource, 'syn');
    assert.equal(c.info.sawSyn, true);
    assert.equal(c.info.first.packet, 1);
    assert.deepEqual(
      c.events.filter((e) => e.kind === 'data').map((e) => [e.dir, e.text, e.packet]),
      [
        [S, '220 hi\r\n', p4],
        [C, 'EHLO x\r\n', p5],
        [S, '250 ok\r\n', p6],
      ],
    );
    assert.equal(c.closed?.packet, p8);
    c.assertClosed('fin', [8, 16]);
    assert.deepEqual(
      c.closed?.counts.map((x) => x.packets),
      [4, 4],
    );
    assert.deepEqual(c.anomalies(), []);
  });

  test('data on the SYN (TFO) is delivered', () => {
    const { r, rec, talk } = setup();
    talk.c(1000, 'EHLO', { flags: SYN });
    talk.s(5000, '', { flags: SYN | ACK, ack: 1005 });
    talk.c(1005, ' x\r\n', { ack: 5001 });
    r.finish();
    assert.equal(rec.only.stream(C), 'EHLO x\r\n');
    rec.only.assertClosed('end-of-capture', [8, 0]);
  });
});

describe('out of order', () => {
  const parts = [
    [0, 'abc'],
    [3, 'defg'],
    [7, 'hi'],
  ] as const;
  const orders = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  for (const order of orders) {
    test(`three segments in order ${order.join('')}`, () => {
      const { r, rec, talk } = setup();
      handshake(talk);
      const packetOf = new Map<number, number>();
      for (const i of order) packetOf.set(i, talk.c(1001 + parts[i][0], parts[i][1], { ack: 5001 }));
      const c = rec.only;
      // Everything is delivered as soon as the last hole fills, each piece with its own packet.
      assert.equal(c.stream(C), 'abcdefghi');
      assert.deepEqual(
        c.events.filter((e) => e.kind === 'data').map((e) => e.packet),
        [0, 1, 2].map((i) => packetOf.get(i)),
      );
      r.finish();
      c.assertClosed('end-of-capture', [9, 0]);
      assert.deepEqual(c.anomalies(), []);
    });
  }
});

describe('retransmissions and overlaps', () => {
  test('same bytes again are dropped and counted', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1001, 'abc', { ack: 5001 });
    talk.c(1001, 'abc', { ack: 5001 });
    talk.c(1004, 'def', { ack: 5001 });
    talk.c(1004, 'def', { ack: 5001 });
    r.finish();
    assert.equal(rec.only.stream(C), 'abcdef');
    assert.deepEqual(rec.only.anomalies(), []);
    rec.only.assertClosed('end-of-capture', [6, 0], [6, 0]);
  });

  test('different bytes over delivered data: overlap-conflict naming both packets, first copy wins', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    const first = talk.c(1001, 'abcd', { ack: 5001 });
    const second = talk.c(1001, 'abXd', { ack: 5001 });
    r.finish();
    const c = rec.only;
    assert.equal(c.stream(C), 'abcd');
    const a = c.anomalies();
    assert.equal(a.length, 1);
    assert.equal(a[0].code, 'overlap-conflict');
    assert.equal(a[0].packet, second);
    assert.match(
      a[0].detail,
      new RegExp(`offset 2: 1 byte\\(s\\) of packet ${second} differ from packet ${first}`),
    );
    c.assertClosed('end-of-capture', [4, 0], [4, 0]);
  });

  test('a conflict names the packet that delivered the byte, as the records and the ring grow and wrap', () => {
    // 100 packets of 10 bytes: the records grow from 4 to 64 and wrap, the ring grows past 256.
    for (const target of [2, 40, 70, 99]) {
      const { r, rec, talk } = setup();
      handshake(talk);
      const packets: number[] = [];
      for (let i = 0; i < 100; i++)
        packets.push(talk.c(1001 + i * 10, `${String(i).padStart(2, '0')}-abcdef\n`, { ack: 5001 }));
      const late = talk.c(1001 + target * 10 + 3, 'XYZ', { ack: 5001 });
      r.finish();
      const a = rec.only.anomalies();
      if (target < 100 - 64) {
        // Delivered before the 64 remembered packets: not compared, since it could not be named.
        assert.deepEqual(a, [], `target ${target}`);
        continue;
      }
      assert.equal(a.length, 1, `target ${target}`);
      assert.equal(a[0].code, 'overlap-conflict');
      assert.match(
        a[0].detail,
        new RegExp(`3 byte\\(s\\) of packet ${late} differ from packet ${packets[target]},`),
      );
    }
  });

  test('different bytes over held data: the held copy wins', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    const held = talk.c(1004, 'def', { ack: 5001 });
    const late = talk.c(1004, 'dEf', { ack: 5001 });
    talk.c(1001, 'abc', { ack: 5001 });
    r.finish();
    const c = rec.only;
    assert.equal(c.stream(C), 'abcdef');
    assert.deepEqual(
      c.anomalies().map((a) => [a.code, a.packet, a.detail.includes(`packet ${held}`)]),
      [['overlap-conflict', late, true]],
    );
    c.assertClosed('end-of-capture', [6, 0], [3, 0]);
  });

  test('a segment overlapping delivered data on its left and held data on its right', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    const p1 = talk.c(1001, 'abc', { ack: 5001 });
    const p2 = talk.c(1007, 'ghij', { ack: 5001 });
    const p3 = talk.c(1003, 'cdefgh', { ack: 5001 });
    r.finish();
    const c = rec.only;
    assert.equal(c.stream(C), 'abcdefghij');
    assert.deepEqual(
      c.events.filter((e) => e.kind === 'data').map((e) => (e.kind === 'data' ? [e.text, e.packet] : [])),
      [
        ['abc', p1],
        ['def', p3],
        ['ghij', p2],
      ],
    );
    assert.deepEqual(c.anomalies(), []);
    c.assertClosed('end-of-capture', [10, 0], [3, 0]);
  });

  test('conflicting partial overlaps on both sides give one anomaly each', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    const p1 = talk.c(1001, 'abc', { ack: 5001 });
    const p2 = talk.c(1007, 'ghij', { ack: 5001 });
    const p3 = talk.c(1003, 'XdefgY', { ack: 5001 });
    r.finish();
    const c = rec.only;
    assert.equal(c.stream(C), 'abcdefghij');
    const a = c.anomalies();
    assert.deepEqual(
      a.map((x) => x.code),
      ['overlap-conflict', 'overlap-conflict'],
    );
    assert.ok(a.every((x) => x.packet === p3));
    assert.match(a[0].detail, new RegExp(`offset 2: .* packet ${p3} differ from packet ${p1}`));
    assert.match(a[1].detail, new RegExp(`offset 7: .* packet ${p3} differ from packet ${p2}`));
    c.assertClosed('end-of-capture', [10, 0], [3, 0]);
  });

  test('a segment bridging two held segments fills only the holes', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1003, 'cd', { ack: 5001 });
    talk.c(1007, 'gh', { ack: 5001 });
    talk.c(1002, 'bcdefghi', { ack: 5001 });
    talk.c(1001, 'a', { ack: 5001 });
    r.finish();
    assert.equal(rec.only.stream(C), 'abcdefghi');
    rec.only.assertClosed('end-of-capture', [9, 0], [4, 0]);
  });
});

describe('keep-alives', () => {
  test('a 0x00 byte at next-1 and an empty probe are ignored', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1001, 'hello', { ack: 5001 });
    talk.c(1005, '\x00', { ack: 5001 });
    talk.c(1005, '', { ack: 5001 });
    talk.c(1006, ' world', { ack: 5001 });
    r.finish();
    assert.equal(rec.only.stream(C), 'hello world');
    assert.deepEqual(rec.only.anomalies(), []);
    rec.only.assertClosed('end-of-capture', [11, 0], [0, 0]);
  });
});

describe('sequence wrap', () => {
  test('ISNs near 2^32, reordered across the wrap in both directions', () => {
    const { r, rec, talk } = setup();
    const cIsn = 0xfffffffa;
    const sIsn = 0xfffffffe;
    handshake(talk, cIsn, sIsn);
    // Client data starts at 0xfffffffb: "0123" | "4567" (wraps inside) | "89".
    talk.c(0xfffffffb + 8, '89', { ack: 0xffffffff });
    talk.c(0xfffffffb + 4, '4567', { ack: 0xffffffff });
    talk.c(0xfffffffb, '0123', { ack: 0xffffffff });
    // Server data starts at 0xffffffff: "A" | "BCD" (all past the wrap), reordered.
    talk.s(0, 'BCD', { ack: 0xfffffffb + 10 });
    talk.s(0xffffffff, 'A', { ack: 0xfffffffb + 10 });
    talk.c(0xfffffffb + 10, '', { flags: FIN | ACK, ack: 3 });
    talk.s(3, '', { flags: FIN | ACK, ack: 0xfffffffb + 11 });
    r.finish();
    const c = rec.only;
    assert.equal(c.stream(C), '0123456789');
    assert.equal(c.stream(S), 'ABCD');
    assert.deepEqual(c.anomalies(), []);
    c.assertClosed('fin', [10, 4]);
  });
});

describe('FIN', () => {
  test('a FIN captured before the last data does not end the direction early', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1001, 'abc', { ack: 5001 });
    talk.c(1007, '', { flags: FIN | ACK, ack: 5001 });
    talk.s(5001, '', { flags: FIN | ACK, ack: 1004 });
    assert.equal(rec.only.closed, null);
    const last = talk.c(1004, 'def', { ack: 5002 });
    const c = rec.only;
    assert.equal(c.stream(C), 'abcdef');
    assert.equal(c.closed?.packet, last);
    c.assertClosed('fin', [6, 0]);
    r.finish();
  });

  test('an ACK of the FIN proves the missing bytes before it lost', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1001, 'abc', { ack: 5001 });
    talk.c(1007, '', { flags: FIN | ACK, ack: 5001 });
    const ackPacket = talk.s(5001, '', { flags: FIN | ACK, ack: 1008 });
    const c = rec.only;
    assert.equal(c.stream(C), 'abc<gap 3>');
    assert.deepEqual(
      c.events.filter((e) => e.kind === 'gap').map((e) => e.packet),
      [ackPacket],
    );
    c.assertClosed('fin', [6, 0]);
    r.finish();
  });

  test('a held FIN and a hole are flushed at end of capture up to the FIN', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1001, 'abc', { ack: 5001 });
    talk.c(1007, 'gh', { flags: FIN | ACK, ack: 5001 });
    r.finish();
    assert.equal(rec.only.stream(C), 'abc<gap 3>gh');
    rec.only.assertClosed('end-of-capture', [8, 0]);
  });

  test('RST while the peer waits on a hole: a late segment still fills it, then the RST closes', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1001, 'abc', { ack: 5001 });
    const held = talk.c(1007, 'gh', { ack: 5001 });
    talk.s(5001, '', { flags: RST | ACK, ack: 1004 });
    assert.equal(rec.only.closed, null);
    const c = rec.only;
    const late = talk.c(1004, 'def', { ack: 5001 });
    r.finish();
    assert.deepEqual(
      c.events.filter((e) => e.kind !== 'anomaly').map((e) => [e.kind, e.packet]),
      [
        ['data', 4],
        ['data', late],
        ['data', held],
        ['close', late],
      ],
    );
    assert.equal(c.stream(Direction.ClientToServer), 'abcdefgh');
    c.assertClosed('rst', [8, 0]);
  });

  test('after an RST the connection lingers 2 capture seconds for late data, then closes', () => {
    const { r, rec, talk, feeder } = setup();
    handshake(talk);
    talk.c(1001, 'QUIT\r\n', { ack: 5001 });
    const rst = talk.c(1007, '', { flags: RST | ACK, ack: 5001 });
    // The server's reply, written after the RST that answered it.
    const late = talk.s(5001, '221 bye\r\n', { ack: 1007, tsSec: 1001 });
    assert.ok(late > rst);
    const c = rec.only;
    assert.equal(c.stream(Direction.ServerToClient), '221 bye\r\n');
    const other = new Talk(feeder, '10.0.0.9:40001', '10.0.0.2:25');
    other.c(1, 'x', { tsSec: 1003 });
    assert.equal(rec.conns[0].closed, null, 'within 2 s of its last packet');
    other.c(2, 'y', { tsSec: 1004 });
    c.assertClosed('rst', [6, 9]);
    assert.equal(c.closed?.packet, late);
    r.finish();
  });

  test('RST while the peer waits on a hole that never fills: gap at the end of the capture', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1001, 'abc', { ack: 5001 });
    const held = talk.c(1007, 'gh', { ack: 5001 });
    const rst = talk.s(5001, '', { flags: RST | ACK, ack: 1004 });
    r.finish();
    const c = rec.only;
    assert.deepEqual(
      c.events.filter((e) => e.kind !== 'anomaly').map((e) => [e.kind, e.packet]),
      [
        ['data', 4],
        ['gap', rst],
        ['data', held],
        ['close', rst],
      ],
    );
    c.assertClosed('rst', [8, 0]);
  });

  test("RST written before the sender's last data: the data is placed, then the RST closes", () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1001, 'abc', { ack: 5001 });
    talk.c(1007, '', { flags: RST | ACK, ack: 5001 });
    assert.equal(rec.only.closed, null);
    const c = rec.only;
    const last = talk.c(1004, 'def', { ack: 5001 });
    assert.equal(c.stream(Direction.ClientToServer), 'abcdef');
    r.finish();
    assert.equal(c.closed?.packet, last);
    c.assertClosed('rst', [6, 0]);
  });
});

describe('gaps', () => {
  test('a missing segment then an ACK beyond it: gap at the ACK, then the held data', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1001, 'abc', { ack: 5001 });
    const held = talk.c(1007, 'ghi', { ack: 5001 });
    assert.equal(rec.only.stream(C), 'abc');
    const ackPkt = talk.s(5001, '', { ack: 1007 });
    const c = rec.only;
    assert.equal(c.stream(C), 'abc<gap 3>ghi');
    assert.deepEqual(
      c.events.filter((e) => e.kind !== 'data' || e.dir === C).map((e) => [e.kind, e.packet]),
      [
        ['data', 4],
        ['gap', ackPkt],
        ['data', held],
      ],
    );
    r.finish();
    c.assertClosed('end-of-capture', [9, 0]);
  });

  test('a lost command is a gap before the reply that the same packet carries', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.s(5001, '220 hi\r\n', { ack: 1001 });
    // client "HELO x\r\n" (8 bytes) not captured; the server acknowledges it and answers.
    talk.s(5009, '250 hi\r\n', { ack: 1009 });
    talk.c(1009, 'QUIT\r\n', { ack: 5017 });
    r.finish();
    const c = rec.only;
    assert.deepEqual(
      c.events.filter((e) => e.kind === 'data' || e.kind === 'gap').map((e) => [e.kind, e.dir, e.packet]),
      [
        ['data', S, 4],
        ['gap', C, 5],
        ['data', S, 5],
        ['data', C, 6],
      ],
    );
    assert.equal(c.stream(C), '<gap 8>QUIT\r\n');
    c.assertClosed('end-of-capture', [14, 16]);
  });

  test('a late segment after the peer spoke is still placed when no ACK proved it lost', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    talk.c(1004, 'def', { ack: 5001 });
    talk.s(5001, 'ok', { ack: 1001 });
    talk.c(1001, 'abc', { ack: 5003 });
    r.finish();
    assert.equal(rec.only.stream(C), 'abcdef');
    rec.only.assertClosed('end-of-capture', [6, 2]);
  });

  test('a missing segment at end of capture: gap then the held data', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    const p4 = talk.c(1001, 'abc', { ack: 5001 });
    const p5 = talk.c(1007, 'ghi', { ack: 5001 });
    r.finish();
    const c = rec.only;
    assert.deepEqual(
      c.events.map((e) => [e.kind, e.packet]),
      [
        ['data', p4],
        ['gap', p5],
        ['data', p5],
        ['close', p5],
      ],
    );
    assert.equal(c.stream(C), 'abc<gap 3>ghi');
    c.assertClosed('end-of-capture', [9, 0]);
  });

  test('payload cut by the snaplen is a gap of its length at its place', () => {
    const { r, rec, talk } = setup();
    handshake(talk);
    const cut = talk.c(1001, 'abc', { ack: 5001, missing: 5 });
    talk.c(1009, 'ij', { ack: 5001 });
    // Out of order: a cut segment held, then the hole before it filled.
    talk.c(1016, 'pq', { ack: 5001, missing: 2 });
    talk.c(1011, 'klmno', { ack: 5001 });
    r.finish();
    const c = rec.only;
    assert.equal(c.stream(C), 'abc<gap 5>ijklmnopq<gap 2>');
    assert.deepEqual(
      c.events.filter((e) => e.kind === 'gap').map((e) => e.packet),
      [cut, 6],
    );
    c.assertClosed('end-of-capture', [19, 0]);
  });

  test('buffer cap: reassembly-cap anomaly and a gap past the first hole', () => {
    const { r, rec, talk } = setup({ maxBufferedBytesPerDirection: 10 });
    handshake(talk);
    talk.c(1001, 'ab', { ack: 5001 });
    talk.c(1005, 'efghij', { ack: 5001 });
    const over = talk.c(1013, 'mnopq', { ack: 5001 });
    const c = rec.only;
    assert.deepEqual(
      c.anomalies().map((a) => [a.code, a.packet]),
      [['reassembly-cap', over]],
    );
    assert.equal(c.stream(C), 'ab<gap 2>efghij');
    talk.c(1011, 'kl', { ack: 5001 });
    assert.equal(c.stream(C), 'ab<gap 2>efghijklmnopq');
    r.finish();
    c.assertClosed('end-of-capture', [17, 0]);
  });
});

describe('retained bytes for overlap checks', () => {
  function session(overlapCheckBytes: number) {
    const env = setup({ overlapCheckBytes });
    handshake(env.talk);
    const packets: number[] = [];
    for (let i = 0; i < 10; i++) {
      packets.push(env.talk.c(1001 + i * 1000, String.fromCharCode(97 + i).repeat(1000), { ack: 5001 }));
    }
    return { ...env, packets };
  }

  test('the ring grows as data is delivered and names the packet that carried the byte', () => {
    const { r, rec, talk, packets } = session(32 * 1024);
    const copy = `${'c'.repeat(500)}X${'c'.repeat(499)}`;
    const p = talk.c(1001 + 2000, copy, { ack: 5001 });
    r.finish();
    const a = rec.only.anomalies();
    assert.equal(a.length, 1);
    assert.equal(a[0].packet, p);
    assert.match(
      a[0].detail,
      new RegExp(`offset 2500: 1 byte\\(s\\) of packet ${p} differ from packet ${packets[2]},`),
    );
    rec.only.assertClosed('end-of-capture', [10000, 0], [1000, 0]);
  });

  test('only the last overlapCheckBytes (rounded down to a power of two) are compared', () => {
    const { r, rec, talk, packets } = session(1500); // 1024 bytes kept
    talk.c(1001 + 2000, 'X'.repeat(1000), { ack: 5001 }); // too old to compare
    assert.deepEqual(rec.only.anomalies(), []);
    const p = talk.c(1001 + 9500, 'Y'.repeat(500), { ack: 5001 });
    r.finish();
    assert.deepEqual(
      rec.only.anomalies().map((a) => [a.packet, a.detail.includes(`packet ${packets[9]},`)]),
      [[p, true]],
    );
    assert.equal(rec.only.stream(C).length, 10000);
  });

  test('overlapCheckBytes 0 turns the check off', () => {
    const { r, rec, talk } = session(0);
    talk.c(1001 + 9500, 'Y'.repeat(500), { ack: 5001 });
    r.finish();
    assert.deepEqual(rec.only.anomalies(), []);
    rec.only.assertClosed('end-of-capture', [10000, 0], [500, 0]);
  });

  test('all connections together: past their shared cap the direction that adds bytes forces its gap', () => {
    const { r, rec, feeder } = setup({ maxBufferedBytesPerDirection: 100, maxBufferedBytes: 12 });
    const a = new Talk(feeder, '10.0.0.1:40001', '10.0.0.2:25');
    const b = new Talk(feeder, '10.0.0.1:40002', '10.0.0.2:25');
    a.c(1, 'x');
    b.c(1, 'y');
    a.c(4, 'abcdefgh'); // 8 held, under both caps
    const over = b.c(4, 'ijklmn'); // 14 held in all: b's gap
    assert.deepEqual(rec.conns[0].anomalies(), []);
    assert.deepEqual(
      rec.conns[1].anomalies().map((x) => [x.code, x.packet, x.detail]),
      [['reassembly-cap', over, 'client->server: 14 bytes held out of order by all connections (cap 12)']],
    );
    assert.equal(rec.conns[1].stream(C), 'y<gap 2>ijklmn');
    a.c(2, 'ok');
    assert.equal(rec.conns[0].stream(C), 'xokabcdefgh');
    r.finish();
  });
});
