import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketDecoder } from '../../src/decode/packet-decoder.js';
import { newTcpSegment, TcpFlag } from '../../src/decode/tcp-segment.js';
import {
  addressBytes,
  drop,
  duplicate,
  ethernet,
  internetChecksum,
  ipv4Tcp,
  move,
  parseIpTcp,
  rawPacket,
  reorder,
  splitSegment,
  swap,
  tcpDialogue,
} from '../helpers/frames.js';

const client = { ip: '192.0.2.1', port: 50123 };
const server = { ip: '192.0.2.25', port: 25 };
const F = TcpFlag;

function summary(packets: Buffer[]): Array<[string, number, number, number, string]> {
  return packets.map((p) => {
    const t = parseIpTcp(p);
    return [t.sport === 25 ? 'S' : 'C', t.seq, t.ack, t.flags, t.payload.toString()];
  });
}

describe('frames helpers', () => {
  it('builds valid IPv4 and TCP checksums', () => {
    const ip = ipv4Tcp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 25, seq: 5, payload: 'odd' });
    assert.equal(internetChecksum(ip.subarray(0, 20)), 0);
    const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 6, 0, ip.length - 20])]);
    assert.equal(internetChecksum(pseudo, ip.subarray(20)), 0);
  });

  it('parses IPv6 text forms', () => {
    assert.equal(addressBytes('2001:db8::1').toString('hex'), '20010db8000000000000000000000001');
    assert.equal(addressBytes('::ffff:10.0.0.1').toString('hex'), '00000000000000000000ffff0a000001');
    assert.equal(addressBytes('::').toString('hex'), '0'.repeat(32));
    assert.equal(addressBytes('1:2:3:4:5:6:7:8').toString('hex'), '00010002000300040005000600070008');
  });

  it('scripts a dialogue with handshake, segmentation at mss and FIN close', () => {
    const packets = tcpDialogue({
      client,
      server,
      clientIsn: 100,
      serverIsn: 900,
      mss: 10,
      steps: [
        { from: 'server', data: '220 hello\r\n' },
        { from: 'client', data: 'EHLO x\r\n' },
      ],
    });
    assert.deepEqual(summary(packets), [
      ['C', 100, 0, F.SYN, ''],
      ['S', 900, 101, F.SYN | F.ACK, ''],
      ['C', 101, 901, F.ACK, ''],
      ['S', 901, 101, F.ACK, '220 hello\r'],
      ['S', 911, 101, F.PSH | F.ACK, '\n'],
      ['C', 101, 912, F.PSH | F.ACK, 'EHLO x\r\n'],
      ['C', 109, 912, F.FIN | F.ACK, ''],
      ['S', 912, 110, F.FIN | F.ACK, ''],
      ['C', 110, 913, F.ACK, ''],
    ]);
    const t = parseIpTcp(packets[0]);
    assert.deepEqual([t.src, t.dst, t.sport, t.dport], ['192.0.2.1', '192.0.2.25', 50123, 25]);
  });

  it('wraps sequence numbers modulo 2^32', () => {
    const packets = tcpDialogue({
      client: { ip: '2001:db8::1', port: 40000 },
      server: { ip: '2001:db8::2', port: 25 },
      clientIsn: 0xfffffffa,
      serverIsn: 0xffffffff,
      mss: 4,
      handshake: false,
      close: 'rst',
      steps: [
        { from: 'client', data: 'QUIT\r\n' },
        { from: 'server', data: '221 bye\r\n' },
      ],
    });
    assert.deepEqual(summary(packets), [
      ['C', 0xfffffffb, 0, F.ACK, 'QUIT'],
      ['C', 0xffffffff, 0, F.PSH | F.ACK, '\r\n'],
      ['S', 0, 1, F.ACK, '221 '],
      ['S', 4, 1, F.ACK, 'bye\r'],
      ['S', 8, 1, F.PSH | F.ACK, '\n'],
      ['C', 1, 9, F.RST | F.ACK, ''],
    ]);
    assert.equal(parseIpTcp(packets[0]).family, 6);
  });

  it('acks each step and closes from the server when asked', () => {
    const packets = tcpDialogue({
      client,
      server,
      clientIsn: 0,
      serverIsn: 0,
      handshake: false,
      ackEachStep: true,
      closeBy: 'server',
      steps: [{ from: 'server', data: '221 bye\r\n' }],
    });
    assert.deepEqual(summary(packets), [
      ['S', 1, 1, F.PSH | F.ACK, '221 bye\r\n'],
      ['C', 1, 10, F.ACK, ''],
      ['S', 10, 1, F.FIN | F.ACK, ''],
      ['C', 1, 11, F.FIN | F.ACK, ''],
      ['S', 11, 2, F.ACK, ''],
    ]);
  });

  it('transforms: reorder, move, swap, duplicate, drop, split', () => {
    const packets = tcpDialogue({
      client,
      server,
      clientIsn: 0xfffffff0,
      handshake: false,
      close: 'none',
      steps: [{ from: 'client', data: 'MAIL FROM:<a@example.org>\r\n' }],
      mss: 12,
    });
    assert.equal(packets.length, 3);
    const seqs = (list: Buffer[]): number[] => list.map((p) => parseIpTcp(p).seq);
    assert.deepEqual(seqs(packets), [0xfffffff1, 0xfffffffd, 9]);
    assert.deepEqual(seqs(reorder(packets, [2, 0, 1])), [9, 0xfffffff1, 0xfffffffd]);
    assert.deepEqual(seqs(move(packets, 0, 2)), [0xfffffffd, 9, 0xfffffff1]);
    assert.deepEqual(seqs(swap(packets, 0, 1)), [0xfffffffd, 0xfffffff1, 9]);
    const dup = duplicate(packets, 1);
    assert.deepEqual(seqs(dup), [0xfffffff1, 0xfffffffd, 0xfffffffd, 9]);
    assert.ok(dup[1].equals(dup[2]) && dup[1] !== dup[2]);
    assert.deepEqual(seqs(duplicate(packets, 0, 3)), [0xfffffff1, 0xfffffffd, 9, 0xfffffff1]);
    assert.deepEqual(seqs(drop(packets, 1)), [0xfffffff1, 9]);
    // Split the second segment ("@example.org" at 0xfffffffd) across the wrap.
    const split = splitSegment(packets, 1, 5);
    assert.deepEqual(summary(split).slice(1, 3), [
      ['C', 0xfffffffd, 2_000_001, F.ACK, '@exam'],
      ['C', 2, 2_000_001, F.ACK, 'ple.org'],
    ]);
    const joined = Buffer.concat(split.map((p) => parseIpTcp(p).payload)).toString();
    assert.equal(joined, 'MAIL FROM:<a@example.org>\r\n');
    assert.throws(() => splitSegment(packets, 1, 0), RangeError);
    assert.throws(() => reorder(packets, [3]), RangeError);
  });

  it('every packet of a dialogue decodes back to what was scripted', () => {
    const packets = tcpDialogue({
      client,
      server,
      steps: [
        { from: 'server', data: '220 mx ESMTP\r\n' },
        { from: 'client', data: 'EHLO me\r\n' },
        { from: 'server', data: '250 ok\r\n' },
      ],
    });
    const decoder = new PacketDecoder({
      onWarning: (w) => assert.fail(`unexpected warning ${w.code}`),
    });
    const out = newTcpSegment();
    let text = '';
    packets.forEach((p, i) => {
      assert.equal(decoder.decode(rawPacket(ethernet(p, { vlans: [3] }), 1, { index: i + 1 }), out), true);
      assert.equal(out.vlan, 3);
      text += out.payload.toString();
    });
    assert.equal(text, '220 mx ESMTP\r\nEHLO me\r\n250 ok\r\n');
  });
});
