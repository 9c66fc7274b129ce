import type { RawPacket } from './raw-packet.js';

/**
 * How one pcapng interface counts time (if_tsresol, if_tsoffset), turned into integer seconds +
 * nanoseconds. Timestamps are 64-bit unit counts split in two 32-bit halves; above 2^53 a Number
 * loses units, so the halves are divided separately (no floats through a fraction).
 */
export interface TimeBase {
  /** Units per second when it is 10^n with n <= 9 (the common case), else 0. */
  readonly unitsPerSec: number;
  /** Nanoseconds per unit for that case. */
  readonly nsPerUnit: number;
  /** For other resolutions: true for 2^-n, false for 10^-n (n > 9). */
  readonly binary: boolean;
  readonly exponent: number;
  /** if_tsoffset: seconds added to every timestamp. */
  readonly offsetSec: number;
  /** Real decimal digits of precision, at most 9. */
  readonly digits: number;
}

/** pcapng's if_tsresol: high bit set means 2^-n, else 10^-n. */
const TSRESOL_BINARY = 0x80;
const TWO_32 = 4_294_967_296;
/** Below this high half, hi * 2^32 + lo is still an exact Number. */
const EXACT_HI_LIMIT = 0x200000;
const MAX_DIGITS = 9;

/** if_tsresol absent: microseconds. */
export const DEFAULT_TIME_BASE: TimeBase = timeBaseFromTsresol(6, 0);

export function timeBaseFromTsresol(tsresol: number, offsetSec: number): TimeBase {
  const binary = (tsresol & TSRESOL_BINARY) !== 0;
  const exponent = tsresol & ~TSRESOL_BINARY;
  if (!binary && exponent <= MAX_DIGITS) {
    return {
      unitsPerSec: 10 ** exponent,
      nsPerUnit: 10 ** (MAX_DIGITS - exponent),
      binary,
      exponent,
      offsetSec,
      digits: exponent,
    };
  }
  const digits = binary ? Math.min(Math.ceil(exponent * Math.log10(2)), MAX_DIGITS) : MAX_DIGITS;
  return { unitsPerSec: 0, nsPerUnit: 0, binary, exponent, offsetSec, digits };
}

/** Sets p.tsSec / p.tsNsec from a 64-bit unit count (hi:lo). Sub-nanosecond parts are rounded down. */
export function setTimestamp(p: RawPacket, tb: TimeBase, hi: number, lo: number): void {
  const u = tb.unitsPerSec;
  if (u !== 0) {
    let sec: number;
    let rem: number;
    if (hi < EXACT_HI_LIMIT) {
      const t = hi * TWO_32 + lo;
      sec = Math.floor(t / u);
      rem = t - sec * u;
      // Division is rounded; put a quotient that landed on the wrong side back.
      if (rem < 0) {
        sec -= 1;
        rem += u;
      } else if (rem >= u) {
        sec += 1;
        rem -= u;
      }
    } else {
      // Long division in 16-bit steps: every partial value stays below u * 2^16 < 2^53.
      const q1 = Math.floor(hi / u);
      let r = hi - q1 * u;
      let cur = r * 65_536 + (lo >>> 16);
      const q2 = Math.floor(cur / u);
      r = cur - q2 * u;
      cur = r * 65_536 + (lo & 0xffff);
      const q3 = Math.floor(cur / u);
      rem = cur - q3 * u;
      sec = q1 * TWO_32 + q2 * 65_536 + q3;
    }
    p.tsSec = sec + tb.offsetSec;
    p.tsNsec = rem * tb.nsPerUnit;
    return;
  }
  // Rare resolutions (2^-n, 10^-n beyond ns): exactness matters more than speed here.
  const t = (BigInt(hi) << 32n) | BigInt(lo);
  const n = BigInt(tb.exponent);
  if (tb.binary) {
    const sec = t >> n;
    const frac = t & ((1n << n) - 1n);
    p.tsSec = Number(sec) + tb.offsetSec;
    p.tsNsec = Number((frac * 1_000_000_000n) >> n);
  } else {
    const ns = t / 10n ** (n - 9n);
    p.tsSec = Number(ns / 1_000_000_000n) + tb.offsetSec;
    p.tsNsec = Number(ns % 1_000_000_000n);
  }
}
