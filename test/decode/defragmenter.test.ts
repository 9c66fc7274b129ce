import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddress } from '../../src/decode/address.js';
import { PacketDecoder, type PacketDecoderOptions } from '../../src/decode/packet-decoder.js';
import { type DecodeWarning, newTcpSegment } from '../../src/decode/tcp-segment.js';
import {
  ethernet,
  fragmentIpv4,
  fragmentIpv6,
  ipv4Packet,
  ipv4Tcp,
  ipv6Tcp,
  rawPacket,
  reorder,
} from '../helpers/frames.js';

const ETHERNET = 1;

interface Decoded {
  packet: number;
  payload: string;
  sport: number;
  dport: number;
  seq: number;
  src: string;
  vlan: number;
}

/** Feeds frames as packets 1..n (one second apart unless `times` says) and collects results. */
function run(
  frames: Buffer[],
  options: Partial<PacketDecoderOptions> = {},
  times: number[] = [],
): { decoded: Decoded[]; warnings: DecodeWarning[]; decoder: PacketDecoder } {
  const warnings: DecodeWarning[] = [];
  const decoder = new PacketDecoder({ ...options, onWarning: (w) => warnings.push(w) });
  const out = newTcpSegment();
  const decoded: Decoded[] = [];
  frames.forEach((frame, i) => {
    const packet = rawPacket(frame, ETHERNET, { index: i + 1, tsSec: times[i] ?? 1000 + i, tsNsec: 0 });
    if (decoder.decode(packet, out)) {
      decoded.push({
        packet: out.packet,
        payload: out.payload.toString(),
        sport: out.srcPort,
        dport: out.dstPort,
        seq: out.seq,
        src: formatAddress(out.ipBuffer, out.srcAddrOffset, out.family),
        vlan: out.vlan,
      });
    }
  });
  return { decoded, warnings, decoder };
}

const message = Array.from({ length: 40 }, (_, i) => `line ${i} of the message\r\n`).join('');
const tcp4 = ipv4Tcp({
  src: '172.16.0.1',
  dst: '172.16.0.2',
  sport: 2525,
  dport: 25,
  seq: 4_000_000_000,
  ack: 1,
  flags: 'PA',
  payload: message,
  id: 0x4242,
});
const tcp6 = ipv6Tcp({
  src: 'fd00::1',
  dst: 'fd00::2',
  sport: 3333,
  dport: 25,
  seq: 77,
  ack: 1,
  flags: 'PA',
  payload: message,
});

function expectWhole(decoded: Decoded[], packet: number, src = '172.16.0.1'): void {
  assert.equal(decoded.length, 1);
  assert.equal(decoded[0].packet, packet);
  assert.equal(decoded[0].payload, message);
  assert.equal(decoded[0].src, src);
}

describe('IPv4 fragments', () => {
  const fragments = fragmentIpv4(tcp4, [256, 256, 256]).map((f) => ethernet(f, { vlans: [12] }));

  it('reassembles in order; the last packet completes it', () => {
    assert.equal(fragments.length, 4);
    const { decoded, warnings, decoder } = run(fragments);
    expectWhole(decoded, 4);
    assert.equal(decoded[0].sport, 2525);
    assert.equal(decoded[0].seq, 4_000_000_000);
    assert.equal(decoded[0].vlan, 12);
    assert.deepEqual(warnings, []);
    decoder.flush();
    assert.deepEqual(warnings, []);
  });

  it('reassembles reversed (last fragment first) and shuffled', () => {
    expectWhole(run(reorder(fragments, [3, 2, 1, 0])).decoded, 4);
    expectWhole(run(reorder(fragments, [2, 0, 3, 1])).decoded, 4);
    expectWhole(run(reorder(fragments, [1, 3, 2, 0])).decoded, 4);
  });

  it('the rebuilt datagram is whole: length set, no fragment bits', () => {
    const warnings: DecodeWarning[] = [];
    const decoder = new PacketDecoder({ onWarning: (w) => warnings.push(w) });
    const out = newTcpSegment();
    for (const [i, f] of fragments.entries()) decoder.decode(rawPacket(f, ETHERNET, { index: i + 1 }), out);
    assert.equal(out.ipBuffer.length, tcp4.length);
    assert.equal(out.ipBuffer.readUInt16BE(2), tcp4.length);
    assert.equal(out.ipBuffer.readUInt16BE(6) & 0x3fff, 0);
    assert.equal(formatAddress(out.ipBuffer, out.dstAddrOffset, 4), '172.16.0.2');
    assert.ok(out.ipBuffer.subarray(20).equals(tcp4.subarray(20)));
  });

  it('a non-first fragment alone is never decoded as TCP', () => {
    const { decoded, warnings, decoder } = run([fragments[1], fragments[3]]);
    assert.deepEqual(decoded, []);
    assert.equal(warnings.length, 0);
    // Even when its bytes happen to look like a TCP header.
    const fake = fragmentIpv4(
      ipv4Packet({
        src: '1.1.1.1',
        dst: '2.2.2.2',
        protocol: 6,
        payload: Buffer.concat([Buffer.alloc(8), tcp4.subarray(20)]),
      }),
      [8],
    );
    assert.equal(run([ethernet(fake[1])]).decoded.length, 0);
    decoder.flush();
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [['fragment-dropped', 1]],
    );
    assert.match(warnings[0].detail, /172\.16\.0\.1 -> 172\.16\.0\.2 id 0x4242/);
    const held = 256 + (tcp4.length - 20 - 768);
    assert.match(warnings[0].detail, new RegExp(`: ${held} bytes held in 2 fragments`));
  });

  it('a first fragment alone is not decoded either', () => {
    assert.deepEqual(run([fragments[0]]).decoded, []);
  });

  it('overlap: the first copy wins, with a warning', () => {
    // Fragment 2 again, with different bytes at the same offset, before fragment 3 and 4.
    const forged = Buffer.from(fragments[1]);
    forged.fill(0x58, forged.length - 256);
    const { decoded, warnings } = run([fragments[0], fragments[1], forged, fragments[2], fragments[3]]);
    expectWhole(decoded, 5);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [['fragment-overlap', 3]],
    );
    assert.match(warnings[0].detail, /different/);

    // The forged copy first: it wins, so the payload carries its bytes.
    const second = run([fragments[0], forged, fragments[1], fragments[2], fragments[3]]);
    assert.equal(second.decoded.length, 1);
    assert.equal(second.decoded[0].payload, message.slice(0, 236) + 'X'.repeat(256) + message.slice(492));
    assert.deepEqual(
      second.warnings.map((w) => [w.code, w.packet]),
      [['fragment-overlap', 3]],
    );
  });

  it('a fragment spanning others only fills the holes', () => {
    // Pieces 0-256 and 512-768 held; one fragment covering 0-768 (MF set) fills 256-512.
    const bigger = fragmentIpv4(tcp4, [768]);
    const { decoded, warnings } = run([fragments[0], fragments[2], ethernet(bigger[0]), fragments[3]]);
    expectWhole(decoded, 4);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet, /identical/.test(w.detail)]),
      [['fragment-overlap', 3, true]],
    );
  });

  it('times out in capture time', () => {
    // Fragments 1-3 at t=1000, the last one at t=1031: the datagram was dropped at that point.
    const { decoded, warnings } = run(fragments, {}, [1000, 1000, 1000, 1031]);
    assert.deepEqual(decoded, []);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [['fragment-dropped', 1]],
    );
    assert.match(warnings[0].detail, /timeout after 30 s, at packet 4\): 788 bytes held in 3 fragments/);
    // Within the timeout it completes; a shorter timeout option is honoured.
    expectWhole(run(fragments, {}, [1000, 1010, 1020, 1030]).decoded, 4);
    assert.equal(run(fragments, { fragmentTimeoutSec: 5 }, [1000, 1010, 1020, 1030]).decoded.length, 0);
  });

  it('a datagram cap drops the oldest incomplete datagram', () => {
    const other = fragmentIpv4(
      ipv4Tcp({ src: '172.16.0.3', dst: '172.16.0.2', sport: 1, dport: 25, payload: message, id: 7 }),
      [512],
    ).map((f) => ethernet(f));
    const third = fragmentIpv4(
      ipv4Tcp({ src: '172.16.0.4', dst: '172.16.0.2', sport: 2, dport: 25, payload: message, id: 8 }),
      [512],
    ).map((f) => ethernet(f));
    const { decoded, warnings } = run([fragments[0], other[0], third[0], other[1], third[1]], {
      maxFragmentDatagrams: 2,
    });
    assert.deepEqual(
      decoded.map((d) => [d.packet, d.src]),
      [
        [4, '172.16.0.3'],
        [5, '172.16.0.4'],
      ],
    );
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [['fragment-dropped', 1]],
    );
    assert.match(warnings[0].detail, /datagram cap, at packet 3\): 276 bytes held in 1 fragment\b/);
  });

  it('a byte cap drops the oldest incomplete datagram', () => {
    const other = fragmentIpv4(
      ipv4Tcp({ src: '172.16.0.3', dst: '172.16.0.2', sport: 1, dport: 25, payload: message, id: 7 }),
      [512],
    ).map((f) => ethernet(f));
    // 276 bytes for the first, 532 more for the other: 808 > 600.
    const { decoded, warnings } = run([fragments[0], other[0], other[1]], { maxFragmentBytes: 600 });
    assert.deepEqual(
      decoded.map((d) => [d.packet, d.src]),
      [[3, '172.16.0.3']],
    );
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [['fragment-dropped', 1]],
    );
    assert.match(warnings[0].detail, /byte cap/);
    // A datagram larger than the cap by itself is dropped as well.
    const alone = run(fragments, { maxFragmentBytes: 300 });
    assert.deepEqual(alone.decoded, []);
    assert.ok(alone.warnings.length >= 1);
    assert.ok(alone.warnings.every((w) => w.code === 'fragment-dropped'));
  });

  it('fragments of other protocols are dropped cheaply, without warnings', () => {
    const udp = ipv4Packet({
      src: '1.1.1.1',
      dst: '2.2.2.2',
      protocol: 17,
      payload: Buffer.alloc(1000),
      id: 5,
    });
    const { decoded, warnings, decoder } = run(fragmentIpv4(udp, [504]).map((f) => ethernet(f)));
    assert.deepEqual(decoded, []);
    decoder.flush();
    assert.deepEqual(warnings, []);
  });

  it('a truncated fragment is reported and never completes a datagram', () => {
    const cut = fragments[1].subarray(0, 100);
    const warnings: DecodeWarning[] = [];
    const decoder = new PacketDecoder({ onWarning: (w) => warnings.push(w) });
    const out = newTcpSegment();
    decoder.decode(rawPacket(fragments[0], ETHERNET, { index: 1 }), out);
    assert.equal(
      decoder.decode(rawPacket(cut, ETHERNET, { index: 2, origLength: fragments[1].length }), out),
      false,
    );
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [['fragment-truncated', 2]],
    );
  });

  it('fragments past the 65535-byte limit or past the last fragment are bad', () => {
    const tail = Buffer.from(fragments[3]);
    const ipStart = 18;
    // Offset 8189 * 8 = 65512, plus its bytes: beyond 65535 - 20.
    tail.writeUInt16BE(8189, ipStart + 6);
    const inconsistent = Buffer.from(fragments[1]);
    // A second "last" fragment ending at 512 while the first said the datagram ends later.
    inconsistent.writeUInt16BE(inconsistent.readUInt16BE(ipStart + 6) & 0x1fff, ipStart + 6);
    const { decoded, warnings } = run([tail, fragments[3], inconsistent]);
    assert.deepEqual(decoded, []);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.packet]),
      [
        ['bad-fragment', 1],
        ['bad-fragment', 3],
      ],
    );
  });
});

describe('IPv6 fragments', () => {
  const fragments = fragmentIpv6(tcp6, [304, 304], { id: 0xcafe }).map((f) => ethernet(f));

  it('reassembles in order and reversed', () => {
    assert.equal(fragments.length, 3);
    expectWhole(run(fragments).decoded, 3, 'fd00::1');
    const reversed = run(reorder(fragments, [2, 1, 0]));
    expectWhole(reversed.decoded, 3, 'fd00::1');
    assert.equal(reversed.decoded[0].sport, 3333);
    assert.equal(reversed.decoded[0].seq, 77);
    assert.deepEqual(reversed.warnings, []);
  });

  it('reassembles a fragmentable part that starts with a destination options header', () => {
    const withOptions = ipv6Tcp({
      src: 'fd00::1',
      dst: 'fd00::2',
      sport: 3333,
      dport: 25,
      payload: message,
      extensionHeaders: [{ type: 60 }],
    });
    const parts = fragmentIpv6(withOptions, [400]).map((f) => ethernet(f));
    expectWhole(run(reorder(parts, [1, 0])).decoded, 2, 'fd00::1');
  });

  it('a non-first fragment alone is not TCP; overlap and timeout are reported', () => {
    const alone = run([fragments[1]]);
    assert.deepEqual(alone.decoded, []);
    alone.decoder.flush(9);
    assert.deepEqual(
      alone.warnings.map((w) => [w.code, w.packet]),
      [['fragment-dropped', 1]],
    );
    assert.match(
      alone.warnings[0].detail,
      /IPv6 fd00::1 -> fd00::2 id 0xcafe dropped \(end of capture, at packet 9\)/,
    );

    const overlap = run([fragments[0], fragments[0], fragments[1], fragments[2]]);
    expectWhole(overlap.decoded, 4, 'fd00::1');
    assert.deepEqual(
      overlap.warnings.map((w) => [w.code, w.packet]),
      [['fragment-overlap', 2]],
    );
  });

  it('ids differ: two datagrams do not mix', () => {
    const other = fragmentIpv6(tcp6, [304, 304], { id: 0xbeef }).map((f) => ethernet(f));
    const { decoded } = run([fragments[0], other[1], other[0], fragments[1], other[2], fragments[2]]);
    assert.deepEqual(
      decoded.map((d) => [d.packet, d.payload === message]),
      [
        [5, true],
        [6, true],
      ],
    );
  });

  it('fragments of UDP are dropped without a warning', () => {
    const udp = fragmentIpv6(
      Buffer.concat([
        (() => {
          const h = Buffer.from(tcp6.subarray(0, 40));
          h[6] = 17;
          return h;
        })(),
        tcp6.subarray(40),
      ]),
      [304],
    ).map((f) => ethernet(f));
    const { decoded, warnings, decoder } = run(udp);
    decoder.flush();
    assert.deepEqual(decoded, []);
    assert.deepEqual(warnings, []);
  });
});
