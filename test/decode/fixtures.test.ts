import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RawPacket } from '../../src/capture/raw-packet.js';
import { formatAddress } from '../../src/decode/address.js';
import { PacketDecoder } from '../../src/decode/packet-decoder.js';
import { type DecodeWarning, newTcpSegment, TcpFlag } from '../../src/decode/tcp-segment.js';

const REAL = fileURLToPath(new URL('../../fixtures/real/', import.meta.url));

/**
 * A tiny classic-pcap reader (little-endian, µs or ns magic), so these tests do not depend on
 * the capture layer: 24-byte file header, then 16-byte record headers.
 */
function readPcap(name: string): RawPacket[] {
  const file = readFileSync(REAL + name);
  const magic = file.readUInt32LE(0);
  assert.ok(magic === 0xa1b2c3d4 || magic === 0xa1b23c4d, `${name}: little-endian pcap expected`);
  const nanos = magic === 0xa1b23c4d;
  const linkType = file.readUInt32LE(20);
  const packets: RawPacket[] = [];
  for (let at = 24; at + 16 <= file.length; ) {
    const captured = file.readUInt32LE(at + 8);
    packets.push({
      index: packets.length + 1,
      tsSec: file.readUInt32LE(at),
      tsNsec: file.readUInt32LE(at + 4) * (nanos ? 1 : 1000),
      tsDigits: nanos ? 9 : 6,
      linkType,
      data: file.subarray(at + 16, at + 16 + captured),
      origLength: file.readUInt32LE(at + 12),
      offset: at,
    });
    at += 16 + captured;
  }
  return packets;
}

interface Seen {
  packet: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Buffer;
}

function decodeAll(name: string): { segments: Seen[]; warnings: DecodeWarning[]; packets: number } {
  const packets = readPcap(name);
  const warnings: DecodeWarning[] = [];
  const decoder = new PacketDecoder({ onWarning: (w) => warnings.push(w) });
  const out = newTcpSegment();
  const segments: Seen[] = [];
  for (const packet of packets) {
    if (!decoder.decode(packet, out)) continue;
    segments.push({
      packet: out.packet,
      src: formatAddress(out.ipBuffer, out.srcAddrOffset, out.family),
      dst: formatAddress(out.ipBuffer, out.dstAddrOffset, out.family),
      sport: out.srcPort,
      dport: out.dstPort,
      seq: out.seq,
      ack: out.ack,
      flags: out.flags,
      // Copied: the view is only valid until the next decode.
      payload: Buffer.from(out.payload),
    });
  }
  return { segments, warnings, packets: packets.length };
}

function clientBytes(segments: Seen[], port: number): string {
  return Buffer.concat(segments.filter((s) => s.dport === port).map((s) => s.payload)).toString('latin1');
}

describe('real captures', () => {
  it('01-plain-ehlo over Ethernet: 21 TCP segments on 127.0.0.1:58322 -> :25', () => {
    const { segments, warnings, packets } = decodeAll('01-plain-ehlo.pcap');
    assert.equal(packets, 21);
    assert.equal(segments.length, 21);
    assert.deepEqual(warnings, []);
    const syn = segments[0];
    assert.deepEqual([syn.src, syn.dst, syn.sport, syn.dport], ['127.0.0.1', '127.0.0.1', 58322, 25]);
    assert.equal(syn.flags & (TcpFlag.SYN | TcpFlag.ACK), TcpFlag.SYN);
    assert.equal(segments[1].flags & (TcpFlag.SYN | TcpFlag.ACK), TcpFlag.SYN | TcpFlag.ACK);
    assert.equal(segments[1].ack, (syn.seq + 1) >>> 0);
    assert.equal(
      segments.reduce((n, s) => n + s.payload.length, 0),
      727,
    );
    const greeting = segments.find((s) => s.payload.length > 0);
    assert.equal(greeting?.packet, 4);
    assert.equal(greeting?.sport, 25);
    assert.match(greeting?.payload.toString('latin1') ?? '', /^220 mx\.example\.test ESMTP/);
    const client = clientBytes(segments, 25);
    assert.match(client, /^EHLO /);
    assert.match(client, /\r\nQUIT\r\n$/);
  });

  it('the SLL and SLL2 captures of the same session give the same TCP bytes', () => {
    const ethernet = decodeAll('01-plain-ehlo.pcap');
    for (const name of ['01-plain-ehlo.any-sll.pcap', '01-plain-ehlo.any-sll2.pcap']) {
      const other = decodeAll(name);
      assert.deepEqual(other.warnings, [], name);
      assert.equal(other.segments.length, ethernet.segments.length, name);
      other.segments.forEach((s, i) => {
        const e = ethernet.segments[i];
        assert.deepEqual(
          [s.src, s.dst, s.sport, s.dport, s.seq, s.ack, s.flags],
          [e.src, e.dst, e.sport, e.dport, e.seq, e.ack, e.flags],
          `${name} packet ${i + 1}`,
        );
        assert.ok(s.payload.equals(e.payload), `${name} packet ${i + 1} payload`);
      });
    }
  });

  it('20-ipv6-loopback: ::1 port 41122 -> 25', () => {
    const { segments, warnings } = decodeAll('20-ipv6-loopback.pcap');
    assert.deepEqual(warnings, []);
    assert.equal(segments.length, 21);
    assert.deepEqual(
      [segments[0].src, segments[0].dst, segments[0].sport, segments[0].dport],
      ['::1', '::1', 41122, 25],
    );
    assert.equal(
      segments.reduce((n, s) => n + s.payload.length, 0),
      708,
    );
    assert.match(clientBytes(segments, 25), /^EHLO [^\r]+\r\nMAIL FROM:/);
  });

  it('the nanosecond variant decodes the same segments', () => {
    const micro = decodeAll('01-plain-ehlo.pcap');
    const nano = decodeAll('01-plain-ehlo.nano.pcap');
    assert.deepEqual(
      nano.segments.map((s) => [s.seq, s.payload.length]),
      micro.segments.map((s) => [s.seq, s.payload.length]),
    );
  });
});
