/**
 * Copies of stream bytes that a handler keeps beyond the current packet. Buffer.from and
 * Buffer.concat cut small copies from Node's shared 8 KiB pool, and one kept slice keeps its
 * whole slab alive: 5,000 open connections each holding a few bytes would pin 40 MB. These
 * copies own exactly their bytes.
 */
export function keptCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return copy;
}
