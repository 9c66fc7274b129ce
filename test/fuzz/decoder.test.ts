/** Property tests of the packet decoder: link layers, IPv4/IPv6 with fragments, TCP. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PacketDecoder } from '../../src/decode/packet-decoder.js';
import { type DecodeWarning, newTcpSegment } from '../../src/decode/tcp-segment.js';
import { ethernet, ipTcp } from '../helpers/frames.js';
import { CI_SEED } from './kit.js';
import { assertTarget, decoder } from './targets.js';

describe('decoder under random and mutated headers', () => {
  it('random, valid-then-mutated and fragmented packets: no exception, warnings name their packet', async () => {
    await assertTarget(decoder, 500, CI_SEED);
  });

  it('a frame cut inside its Ethernet, IP or TCP header is dropped with a warning naming it', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.nat({ max: 200 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (v6, cutSeed, index) => {
          const ip = ipTcp({
            src: v6 ? '2001:db8::1' : '10.0.0.1',
            dst: v6 ? '2001:db8::2' : '10.0.0.2',
            sport: 40000,
            dport: 25,
            payload: Buffer.from('EHLO x\r\n'),
          });
          const frame = ethernet(ip);
          // 14 bytes of TCP header place a segment (a snaplen cut inside the header).
          const headers = 14 + (v6 ? 40 : 20) + 14;
          const cut = cutSeed % headers;
          const data = frame.subarray(0, cut);
          const warnings: DecodeWarning[] = [];
          const d = new PacketDecoder({ onWarning: (w) => warnings.push(w) });
          const ok = d.decode(
            {
              index,
              tsSec: 1,
              tsNsec: 0,
              tsDigits: 6,
              linkType: 1,
              data,
              origLength: data.length,
              offset: 0,
            },
            newTcpSegment(),
          );
          assert.equal(ok, false);
          assert.ok(warnings.length >= 1, `cut at ${cut}: a warning`);
          for (const w of warnings) assert.equal(w.packet, index);
        },
      ),
      { seed: CI_SEED, numRuns: 300 },
    );
  });

  it('a frame shorter than its IP length when the capture says nothing was cut is a malformed packet: warned', () => {
    const ip = ipTcp({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      sport: 40000,
      dport: 25,
      payload: Buffer.from('EHLO x\r\n'),
    });
    const frame = ethernet(ip);
    // 16 of the 20 TCP header bytes and no payload, yet origLength says the frame is whole.
    const data = frame.subarray(0, 14 + 20 + 16);
    const warnings: DecodeWarning[] = [];
    const d = new PacketDecoder({ onWarning: (w) => warnings.push(w) });
    d.decode(
      { index: 7, tsSec: 1, tsNsec: 0, tsDigits: 6, linkType: 1, data, origLength: data.length, offset: 0 },
      newTcpSegment(),
    );
    assert.ok(
      warnings.some((w) => w.packet === 7),
      'a warning naming packet 7',
    );
  });
});
