import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RawPacket } from '../../src/capture/raw-packet.js';
import { setTimestamp, timeBaseFromTsresol } from '../../src/capture/time-base.js';

function packet(): RawPacket {
  return {
    index: 0,
    tsSec: 0,
    tsNsec: 0,
    tsDigits: 0,
    linkType: 0,
    data: Buffer.alloc(0),
    origLength: 0,
    offset: 0,
  };
}

function convert(tsresol: number, units: bigint, offset = 0): [number, number] {
  const p = packet();
  setTimestamp(p, timeBaseFromTsresol(tsresol, offset), Number(units >> 32n), Number(units & 0xffffffffn));
  return [p.tsSec, p.tsNsec];
}

/** Exact answer with BigInt: seconds and nanoseconds rounded down. */
function reference(tsresol: number, units: bigint): [number, number] {
  const n = BigInt(tsresol & 0x7f);
  const perSec = tsresol & 0x80 ? 1n << n : 10n ** n;
  const sec = units / perSec;
  const ns = ((units % perSec) * 1_000_000_000n) / perSec;
  return [Number(sec), Number(ns)];
}

/** xorshift64: the same "random" values every run. */
function* units64(count: number): Generator<bigint> {
  let x = 0x9e3779b97f4a7c15n;
  const mask = (1n << 64n) - 1n;
  for (let i = 0; i < count; i++) {
    x ^= (x << 13n) & mask;
    x ^= x >> 7n;
    x ^= (x << 17n) & mask;
    // Spread over every magnitude, so both the exact-Number path and the long division run.
    yield x >> BigInt(i % 64);
  }
}

describe('pcapng timestamps', () => {
  it('keeps nanoseconds exact beyond 2^53 units', () => {
    assert.deepEqual(convert(9, 1_796_313_633_510_946_729n), [1_796_313_633, 510_946_729]);
    assert.deepEqual(convert(9, (1n << 64n) - 1n), [18_446_744_073, 709_551_615]);
    assert.deepEqual(convert(9, 0n), [0, 0]);
  });

  it('converts microseconds, milliseconds and seconds', () => {
    assert.deepEqual(convert(6, 1_796_313_633_510_946n), [1_796_313_633, 510_946_000]);
    assert.deepEqual(convert(3, 1_796_313_633_510n), [1_796_313_633, 510_000_000]);
    assert.deepEqual(convert(0, 1_796_313_633n), [1_796_313_633, 0]);
  });

  it('rounds sub-nanosecond decimal resolutions down', () => {
    assert.deepEqual(convert(12, 17_963_136_335_109_467_299n), [17_963_136, 335_109_467]);
    assert.deepEqual(convert(12, 5_000_000_000_999n), [5, 0]);
    assert.deepEqual(convert(12, 5_123_456_789_999n), [5, 123_456_789]);
  });

  it('converts binary resolutions exactly, rounding down', () => {
    assert.deepEqual(convert(0x80 | 20, (7n << 20n) | 524_288n), [7, 500_000_000]);
    // 1/2^20 s = 953.674... ns.
    assert.deepEqual(convert(0x80 | 20, (7n << 20n) | 1n), [7, 953]);
    assert.deepEqual(convert(0x80 | 32, (1_796_313_633n << 32n) | 0xffffffffn), [1_796_313_633, 999_999_999]);
    assert.deepEqual(convert(0x80 | 0, 42n), [42, 0]);
  });

  it('adds if_tsoffset seconds', () => {
    assert.deepEqual(convert(6, 1_500_000n, 1_000_000_000), [1_000_000_001, 500_000_000]);
    assert.deepEqual(convert(0x80 | 1, 3n, 10), [11, 500_000_000]);
  });

  it('agrees with a BigInt reference for every resolution tried', () => {
    for (const tsresol of [
      0,
      1,
      3,
      6,
      7,
      9,
      10,
      12,
      15,
      0x80 | 1,
      0x80 | 10,
      0x80 | 20,
      0x80 | 30,
      0x80 | 40,
      0x80 | 63,
    ]) {
      for (const u of units64(2000)) {
        assert.deepEqual(convert(tsresol, u), reference(tsresol, u), `tsresol ${tsresol} units ${u}`);
      }
    }
  });

  it('counts the real decimal digits, at most 9', () => {
    const digits = (r: number) => timeBaseFromTsresol(r, 0).digits;
    assert.deepEqual([digits(0), digits(3), digits(6), digits(9), digits(12)], [0, 3, 6, 9, 9]);
    assert.deepEqual(
      [
        digits(0x80),
        digits(0x80 | 1),
        digits(0x80 | 10),
        digits(0x80 | 20),
        digits(0x80 | 30),
        digits(0x80 | 64),
      ],
      [0, 1, 4, 7, 9, 9],
    );
  });
});
