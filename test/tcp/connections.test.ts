import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatAddress } from '../../src/decode/address.js';
import { ConnectionTable } from '../../src/tcp/connection-table.js';
import { TcpReassembler } from '../../src/tcp/reassembler.js';
import { Direction } from '../../src/tcp/stream.js';
import { ACK, ep, Feeder, FIN, makeSegment, Recorder, SYN, setup, Talk } from '../helpers/segments.js';

const C = Direction.ClientToServer;
const S = Direction.ServerToClient;

describe('roles', () => {
  test('midstream, server speaks first: roles from the SMTP port', () => {
    const { r, rec, talk } = setup();
    talk.s(7000, '250 ok\r\n', { ack: 3000 });
    talk.c(3000, 'QUIT\r\n', { ack: 7008 });
    r.finish();
    const c = rec.only;
    assert.deepEqual(c.info.client, { ip: '10.0.0.1', port: 40000 });
    assert.deepEqual(c.info.server, { ip: '10.0.0.2', port: 25 });
    assert.equal(c.info.roleSource, 'port');
    assert.equal(c.info.sawSyn, false);
    assert.equal(c.stream(S), '250 ok\r\n');
    assert.equal(c.stream(C), 'QUIT\r\n');
    c.assertClosed('end-of-capture', [6, 8]);
  });

  test('a capture of one side only: the other has 0 packets', () => {
    const { r, rec, talk } = setup();
    talk.s(7000, '250 ok\r\n', { ack: 3000 });
    talk.s(7008, '221 bye\r\n', { ack: 3006 });
    r.finish();
    assert.deepEqual(
      rec.only.closed?.counts.map((x) => x.packets),
      [0, 2],
    );
  });

  test('both on server ports: the lower port is the server', () => {
    const { r, rec, feeder } = setup();
    const talk = new Talk(feeder, '10.0.0.1:587', '10.0.0.2:25');
    talk.c(1, 'x');
    r.finish();
    assert.equal(rec.only.info.server.port, 25);
    assert.equal(rec.only.info.roleSource, 'port');
  });

  test('no server port, the first payload is no reply: its sender is the client', () => {
    const { r, rec, feeder } = setup();
    const talk = new Talk(feeder, '10.0.0.9:6000', '10.0.0.3:5000');
    talk.c(1, 'x');
    talk.s(1, 'y');
    r.finish();
    const c = rec.only;
    assert.deepEqual(c.info.client, { ip: '10.0.0.9', port: 6000 });
    assert.equal(c.info.roleSource, 'content');
    assert.equal(c.stream(C), 'x');
    assert.equal(c.stream(S), 'y');
  });

  test('no server port, the first payload is a reply line: its sender is the server', () => {
    for (const reply of ['250 ok\r\n', '250-first\r\n', '354\r\n', '221']) {
      const { r, rec, feeder } = setup();
      const talk = new Talk(feeder, '10.0.0.9:6000', '10.0.0.3:5000');
      talk.c(1, reply);
      r.finish();
      assert.deepEqual(rec.only.info.server, { ip: '10.0.0.9', port: 6000 }, reply);
      assert.equal(rec.only.info.roleSource, 'content');
    }
    // Digits that do not make a reply code.
    const { r, rec, feeder } = setup();
    new Talk(feeder, '10.0.0.9:6000', '10.0.0.3:5000').c(1, '2500 bytes\r\n');
    r.finish();
    assert.deepEqual(rec.only.info.client, { ip: '10.0.0.9', port: 6000 });
  });

  test('nothing tells (a snaplen-cut first payload): the first packet goes to the server', () => {
    const { r, rec, feeder } = setup();
    const talk = new Talk(feeder, '10.0.0.9:6000', '10.0.0.3:5000');
    talk.c(1, '', { missing: 100 });
    r.finish();
    assert.deepEqual(rec.only.info.client, { ip: '10.0.0.9', port: 6000 });
    assert.equal(rec.only.info.roleSource, 'first-packet');
  });

  test('only the SYN-ACK seen: its sender is the server', () => {
    const { r, rec, feeder } = setup();
    // Ports that say the opposite, to show the handshake wins.
    const talk = new Talk(feeder, '10.0.0.1:25', '10.0.0.2:40000');
    talk.s(9000, '', { flags: SYN | ACK, ack: 101 });
    talk.s(9001, 'hello', { ack: 101 });
    talk.c(101, 'hi', { ack: 9006 });
    r.finish();
    const c = rec.only;
    assert.deepEqual(c.info.server, { ip: '10.0.0.2', port: 40000 });
    assert.equal(c.info.roleSource, 'syn-ack');
    assert.equal(c.info.sawSyn, false);
    assert.equal(c.stream(S), 'hello');
    assert.equal(c.stream(C), 'hi');
    c.assertClosed('end-of-capture', [2, 5]);
  });

  test('bare ACKs of an unknown connection open nothing; a declined one is asked once', () => {
    const { r, rec, talk } = setup();
    let asked = 0;
    rec.accept = () => {
      asked++;
      return false;
    };
    talk.c(1, '', { ack: 1 });
    talk.c(1, '', { flags: FIN | ACK, ack: 1 });
    assert.equal(asked, 0);
    talk.c(1, 'abc', { ack: 1 });
    talk.s(1, 'def', { ack: 4 });
    talk.c(4, 'ghi', { ack: 4 });
    r.finish();
    assert.equal(asked, 1);
    assert.equal(rec.declined.length, 1);
    assert.equal(rec.conns.length, 0);
  });

  test('isCandidate filters on ports first', () => {
    const rec = new Recorder();
    const seen: [number, number][] = [];
    const r = new TcpReassembler(rec, {
      isCandidate: (s, d) => {
        seen.push([s, d]);
        return s === 25 || d === 25;
      },
    });
    const feeder = new Feeder(r);
    new Talk(feeder, '10.0.0.1:40000', '10.0.0.2:80').c(1, 'GET /');
    new Talk(feeder, '10.0.0.1:40001', '10.0.0.2:25').c(1, 'EHLO');
    r.finish();
    assert.deepEqual(seen, [
      [40000, 80],
      [40001, 25],
    ]);
    assert.equal(rec.only.info.client.port, 40001);
  });

  test('IPv6: both directions map to one connection', () => {
    const { r, rec, feeder } = setup();
    const talk = new Talk(feeder, '2001:db8::1:40000', '2001:db8::2:25');
    talk.c(10, '', { flags: SYN });
    talk.s(20, '', { flags: SYN | ACK, ack: 11 });
    talk.c(11, 'EHLO', { ack: 21 });
    talk.s(21, '250', { ack: 15 });
    r.finish();
    const c = rec.only;
    const seg = makeSegment({ src: ep('2001:db8::1:1'), dst: ep('2001:db8::2:2'), seq: 0 });
    assert.equal(c.info.family, 6);
    assert.equal(c.info.client.ip, formatAddress(seg.ipBuffer, seg.srcAddrOffset, 6));
    assert.equal(c.stream(C), 'EHLO');
    assert.equal(c.stream(S), '250');
  });

  test('the key is canonical and ignores the VLAN tag', () => {
    const t = new ConnectionTable();
    const a = makeSegment({ src: ep('10.0.0.1:40000'), dst: ep('10.0.0.2:25'), seq: 0, vlan: 10 });
    const b = makeSegment({ src: ep('10.0.0.2:25'), dst: ep('10.0.0.1:40000'), seq: 0, vlan: 20 });
    const ka = t.keyOf(a);
    const aLow = t.srcIsLow;
    const kb = t.keyOf(b);
    assert.equal(ka, kb);
    assert.notEqual(aLow, t.srcIsLow);
    const c = makeSegment({ src: ep('10.0.0.1:40001'), dst: ep('10.0.0.2:25'), seq: 0 });
    assert.notEqual(t.keyOf(c), ka);
  });
});

describe('connection lifetime', () => {
  test('idle timeout closes a silent connection, flushing its hole, at its last packet', () => {
    const { r, rec, feeder } = setup({ idleTimeoutSec: 600 });
    const a = new Talk(feeder, '10.0.0.1:40000', '10.0.0.2:25');
    const b = new Talk(feeder, '10.0.0.1:40001', '10.0.0.2:25');
    a.c(1, 'abc');
    const aLast = a.c(7, 'ghi');
    feeder.tsSec = 1000 + 599;
    b.c(1, 'x');
    assert.equal(rec.conns[0].closed, null);
    feeder.tsSec = 1000 + 602;
    b.c(2, 'y');
    const ca = rec.conns[0];
    assert.equal(ca.stream(C), 'abc<gap 3>ghi');
    assert.equal(ca.closed?.packet, aLast);
    ca.assertClosed('idle', [9, 0]);
    assert.equal(rec.conns[1].closed, null);
    r.finish();
    rec.conns[1].assertClosed('end-of-capture', [2, 0]);
  });

  test('connection cap: the least recently active is evicted with connection-cap', () => {
    const { r, rec, feeder } = setup({ maxConnections: 2 });
    const t1 = new Talk(feeder, '10.0.0.1:40001', '10.0.0.2:25');
    const t2 = new Talk(feeder, '10.0.0.1:40002', '10.0.0.2:25');
    const t3 = new Talk(feeder, '10.0.0.1:40003', '10.0.0.2:25');
    t1.c(1, 'a');
    t2.c(1, 'b');
    t1.c(2, 'a'); // t1 is now the most recent: t2 goes
    const p = t3.c(1, 'c');
    assert.equal(rec.conns[1].stream(C), 'b');
    assert.deepEqual(
      rec.conns[1].anomalies().map((a) => [a.code, a.packet]),
      [['connection-cap', p]],
    );
    rec.conns[1].assertClosed('evicted', [1, 0]);
    assert.equal(rec.conns[0].closed, null);
    r.finish();
    rec.conns[0].assertClosed('end-of-capture', [2, 0]);
    rec.conns[2].assertClosed('end-of-capture', [1, 0]);
  });

  test('port reuse after a close starts a new connection; a retransmitted SYN does not', () => {
    const { r, rec, talk } = setup();
    talk.c(1000, '', { flags: SYN });
    talk.c(1000, '', { flags: SYN }); // retransmitted SYN
    talk.s(5000, '', { flags: SYN | ACK, ack: 1001 });
    talk.c(1001, 'one', { ack: 5001 });
    talk.c(1004, '', { flags: FIN | ACK, ack: 5001 });
    talk.s(5001, '', { flags: FIN | ACK, ack: 1005 });
    talk.c(1005, '', { ack: 5002 });
    assert.equal(rec.conns.length, 1);
    rec.conns[0].assertClosed('fin', [3, 0]);
    talk.c(1000, '', { flags: SYN }); // a late copy of the old SYN: still the old connection
    assert.equal(rec.conns.length, 1);
    talk.c(90000, '', { flags: SYN });
    talk.s(70000, '', { flags: SYN | ACK, ack: 90001 });
    talk.c(90001, 'two', { ack: 70001 });
    r.finish();
    assert.equal(rec.conns.length, 2);
    assert.equal(rec.conns[1].stream(C), 'two');
    rec.conns[1].assertClosed('end-of-capture', [3, 0]);
  });

  test('a new SYN on a closing connection closes it first (fin)', () => {
    const { r, rec, talk } = setup();
    talk.c(1000, '', { flags: SYN });
    talk.c(1001, 'one', { flags: FIN });
    talk.c(2000, '', { flags: SYN });
    rec.conns[0].assertClosed('fin', [3, 0]);
    assert.deepEqual(rec.conns[0].anomalies(), []);
    r.finish();
    assert.equal(rec.conns.length, 2);
  });

  test('a new SYN on an open connection: syn-on-open-connection, then a new one', () => {
    const { r, rec, talk } = setup();
    talk.c(1000, '', { flags: SYN });
    talk.c(1001, 'one');
    const syn = talk.c(2000, '', { flags: SYN });
    assert.deepEqual(
      rec.conns[0].anomalies().map((a) => [a.code, a.packet]),
      [['syn-on-open-connection', syn]],
    );
    rec.conns[0].assertClosed('evicted', [3, 0]);
    talk.c(2001, 'two');
    r.finish();
    assert.equal(rec.conns[1].stream(C), 'two');
  });
});

describe('interleaving', () => {
  test('calls follow capture order across directions, held data at the filling packet', () => {
    const { r, rec, talk } = setup();
    talk.c(100, '', { flags: SYN });
    talk.s(500, '', { flags: SYN | ACK, ack: 101 });
    const p3 = talk.s(501, '220 a\r\n', { ack: 101 });
    const p4 = talk.c(106, 'b\r\n', { ack: 508 }); // held: "HELO " is late
    const p5 = talk.s(508, '', { ack: 101 });
    const p6 = talk.c(101, 'HELO ', { ack: 508 });
    const p7 = talk.s(508, '250 b\r\n', { ack: 109 });
    r.finish();
    const c = rec.only;
    assert.deepEqual(
      c.events.map((e) => (e.kind === 'data' ? [e.dir, e.text, e.packet] : [e.kind, e.packet])),
      [
        [S, '220 a\r\n', p3],
        [C, 'HELO ', p6],
        [C, 'b\r\n', p4],
        [S, '250 b\r\n', p7],
        ['close', p7],
      ],
    );
    assert.equal(p5, 5);
    c.assertClosed('end-of-capture', [8, 14]);
  });

  test('a held payload is copied, not kept as a view of the capture chunk', () => {
    // Feeder scribbles over its chunk after every push; the held bytes must survive.
    const { r, rec, talk } = setup();
    talk.c(0, '', { flags: SYN });
    talk.c(11, 'world');
    talk.c(1, 'hello');
    talk.c(6, ' big ');
    r.finish();
    assert.equal(rec.only.stream(C), 'hello big world');
  });
});
