import type { TcpSegment } from './tcp-segment.js';

/**
 * TCP segments packed into one buffer to hand to a worker thread (transferred, not copied):
 * a fixed header per segment, both addresses, then the payload. The worker unpacks them into a
 * reused TcpSegment whose views point into the batch.
 */
const HEADER = 96;
const ADDRESSES = 64;
const START_SIZE = 4 * 1024 * 1024;

export class SegmentBatchWriter {
  // allocUnsafeSlow: never a slice of Node's shared pool, so the whole ArrayBuffer can move.
  private buf = Buffer.allocUnsafeSlow(START_SIZE);
  private length = 0;
  /** Batch buffers the worker has finished with: fresh memory costs a page fault per 4 KiB. */
  private readonly spare: ArrayBuffer[] = [];

  get size(): number {
    return this.length;
  }

  append(seg: TcpSegment, inputIndex: number): void {
    const need = this.length + HEADER + seg.payload.length;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    const b = this.buf;
    const o = this.length;
    b.writeUInt32LE(seg.packet, o);
    b.writeUInt32LE(inputIndex, o + 4);
    b.writeDoubleLE(seg.tsSec, o + 8);
    b.writeUInt32LE(seg.tsNsec, o + 16);
    b[o + 20] = seg.tsDigits;
    b[o + 21] = seg.family;
    b.writeUInt16LE(seg.flags, o + 22);
    b.writeUInt16LE(seg.srcPort, o + 24);
    b.writeUInt16LE(seg.dstPort, o + 26);
    b.writeUInt32LE(seg.seq, o + 28);
    b.writeUInt32LE(seg.ack, o + 32);
    b.writeUInt16LE(seg.window, o + 36);
    b.writeUInt32LE(seg.payload.length, o + 40);
    b.writeUInt32LE(seg.missingPayload, o + 44);
    b.writeInt32LE(seg.vlan, o + 48);
    // Byte loops and set(): Buffer.copy makes a view of its source range on every call.
    const ip = seg.ipBuffer;
    const addressLength = seg.family === 4 ? 4 : 16;
    for (let i = 0; i < addressLength; i++) {
      b[o + ADDRESSES + i] = ip[seg.srcAddrOffset + i];
      b[o + ADDRESSES + 16 + i] = ip[seg.dstAddrOffset + i];
    }
    b.set(seg.payload, o + HEADER);
    this.length = need;
  }

  /**
   * The packed segments so far, or null when there are none. The writer moves on to a new
   * buffer: the one returned owns its memory alone, so it can be transferred to another thread.
   */
  take(): Buffer | null {
    if (this.length === 0) return null;
    const out = this.buf.subarray(0, this.length);
    const spare = this.spare.pop();
    this.buf = spare ? Buffer.from(spare) : Buffer.allocUnsafeSlow(Math.max(START_SIZE, this.length));
    this.length = 0;
    return out;
  }

  /** A buffer that take() returned, handed back once its segments were read. */
  recycle(buffer: ArrayBuffer): void {
    this.spare.push(buffer);
  }
}

/** Unpacks a batch, calling `onSegment` with `out` filled for each segment in turn. */
export function readSegmentBatch(
  batch: Buffer,
  out: TcpSegment,
  onSegment: (segment: TcpSegment, inputIndex: number) => void,
): void {
  let o = 0;
  while (o < batch.length) {
    const payloadLength = batch.readUInt32LE(o + 40);
    out.packet = batch.readUInt32LE(o);
    out.tsSec = batch.readDoubleLE(o + 8);
    out.tsNsec = batch.readUInt32LE(o + 16);
    out.tsDigits = batch[o + 20];
    out.family = batch[o + 21];
    out.flags = batch.readUInt16LE(o + 22);
    out.srcPort = batch.readUInt16LE(o + 24);
    out.dstPort = batch.readUInt16LE(o + 26);
    out.seq = batch.readUInt32LE(o + 28);
    out.ack = batch.readUInt32LE(o + 32);
    out.window = batch.readUInt16LE(o + 36);
    out.missingPayload = batch.readUInt32LE(o + 44);
    out.vlan = batch.readInt32LE(o + 48);
    out.ipBuffer = batch;
    out.srcAddrOffset = o + ADDRESSES;
    out.dstAddrOffset = o + ADDRESSES + 16;
    out.payload = batch.subarray(o + HEADER, o + HEADER + payloadLength);
    onSegment(out, batch.readUInt32LE(o + 4));
    o += HEADER + payloadLength;
  }
}
