/**
 * ISO 8601 UTC text of a capture timestamp at the capture's own precision. Built from integer
 * seconds and nanoseconds so no digit ever passes through a float.
 */
export function isoTime(sec: number, nsec: number, digits: number): string {
  const whole = new Date(sec * 1000).toISOString().slice(0, 19);
  if (digits <= 0) return `${whole}Z`;
  const fraction = String(nsec).padStart(9, '0').slice(0, Math.min(digits, 9));
  return `${whole}.${fraction}Z`;
}

/** Milliseconds between two timestamps, keeping sub-millisecond precision as a fraction. */
export function elapsedMs(fromSec: number, fromNsec: number, toSec: number, toNsec: number): number {
  return (toSec - fromSec) * 1000 + (toNsec - fromNsec) / 1e6;
}
