/**
 * TCP sequence arithmetic. Sequence numbers are unsigned 32-bit and wrap, so order is the sign of
 * the difference taken modulo 2^32 (RFC 1982 style): valid while two numbers are < 2^31 apart.
 */

/** Signed distance a - b in sequence space, in [-2^31, 2^31). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a + n wrapped to an unsigned 32-bit sequence number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
