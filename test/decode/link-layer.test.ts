import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddress } from '../../src/decode/address.js';
import { LinkType } from '../../src/decode/link-layer.js';
import { PacketDecoder } from '../../src/decode/packet-decoder.js';
import { type DecodeWarning, newTcpSegment, TcpFlag, type TcpSegment } from '../../src/decode/tcp-segment.js';
import {
  ethernet,
  ipUdp,
  ipv4Tcp,
  ipv6Tcp,
  loop,
  nullLoopback,
  rawPacket,
  sll,
  sll2,
} from '../helpers/frames.js';

function decoder(): {
  decode: (data: Buffer, linkType: number, index?: number) => TcpSegment | null;
  warnings: DecodeWarning[];
} {
  const warnings: DecodeWarning[] = [];
  const d = new PacketDecoder({ onWarning: (w) => warnings.push(w) });
  const out = newTcpSegment();
  return {
    warnings,
    decode: (data, linkType, index = 1) => (d.decode(rawPacket(data, linkType, { index }), out) ? out : null),
  };
}

const v4 = ipv4Tcp({
  src: '192.0.2.10',
  dst: '198.51.100.25',
  sport: 49152,
  dport: 25,
  seq: 0xfffffff0,
  ack: 0x80000001,
  flags: 'PA',
  payload: 'EHLO client.example\r\n',
  window: 512,
});
const v6 = ipv6Tcp({
  src: '2001:db8::10',
  dst: '2001:db8::25',
  sport: 50000,
  dport: 587,
  seq: 7,
  ack: 9,
  flags: 'PA',
  payload: '220 ready\r\n',
});

function assertV4(seg: TcpSegment | null): void {
  assert.ok(seg);
  assert.equal(seg.family, 4);
  assert.equal(formatAddress(seg.ipBuffer, seg.srcAddrOffset, 4), '192.0.2.10');
  assert.equal(formatAddress(seg.ipBuffer, seg.dstAddrOffset, 4), '198.51.100.25');
  assert.equal(seg.srcPort, 49152);
  assert.equal(seg.dstPort, 25);
  assert.equal(seg.seq, 0xfffffff0);
  assert.equal(seg.ack, 0x80000001);
  assert.equal(seg.flags, TcpFlag.PSH | TcpFlag.ACK);
  assert.equal(seg.window, 512);
  assert.equal(seg.payload.toString(), 'EHLO client.example\r\n');
  assert.equal(seg.missingPayload, 0);
}

function assertV6(seg: TcpSegment | null): void {
  assert.ok(seg);
  assert.equal(seg.family, 6);
  assert.equal(formatAddress(seg.ipBuffer, seg.srcAddrOffset, 6), '2001:db8::10');
  assert.equal(formatAddress(seg.ipBuffer, seg.dstAddrOffset, 6), '2001:db8::25');
  assert.equal(seg.srcPort, 50000);
  assert.equal(seg.dstPort, 587);
  assert.equal(seg.seq, 7);
  assert.equal(seg.ack, 9);
  assert.equal(seg.payload.toString(), '220 ready\r\n');
}

describe('link layers', () => {
  it('Ethernet, untagged', () => {
    const { decode, warnings } = decoder();
    const seg = decode(ethernet(v4), LinkType.Ethernet, 3);
    assertV4(seg);
    assert.equal(seg?.vlan, -1);
    assert.equal(seg?.packet, 3);
    assertV6(decode(ethernet(v6), LinkType.Ethernet));
    assert.deepEqual(warnings, []);
  });

  it('Ethernet with one 802.1Q tag', () => {
    const { decode } = decoder();
    const seg = decode(ethernet(v4, { vlans: [42] }), LinkType.Ethernet);
    assertV4(seg);
    assert.equal(seg?.vlan, 42);
  });

  it('Ethernet with 802.1ad / 0x9100 / 802.1Q stacks records the outermost id', () => {
    const { decode } = decoder();
    let seg = decode(ethernet(v6, { vlans: [100, 200], tpids: [0x88a8, 0x8100] }), LinkType.Ethernet);
    assertV6(seg);
    assert.equal(seg?.vlan, 100);
    seg = decode(ethernet(v4, { vlans: [4094, 7, 3], tpids: [0x9100, 0x88a8, 0x8100] }), LinkType.Ethernet);
    assertV4(seg);
    assert.equal(seg?.vlan, 4094);
  });

  it('a VLAN tag cut short is a warning', () => {
    const { decode, warnings } = decoder();
    const frame = ethernet(v4, { vlans: [5, 6] }).subarray(0, 18);
    assert.equal(decode(frame, LinkType.Ethernet, 8), null);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].code, 'truncated-link-header');
    assert.equal(warnings[0].packet, 8);
  });

  it('Linux SLL and SLL2', () => {
    const { decode, warnings } = decoder();
    assertV4(decode(sll(v4), LinkType.LinuxSll));
    assertV6(decode(sll(v6), LinkType.LinuxSll));
    assertV4(decode(sll2(v4), LinkType.LinuxSll2));
    assertV6(decode(sll2(v6), LinkType.LinuxSll2));
    assert.equal(decode(sll2(v4).subarray(0, 19), LinkType.LinuxSll2, 4), null);
    assert.equal(decode(sll(v4).subarray(0, 10), LinkType.LinuxSll, 5), null);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [
        ['truncated-link-header', 4],
        ['truncated-link-header', 5],
      ],
    );
  });

  it('raw IP: 101, 12, 14 by version nibble, 228 IPv4, 229 IPv6', () => {
    const { decode, warnings } = decoder();
    for (const linkType of [LinkType.Raw, LinkType.RawAlt12, LinkType.RawAlt14]) {
      assertV4(decode(v4, linkType));
      assertV6(decode(v6, linkType));
    }
    assertV4(decode(v4, LinkType.Ipv4));
    assertV6(decode(v6, LinkType.Ipv6));
    // 228 announces IPv4: an IPv6 packet there is malformed.
    assert.equal(decode(v6, LinkType.Ipv4, 9), null);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [['bad-ip-header', 9]],
    );
  });

  it('BSD null/loopback in either byte order, every AF_INET6 value', () => {
    const { decode, warnings } = decoder();
    assertV4(decode(nullLoopback(v4, 4), LinkType.Null));
    assertV4(decode(nullLoopback(v4, 4, { bigEndian: true }), LinkType.Null));
    for (const af of [24, 28, 30]) {
      assertV6(decode(nullLoopback(v6, 6, { af }), LinkType.Null));
      assertV6(decode(nullLoopback(v6, 6, { af, bigEndian: true }), LinkType.Null));
    }
    // An unknown family (e.g. AF_APPLETALK 16) is not IP, and not a warning.
    assert.equal(decode(nullLoopback(v4, 4, { af: 16 }), LinkType.Null), null);
    assert.deepEqual(warnings, []);
  });

  it('OpenBSD LOOP in network order', () => {
    const { decode, warnings } = decoder();
    assertV4(decode(loop(v4), LinkType.Loop));
    assertV6(decode(loop(v6), LinkType.Loop));
    assertV6(decode(loop(v6, 6, { af: 28 }), LinkType.Loop));
    assert.deepEqual(warnings, []);
  });

  it('non-IP frames (ARP, LLC, LLDP) and UDP give false without a warning', () => {
    const { decode, warnings } = decoder();
    const arp = Buffer.alloc(28);
    arp.writeUInt16BE(1, 0);
    arp.writeUInt16BE(0x0800, 2);
    assert.equal(decode(ethernet(arp, { etherType: 0x0806 }), LinkType.Ethernet), null);
    assert.equal(decode(ethernet(arp, { etherType: 0x0806, vlans: [3] }), LinkType.Ethernet), null);
    assert.equal(decode(ethernet(Buffer.alloc(40), { etherType: 40 }), LinkType.Ethernet), null);
    assert.equal(decode(ethernet(Buffer.alloc(40), { etherType: 0x88cc }), LinkType.Ethernet), null);
    const udp4 = ipUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 53, dport: 5353, payload: 'x' });
    const udp6 = ipUdp({ src: 'fe80::1', dst: 'ff02::fb', sport: 5353, dport: 5353, payload: 'y' });
    assert.equal(decode(ethernet(udp4), LinkType.Ethernet), null);
    assert.equal(decode(ethernet(udp6), LinkType.Ethernet), null);
    assert.equal(decode(sll2(udp4), LinkType.LinuxSll2), null);
    assert.equal(decode(udp6, LinkType.Raw), null);
    // Raw IP whose version nibble is neither 4 nor 6.
    assert.equal(decode(Buffer.from([0x50, 0, 0, 0]), LinkType.Raw), null);
    assert.deepEqual(warnings, []);
  });

  it('an unsupported link type is reported once, with the first packet number', () => {
    const { decode, warnings } = decoder();
    assert.equal(decode(v4, 127, 2), null);
    assert.equal(decode(v4, 127, 3), null);
    assert.equal(decode(v4, 105, 4), null);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [
        ['unsupported-link-type', 2],
        ['unsupported-link-type', 4],
      ],
    );
    assert.match(warnings[0].detail, /127/);
  });

  it('an empty or tiny frame is a warning, not an exception', () => {
    const { decode, warnings } = decoder();
    for (const linkType of [
      LinkType.Ethernet,
      LinkType.LinuxSll,
      LinkType.Null,
      LinkType.Loop,
      LinkType.Raw,
    ]) {
      assert.equal(decode(Buffer.alloc(0), linkType, linkType + 1000), null);
    }
    assert.equal(decode(Buffer.alloc(0), LinkType.Ipv4, 77), null);
    assert.equal(decode(Buffer.alloc(3), LinkType.Ipv6, 78), null);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [
        ['truncated-link-header', 1001],
        ['truncated-link-header', 1113],
        ['truncated-link-header', 1000],
        ['truncated-link-header', 1108],
        ['truncated-link-header', 1101],
        ['truncated-ip-header', 77],
        ['truncated-ip-header', 78],
      ],
    );
  });

  it('reuses the output object and fills timestamps from the packet', () => {
    const warnings: DecodeWarning[] = [];
    const d = new PacketDecoder({ onWarning: (w) => warnings.push(w) });
    const out = newTcpSegment();
    assert.equal(
      d.decode(
        rawPacket(ethernet(v4, { vlans: [9] }), 1, {
          index: 5,
          tsSec: 1700000000,
          tsNsec: 123456789,
          tsDigits: 9,
        }),
        out,
      ),
      true,
    );
    assert.deepEqual(
      [out.packet, out.tsSec, out.tsNsec, out.tsDigits, out.vlan],
      [5, 1700000000, 123456789, 9, 9],
    );
    assert.equal(d.decode(rawPacket(ethernet(v6), 1, { index: 6 }), out), true);
    assert.deepEqual([out.packet, out.vlan, out.family], [6, -1, 6]);
  });
});
