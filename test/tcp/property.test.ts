import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Direction } from '../../src/tcp/stream.js';
import { ACK, FIN, SYN, setup } from '../helpers/segments.js';

interface Piece {
  start: number;
  end: number;
  fin: boolean;
  /** Sort key: position in the original order plus a bounded delay. */
  key: number;
}

test('random segmentation, reordering within a window and duplicates deliver exactly the bytes', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 3000 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(fc.integer({ min: 1, max: 2999 }), { maxLength: 40 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { maxLength: 15 }),
      fc.array(fc.nat({ max: 6 }), { minLength: 60, maxLength: 60 }),
      fc.boolean(),
      (bytes, isn, cuts, dups, delays, finWithData) => {
        const data = Buffer.from(bytes);
        const n = data.length;
        const points = [...new Set(cuts.filter((c) => c < n))].sort((a, b) => a - b);
        const bounds = [0, ...points, n];
        const pieces: Piece[] = [];
        for (let i = 0; i + 1 < bounds.length; i++) {
          pieces.push({
            start: bounds[i],
            end: bounds[i + 1],
            fin: false,
            key: i + delays[i % delays.length],
          });
        }
        // The FIN rides on the last piece or comes alone, and may be reordered like the rest.
        if (finWithData) pieces[pieces.length - 1].fin = true;
        else pieces.push({ start: n, end: n, fin: true, key: pieces.length + delays[pieces.length % 60] });
        // Retransmissions of arbitrary ranges (repacketized), somewhere after the original.
        let dupBytes = 0;
        for (const [a, b, at] of dups) {
          const s = a % n;
          const e = s + 1 + (b % (n - s));
          dupBytes += e - s;
          pieces.push({ start: s, end: e, fin: false, key: (at % (pieces.length + 1)) + 0.5 });
        }
        pieces.sort((x, y) => x.key - y.key);

        const { r, rec, talk } = setup();
        talk.c(isn, '', { flags: SYN });
        talk.s(7, '', { flags: SYN | ACK, ack: isn + 1 });
        for (const p of pieces) {
          talk.c(isn + 1 + p.start, '', {
            data: data.subarray(p.start, p.end),
            flags: p.fin ? FIN | ACK : ACK,
            ack: 8,
          });
        }
        talk.s(8, '', { flags: FIN | ACK, ack: isn + 2 + n });
        r.finish();
        const c = rec.only;
        assert.equal(c.stream(Direction.ClientToServer), data.toString('latin1'));
        assert.deepEqual(c.anomalies(), []);
        c.assertClosed('fin', [n, 0], [c.closed!.counts[0].duplicates, 0]);
        assert.ok(c.closed!.counts[0].duplicates <= dupBytes);
      },
    ),
    { numRuns: 300 },
  );
});
