/**
 * ISO 8601 UTC text of a capture timestamp at the capture's own precision. Built from integer
 * seconds and nanoseconds so no digit ever passes through a float.
 */
let cachedSec = Number.NaN;
let cachedWhole = '';

export function isoTime(sec: number, nsec: number, digits: number): string {
  // Consecutive packets mostly share their second: format it once.
  if (sec !== cachedSec) {
    cachedSec = sec;
    cachedWhole = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  const whole = cachedWhole;
  if (digits <= 0) return `${whole}Z`;
  const fraction = String(nsec).padStart(9, '0').slice(0, Math.min(digits, 9));
  // join makes one flat string: concatenation would keep a chain of four strings (about 190
  // bytes instead of 60) in every command record of every open session.
  return [whole, '.', fraction, 'Z'].join('');
}

/** Milliseconds between two timestamps, keeping sub-millisecond precision as a fraction. */
export function elapsedMs(fromSec: number, fromNsec: number, toSec: number, toNsec: number): number {
  return (toSec - fromSec) * 1000 + (toNsec - fromNsec) / 1e6;
}
