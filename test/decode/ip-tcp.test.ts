import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddress } from '../../src/decode/address.js';
import { PacketDecoder } from '../../src/decode/packet-decoder.js';
import { type DecodeWarning, newTcpSegment, TcpFlag, type TcpSegment } from '../../src/decode/tcp-segment.js';
import { ethernet, ipv4Tcp, ipv6Packet, ipv6Tcp, rawPacket, sll } from '../helpers/frames.js';

const ETHERNET = 1;
const RAW = 101;

function decoder(): {
  decode: (
    data: Buffer,
    linkType: number,
    fields?: { index?: number; origLength?: number },
  ) => TcpSegment | null;
  warnings: DecodeWarning[];
} {
  const warnings: DecodeWarning[] = [];
  const d = new PacketDecoder({ onWarning: (w) => warnings.push(w) });
  const out = newTcpSegment();
  return {
    warnings,
    decode: (data, linkType, fields = {}) => (d.decode(rawPacket(data, linkType, fields), out) ? out : null),
  };
}

const base = { src: '10.1.1.1', dst: '10.2.2.2', sport: 1025, dport: 25, seq: 100, ack: 200, flags: 'PA' };

describe('IPv4', () => {
  it('skips header options (IHL > 5)', () => {
    const { decode, warnings } = decoder();
    // Record Route (7) with room for 2 addresses, then end of options.
    const options = Buffer.from([7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
    const ip = ipv4Tcp({ ...base, options, payload: 'MAIL FROM:<a@b>\r\n' });
    assert.equal(ip[0] & 0x0f, 8);
    const seg = decode(ethernet(ip), ETHERNET);
    assert.ok(seg);
    assert.equal(seg.payload.toString(), 'MAIL FROM:<a@b>\r\n');
    assert.equal(seg.srcPort, 1025);
    assert.equal(formatAddress(seg.ipBuffer, seg.dstAddrOffset, 4), '10.2.2.2');
    assert.deepEqual(warnings, []);
  });

  it('skips TCP options (data offset > 5)', () => {
    const { decode } = decoder();
    // MSS 1460, SACK permitted, timestamps, window scale.
    const tcpOptions = Buffer.from([2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);
    const seg = decode(ethernet(ipv4Tcp({ ...base, flags: 'S', tcpOptions, payload: '' })), ETHERNET);
    assert.ok(seg);
    assert.equal(seg.flags, TcpFlag.SYN);
    assert.equal(seg.payload.length, 0);
    const data = decode(ethernet(ipv4Tcp({ ...base, tcpOptions, payload: 'QUIT\r\n' })), ETHERNET);
    assert.equal(data?.payload.toString(), 'QUIT\r\n');
  });

  it('total length 0 (segmentation offload) uses the captured length', () => {
    const { decode, warnings } = decoder();
    const ip = ipv4Tcp({ ...base, totalLength: 0, payload: 'x'.repeat(3000) });
    const seg = decode(ethernet(ip), ETHERNET);
    assert.ok(seg);
    assert.equal(seg.payload.length, 3000);
    assert.equal(seg.missingPayload, 0);
    // With a snaplen cut, the wire length tells what is missing.
    const cut = ethernet(ip).subarray(0, 14 + 40 + 1000);
    const part = decode(cut, ETHERNET, { origLength: 14 + 40 + 3000 });
    assert.ok(part);
    assert.equal(part.payload.length, 1000);
    assert.equal(part.missingPayload, 2000);
    assert.deepEqual(warnings, []);
  });

  it('a snaplen cut keeps what was captured and counts the missing bytes', () => {
    const { decode, warnings } = decoder();
    const frame = ethernet(ipv4Tcp({ ...base, payload: '0123456789'.repeat(20) }));
    const seg = decode(frame.subarray(0, 14 + 40 + 64), ETHERNET, { index: 12, origLength: frame.length });
    assert.ok(seg);
    assert.equal(seg.packet, 12);
    assert.equal(seg.payload.toString(), '0123456789'.repeat(7).slice(0, 64));
    assert.equal(seg.missingPayload, 136);
    assert.deepEqual(warnings, []);
  });

  it('a snaplen inside the TCP header still places the segment: its payload is all missing', () => {
    const { decode, warnings } = decoder();
    // Timestamps option: a 32-byte TCP header; snaplen 64 keeps 30 of it.
    const tcpOptions = Buffer.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    const frame = ethernet(ipv4Tcp({ ...base, tcpOptions, payload: 'x'.repeat(100) }));
    const seg = decode(frame.subarray(0, 64), ETHERNET, { index: 3, origLength: frame.length });
    assert.ok(seg);
    assert.deepEqual([seg.seq, seg.ack, seg.flags, seg.window], [100, 200, TcpFlag.PSH | TcpFlag.ACK, 65535]);
    assert.equal(seg.payload.length, 0);
    assert.equal(seg.missingPayload, 100);
    // 14 bytes of header (through the flags) are the least that can be placed.
    const tiny = decode(frame.subarray(0, 14 + 20 + 14), ETHERNET, { index: 4, origLength: frame.length });
    assert.equal(tiny?.missingPayload, 100);
    assert.equal(tiny?.window, 0);
    assert.equal(
      decode(frame.subarray(0, 14 + 20 + 13), ETHERNET, { index: 5, origLength: frame.length }),
      null,
    );
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [['truncated-tcp-header', 5]],
    );
  });

  it('Ethernet padding after the datagram is not payload', () => {
    const { decode } = decoder();
    const frame = ethernet(ipv4Tcp({ ...base, payload: 'OK' }), { pad: true });
    assert.equal(frame.length, 60);
    const seg = decode(frame, ETHERNET);
    assert.equal(seg?.payload.toString(), 'OK');
    assert.equal(seg?.missingPayload, 0);
    const empty = decode(ethernet(ipv4Tcp({ ...base, flags: 'A', payload: '' }), { pad: true }), ETHERNET);
    assert.equal(empty?.payload.length, 0);
    // Padding with non-zero bytes too (some NICs leave garbage).
    const dirty = Buffer.concat([ethernet(ipv4Tcp({ ...base, payload: 'hi' })), Buffer.from('garbage!')]);
    assert.equal(decode(dirty, ETHERNET)?.payload.toString(), 'hi');
  });

  it('malformed headers are warnings with the packet number, never exceptions', () => {
    const { decode, warnings } = decoder();
    const ip = ipv4Tcp({ ...base, payload: 'hello' });
    // IP header cut at 12 bytes.
    assert.equal(decode(ip.subarray(0, 12), RAW, { index: 1 }), null);
    // IHL 4 (16 bytes).
    const badIhl = Buffer.from(ip);
    badIhl[0] = 0x44;
    assert.equal(decode(badIhl, RAW, { index: 2 }), null);
    // IHL 15 (60 bytes) but only 45 bytes captured.
    const longIhl = Buffer.from(ip);
    longIhl[0] = 0x4f;
    assert.equal(decode(longIhl, RAW, { index: 3 }), null);
    // Total length below the header length.
    const shortTotal = Buffer.from(ip);
    shortTotal.writeUInt16BE(19, 2);
    assert.equal(decode(shortTotal, RAW, { index: 4 }), null);
    // TCP header cut at 10 bytes.
    assert.equal(decode(ip.subarray(0, 30), RAW, { index: 5, origLength: ip.length }), null);
    // TCP data offset 15 (60 bytes) beyond the 25 captured.
    const longOffset = Buffer.from(ip);
    longOffset[20 + 12] = 0xf0;
    assert.equal(decode(longOffset, RAW, { index: 6 }), null);
    // TCP data offset 2 (8 bytes).
    const shortOffset = Buffer.from(ip);
    shortOffset[20 + 12] = 0x20;
    assert.equal(decode(shortOffset, RAW, { index: 7 }), null);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [
        ['truncated-ip-header', 1],
        ['bad-ip-header', 2],
        ['truncated-ip-header', 3],
        ['bad-ip-header', 4],
        ['truncated-tcp-header', 5],
        ['truncated-tcp-header', 6],
        ['bad-tcp-header', 7],
      ],
    );
    for (const w of warnings) assert.ok(w.detail.length > 10, w.detail);
  });

  it('never looks at checksums', () => {
    const { decode } = decoder();
    const ip = ipv4Tcp({ ...base, payload: 'DATA\r\n' });
    ip.writeUInt16BE(0xdead, 10);
    ip.writeUInt16BE(0xbeef, 20 + 16);
    assert.equal(decode(ip, RAW)?.payload.toString(), 'DATA\r\n');
  });
});

describe('IPv6', () => {
  const v6 = {
    src: '2001:db8:1::1',
    dst: '2001:db8:2::2',
    sport: 40000,
    dport: 25,
    seq: 1,
    ack: 2,
    flags: 'PA',
  };

  it('skips hop-by-hop, routing, destination options, atomic fragment and AH headers', () => {
    const { decode, warnings } = decoder();
    const ip = ipv6Tcp({
      ...v6,
      payload: 'RCPT TO:<x@y>\r\n',
      extensionHeaders: [
        { type: 0 },
        { type: 43, body: Buffer.alloc(22) },
        { type: 60 },
        { type: 44, body: Buffer.from([0, 0, 0, 9]) },
        { type: 51 },
        { type: 60, body: Buffer.alloc(30) },
      ],
    });
    const seg = decode(ethernet(ip), ETHERNET);
    assert.ok(seg);
    assert.equal(seg.family, 6);
    assert.equal(seg.payload.toString(), 'RCPT TO:<x@y>\r\n');
    assert.equal(seg.srcPort, 40000);
    assert.equal(formatAddress(seg.ipBuffer, seg.srcAddrOffset, 6), '2001:db8:1::1');
    assert.equal(formatAddress(seg.ipBuffer, seg.dstAddrOffset, 6), '2001:db8:2::2');
    assert.deepEqual(warnings, []);
  });

  it('stops at ESP and no-next-header without a warning', () => {
    const { decode, warnings } = decoder();
    const esp = ipv6Packet({ src: v6.src, dst: v6.dst, nextHeader: 50, payload: Buffer.alloc(40) });
    const none = ipv6Packet({
      src: v6.src,
      dst: v6.dst,
      nextHeader: 59,
      payload: Buffer.alloc(0),
      extensionHeaders: [{ type: 60 }],
    });
    assert.equal(decode(sll(esp), 113), null);
    assert.equal(decode(sll(none), 113), null);
    assert.deepEqual(warnings, []);
  });

  it('payload length 0 uses the captured length; a cut counts what is missing', () => {
    const { decode } = decoder();
    const ip = ipv6Tcp({ ...v6, payloadLength: 0, payload: 'y'.repeat(2000) });
    assert.equal(decode(ip, RAW)?.payload.length, 2000);
    const full = ipv6Tcp({ ...v6, payload: 'z'.repeat(500) });
    const seg = decode(full.subarray(0, 40 + 20 + 100), RAW, { origLength: full.length });
    assert.equal(seg?.payload.length, 100);
    assert.equal(seg?.missingPayload, 400);
    const padded = Buffer.concat([full, Buffer.alloc(6)]);
    assert.equal(decode(padded, RAW)?.payload.length, 500);
  });

  it('a cut extension header chain is a warning', () => {
    const { decode, warnings } = decoder();
    const ip = ipv6Tcp({ ...v6, payload: 'x', extensionHeaders: [{ type: 0, body: Buffer.alloc(30) }] });
    assert.equal(decode(ip.subarray(0, 41), RAW, { index: 31, origLength: ip.length }), null);
    assert.equal(decode(ip.subarray(0, 30), RAW, { index: 32 }), null);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [
        ['truncated-ip-header', 31],
        ['truncated-ip-header', 32],
      ],
    );
  });
});
