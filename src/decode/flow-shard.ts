import type { TcpSegment } from './tcp-segment.js';

/**
 * Which of `count` workers owns the segment's connection: a hash of the 4-tuple that is the same
 * for both directions (each endpoint hashed alone, then combined with a commutative xor), so one
 * connection never spans two workers.
 */
export function flowShard(seg: TcpSegment, count: number): number {
  const buf = seg.ipBuffer;
  const words = seg.family === 4 ? 1 : 4;
  let src = seg.srcPort;
  let dst = seg.dstPort;
  for (let i = 0; i < words; i++) {
    src = Math.imul(src ^ buf.readUInt32BE(seg.srcAddrOffset + i * 4), 0x9e3779b1);
    dst = Math.imul(dst ^ buf.readUInt32BE(seg.dstAddrOffset + i * 4), 0x9e3779b1);
  }
  const h = Math.imul(src ^ dst, 0x85ebca6b);
  return ((h ^ (h >>> 15)) >>> 0) % count;
}
