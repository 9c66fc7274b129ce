import { TcpFlag } from '../decode/tcp-segment.js';
import { seqAdd, seqDiff } from './seq.js';
import { Direction, type DirectionCounts, type PacketRef, type StreamHandler } from './stream.js';

const SYN = TcpFlag.SYN;
const FIN = TcpFlag.FIN;
/** No FIN seen yet (sequence numbers are unsigned, so -1 is never one). */
const NO_FIN = -1;
/** Delivered ranges remembered to name the packet behind a conflicting retransmission. */
const RECORDS = 64;
/**
 * First number of those records and first size of the ring of delivered bytes; both double as
 * needed (to RECORDS and `overlapCheckBytes`). Most connections of a flood carry a line or two,
 * and thousands are open at once.
 */
const RECORDS_START = 4;
const RING_START = 256;

/** A range that arrived ahead of the next expected byte. `data` null: the snaplen cut it. */
interface Held {
  seq: number;
  len: number;
  data: Buffer | null;
  ref: PacketRef;
}

/** Out-of-order bytes held by every direction of every connection together. */
export interface HeldPool {
  held: number;
  max: number;
}

export interface HalfStreamLimits {
  /** Bytes held out of order before a gap is forced past the first hole. */
  maxBuffered: number;
  /** Shared by all streams: past its max, the stream that adds bytes forces its gap. */
  pool: HeldPool;
  /** Bytes already delivered that are kept to compare retransmissions against (0: none). */
  overlapCheckBytes: number;
}

/**
 * One direction of a connection: turns segments into bytes in sequence order plus explicit gaps.
 * Invariant: every held range starts after `next` and held ranges never overlap, so delivering
 * is taking them off the front.
 */
export class HalfStream {
  readonly counts: DirectionCounts = { delivered: 0, duplicates: 0, gaps: 0, packets: 0 };
  started = false;
  /** FIN reached: every byte before it was delivered or declared a gap. */
  ended = false;
  /** Sequence number of the next byte to deliver. */
  next = 0;
  /** Sequence number of the first byte (stream offsets in anomaly details count from it). */
  base = 0;
  /** Sequence number the FIN occupies (= end of data), or NO_FIN. */
  finSeq = NO_FIN;

  /** The peer's latest ACK of this direction before it started (tells a midstream keep-alive). */
  private peerAck = 0;
  private peerAckSeen = false;
  private readonly handler: StreamHandler;
  private readonly dir: Direction;
  private readonly limits: HalfStreamLimits;
  /** Where this stream enters itself when it first holds views (see releaseBuffers). */
  private readonly holdingViews: HalfStream[];
  /** overlapCheckBytes rounded down to a power of two (the ring's mask needs one). */
  private readonly ringCap: number;
  private held: Held[] = [];
  private heldBytes = 0;
  // Delivered bytes by `seq & mask` (a power-of-two ring divides 2^32, so wrap needs no care).
  private ring: Buffer | null = null;
  private ringValid = 0;
  /**
   * Delivered bytes not yet in the ring: views into the caller's buffers, valid until
   * releaseBuffers(). Copying only then, and only the last ringCap bytes, skips most copying
   * (a stream's bytes in one 1 MiB read mostly outgrow the ring).
   */
  private unringed: Buffer[] = [];
  private unringedSeq = 0;
  private unringedBytes = 0;
  private recSeq: Uint32Array | null = null;
  private recPkt: Float64Array | null = null;
  private recCount = 0;

  constructor(handler: StreamHandler, dir: Direction, limits: HalfStreamLimits, holdingViews: HalfStream[]) {
    this.handler = handler;
    this.dir = dir;
    this.limits = limits;
    this.holdingViews = holdingViews;
    this.ringCap = limits.overlapCheckBytes >= 1 ? 2 ** Math.floor(Math.log2(limits.overlapCheckBytes)) : 0;
  }

  /** One segment of this direction. `at` is only read during the call. */
  segment(seq: number, flags: number, payload: Buffer, missing: number, at: PacketRef): void {
    this.counts.packets++;
    let s = seq;
    if ((flags & SYN) !== 0) {
      s = seqAdd(seq, 1); // the SYN consumes one sequence number; TFO data follows it
      if (!this.started) this.start(s);
    } else if (!this.started) {
      // A bare ACK gives no reliable start (a keep-alive sits at next-1): wait for bytes or FIN.
      if (payload.length === 0 && missing === 0 && (flags & FIN) === 0) return;
      if (
        payload.length === 1 &&
        missing === 0 &&
        (flags & FIN) === 0 &&
        this.peerAckSeen &&
        seqDiff(this.peerAck, s) === 1
      ) {
        // A midstream capture that opens on a keep-alive: the peer already acknowledged the
        // byte after it, so the stream starts there and the probe's garbage byte is not data.
        this.start(this.peerAck);
        return;
      }
      this.start(s);
    }
    const len = payload.length;
    if (len !== 0) {
      if (s === this.next && this.held.length === 0 && this.finSeq === NO_FIN) {
        // Fast path: in order, nothing waiting.
        this.counts.delivered += len;
        this.next = seqAdd(s, len);
        if (this.ringCap !== 0) this.retain(s, payload, at.packet);
        this.handler.data(this.dir, payload, at);
      } else if (len === 1 && missing === 0 && (flags & (SYN | FIN)) === 0 && seqDiff(this.next, s) === 1) {
        // Keep-alive probe: one garbage byte at next-1.
      } else {
        this.place(s, payload, len, at);
      }
    }
    if (missing !== 0) this.place(seqAdd(s, len), null, missing, at);
    if ((flags & FIN) !== 0) this.fin(seqAdd(s, len + missing), at);
  }

  /**
   * The peer acknowledged everything before `ack`: bytes before it that we lack are lost.
   * `withData`: the ACK rides on the peer's own data, which must follow the bytes it answers, so
   * the whole range is given up now. A bare ACK (or FIN) gives up a hole only when it reaches
   * held bytes after it: such a packet can be written before segments it acknowledges (a TAP
   * merging directions), and those late segments are still placed.
   */
  acked(ack: number, withData: boolean, at: PacketRef): void {
    if (!this.started) {
      this.peerAck = ack;
      this.peerAckSeen = true;
      return;
    }
    if (this.ended || seqDiff(ack, this.next) <= 0) return;
    // An ACK past the FIN also counts the FIN's own sequence number.
    let target = this.finSeq !== NO_FIN && seqDiff(ack, this.finSeq) > 0 ? this.finSeq : ack;
    if (!withData && target !== this.finSeq) {
      const held = this.held;
      let i = held.length - 1;
      while (i >= 0 && seqDiff(ack, held[i].seq) < 0) i--;
      if (i < 0) return;
      const end = seqAdd(held[i].seq, held[i].len);
      if (seqDiff(end, target) < 0) target = end;
    }
    this.advanceTo(target, at);
  }

  /** Moves past every hole: held data is delivered after gaps, up to the FIN when one was seen. */
  flush(at: PacketRef): void {
    if (!this.started || this.ended) return;
    let target = this.next;
    if (this.finSeq !== NO_FIN) target = this.finSeq;
    else if (this.held.length !== 0) {
      const last = this.held[this.held.length - 1];
      target = seqAdd(last.seq, last.len);
    }
    this.advanceTo(target, at);
  }

  /** Whether ranges wait behind a hole (a late segment can still fill it). */
  get holding(): boolean {
    return this.held.length !== 0;
  }

  /** Drops buffers once the connection is closed. */
  release(): void {
    this.held = [];
    this.addHeld(-this.heldBytes);
    this.ring = null;
    this.recSeq = null;
    this.recPkt = null;
  }

  private start(seq: number): void {
    this.started = true;
    this.next = seq;
    this.base = seq;
  }

  private fin(seq: number, at: PacketRef): void {
    if (this.ended || this.finSeq !== NO_FIN) return; // retransmitted FIN: the first one counts
    if (seqDiff(seq, this.next) < 0) {
      // Bytes past this FIN were already delivered: end where we are.
      this.finSeq = this.next;
      this.ended = true;
      return;
    }
    this.finSeq = seq;
    this.dropHeldAfter(seq, at);
    if (this.next === seq) this.ended = true;
  }

  /** Slow path: trims what is already delivered or past the FIN, holds the rest, delivers in order. */
  private place(seqIn: number, dataIn: Buffer | null, lenIn: number, at: PacketRef): void {
    let seq = seqIn;
    let data = dataIn;
    let len = lenIn;
    const behind = seqDiff(this.next, seq);
    if (behind > 0) {
      const n = Math.min(behind, len);
      if (data !== null) {
        this.counts.duplicates += n;
        this.checkDelivered(seq, data, n, at.packet);
      }
      if (n === len) return;
      seq = seqAdd(seq, n);
      len -= n;
      if (data !== null) data = data.subarray(n);
    }
    if (this.finSeq !== NO_FIN) {
      const room = seqDiff(this.finSeq, seq);
      if (room < len) {
        if (data !== null) {
          this.handler.anomaly(
            'data-after-fin',
            at.packet,
            `${dirLabel(this.dir)}: ${len - Math.max(room, 0)} bytes after the FIN dropped`,
          );
        }
        if (room <= 0) return;
        len = room;
        if (data !== null) data = data.subarray(0, room);
      }
    }
    if (this.held.length === 0 && seq === this.next) {
      this.emit(data, len, at);
    } else {
      this.insert(seq, data, len, at);
      this.drain();
      const pool = this.limits.pool;
      if (this.heldBytes > this.limits.maxBuffered || pool.held > pool.max) {
        this.handler.anomaly(
          'reassembly-cap',
          at.packet,
          this.heldBytes > this.limits.maxBuffered
            ? `${dirLabel(this.dir)}: ${this.heldBytes} bytes held out of order (cap ${this.limits.maxBuffered})`
            : `${dirLabel(this.dir)}: ${pool.held} bytes held out of order by all connections (cap ${pool.max})`,
        );
        while ((this.heldBytes > this.limits.maxBuffered || pool.held > pool.max) && this.held.length !== 0) {
          this.advanceTo(this.held[0].seq, at);
          this.drain();
        }
      }
    }
    if (this.finSeq !== NO_FIN && this.next === this.finSeq) this.ended = true;
  }

  /** Adds a range to `held`, keeping what was there first where they overlap. */
  private insert(seqIn: number, dataIn: Buffer | null, lenIn: number, at: PacketRef): void {
    const held = this.held;
    const ref: PacketRef = { packet: at.packet, tsSec: at.tsSec, tsNsec: at.tsNsec };
    let seq = seqIn;
    let data = dataIn;
    let len = lenIn;
    const last = held.length === 0 ? null : held[held.length - 1];
    if (last === null || seqDiff(seq, seqAdd(last.seq, last.len)) >= 0) {
      held.push(this.hold(seq, data, len, ref));
      return;
    }
    let i = 0;
    while (i < held.length && len > 0) {
      const h = held[i];
      const hOff = seqDiff(h.seq, seq);
      const hEnd = hOff + h.len;
      if (hEnd <= 0) {
        i++;
        continue;
      }
      if (hOff >= len) break;
      if (hOff > 0) {
        held.splice(i, 0, this.hold(seq, data, hOff, ref));
        i++;
        seq = seqAdd(seq, hOff);
        len -= hOff;
        if (data !== null) data = data.subarray(hOff);
        continue;
      }
      // The range overlaps h from -hOff on: h was there first.
      const n = Math.min(hEnd, len);
      if (data !== null) {
        this.counts.duplicates += n;
        if (h.data !== null) this.compare(data, 0, h.data, -hOff, n, h.ref.packet, at.packet, seq);
        data = data.subarray(n);
      }
      seq = seqAdd(seq, n);
      len -= n;
      i++;
    }
    if (len > 0) held.splice(i, 0, this.hold(seq, data, len, ref));
  }

  private hold(seq: number, data: Buffer | null, len: number, ref: PacketRef): Held {
    let copy: Buffer | null = null;
    if (data !== null) {
      // The payload is a view into a capture chunk that will be reused: copy it.
      copy = Buffer.allocUnsafe(len);
      data.copy(copy, 0, 0, len);
      this.addHeld(len);
    }
    return { seq, len, data: copy, ref };
  }

  private addHeld(delta: number): void {
    this.heldBytes += delta;
    this.limits.pool.held += delta;
  }

  /** Delivers held ranges that start at `next`. */
  private drain(): void {
    const held = this.held;
    while (held.length !== 0 && held[0].seq === this.next) {
      const h = held.shift()!;
      if (h.data !== null) this.addHeld(-h.len);
      this.emit(h.data, h.len, h.ref);
    }
  }

  /** Declares every byte before `target` that is not held a gap, delivering held ranges between. */
  private advanceTo(target: number, at: PacketRef): void {
    for (;;) {
      this.drain();
      const rem = seqDiff(target, this.next);
      if (rem <= 0) break;
      let n = rem;
      if (this.held.length !== 0) {
        const d = seqDiff(this.held[0].seq, this.next);
        if (d < n) n = d;
      }
      this.emit(null, n, at);
    }
    if (this.finSeq !== NO_FIN && this.next === this.finSeq) this.ended = true;
  }

  private emit(data: Buffer | null, len: number, at: PacketRef): void {
    const start = this.next;
    this.next = seqAdd(start, len);
    if (data !== null) {
      this.counts.delivered += len;
      if (this.ringCap !== 0) this.retain(start, data, at.packet);
      this.handler.data(this.dir, data, at);
    } else {
      this.counts.gaps += len;
      // The ring must hold one contiguous run ending at `next`.
      this.ringValid = 0;
      this.unringed = [];
      this.unringedBytes = 0;
      this.handler.gap(this.dir, len, at);
    }
  }

  private dropHeldAfter(fin: number, at: PacketRef): void {
    const held = this.held;
    let dropped = 0;
    while (held.length !== 0) {
      const h = held[held.length - 1];
      const keep = seqDiff(fin, h.seq);
      if (keep >= h.len) break;
      const cut = keep > 0 ? h.len - keep : h.len;
      if (h.data !== null) {
        dropped += cut;
        this.addHeld(-cut);
      }
      if (keep > 0) {
        h.len = keep;
        if (h.data !== null) h.data = h.data.subarray(0, keep);
        break;
      }
      held.pop();
    }
    if (dropped > 0) {
      this.handler.anomaly(
        'data-after-fin',
        at.packet,
        `${dirLabel(this.dir)}: ${dropped} bytes after the FIN dropped`,
      );
    }
  }

  /** Remembers delivered bytes (and which packet carried them) to check later retransmissions. */
  private retain(seq: number, data: Buffer, packet: number): void {
    if (this.unringed.length === 0) {
      this.unringedSeq = seq;
      this.holdingViews.push(this);
    }
    const views = this.unringed;
    views.push(data);
    this.unringedBytes += data.length;
    // Views the ring will never hold are let go now, so the list stays short without releases.
    while (this.unringedBytes - views[0].length >= this.ringCap) {
      const dropped = views.shift()!;
      this.unringedBytes -= dropped.length;
      this.unringedSeq = seqAdd(this.unringedSeq, dropped.length);
      this.ringValid = 0; // what the ring holds no longer joins the views kept
    }
    let recSeq = this.recSeq;
    let recPkt = this.recPkt;
    if (recSeq === null || recPkt === null) {
      recSeq = this.recSeq = new Uint32Array(RECORDS_START);
      recPkt = this.recPkt = new Float64Array(RECORDS_START);
    } else if (this.recCount === recSeq.length && recSeq.length < RECORDS) {
      // Not wrapped yet (it grows before it fills), so the records keep their indices.
      recSeq = this.recSeq = grown(recSeq, new Uint32Array(recSeq.length * 2));
      recPkt = this.recPkt = grown(recPkt, new Float64Array(recPkt.length * 2));
    }
    const k = this.recCount % recSeq.length;
    recSeq[k] = seq;
    recPkt[k] = packet;
    this.recCount++;
  }

  /** Copies the delivered bytes still held as views (the last ringCap of them) into the ring. */
  releaseBuffers(): void {
    const views = this.unringed;
    if (views.length === 0) return;
    // retain's trimming leaves only the first view reaching back beyond the ring.
    const skip = Math.max(0, this.unringedBytes - this.ringCap);
    if (skip > 0) this.ringValid = 0; // the ringCap bytes copied replace all it held
    let seq = seqAdd(this.unringedSeq, skip);
    for (let i = 0; i < views.length; i++) {
      const view = i === 0 && skip > 0 ? views[0].subarray(skip) : views[i];
      this.copyToRing(seq, view);
      seq = seqAdd(seq, view.length);
    }
    this.unringed = [];
    this.unringedBytes = 0;
  }

  private copyToRing(seq: number, data: Buffer): void {
    const len = data.length;
    const cap = this.ringCap;
    let ring = this.ring;
    if (ring === null || (ring.length < cap && this.ringValid + len > ring.length)) {
      ring = this.growRing(this.ringValid + len, seq);
    }
    const size = ring.length;
    const mask = size - 1;
    if (len >= size) {
      copyIntoRing(ring, mask, seqAdd(seq, len - size), data, len - size, size);
      this.ringValid = size;
    } else {
      copyIntoRing(ring, mask, seq, data, 0, len);
      this.ringValid = Math.min(size, this.ringValid + len);
    }
  }

  /** `validEnd`: sequence number just after the run of valid bytes. */
  private growRing(need: number, validEnd: number): Buffer {
    const cap = this.ringCap;
    const old = this.ring;
    let size = old === null ? RING_START : old.length * 2;
    while (size < need && size < cap) size *= 2;
    if (size > cap) size = cap; // both powers of two, so size stays one
    // Its own memory: a ring of a few hundred bytes cut from the shared pool would pin 8 KiB.
    const ring = Buffer.allocUnsafeSlow(size);
    if (old !== null && this.ringValid > 0) {
      // Move the valid run to its positions under the new mask: out in order, then back in.
      const start = seqAdd(validEnd, -this.ringValid);
      const run = Buffer.allocUnsafe(this.ringValid);
      const pos = start & (old.length - 1);
      const first = Math.min(this.ringValid, old.length - pos);
      old.copy(run, 0, pos, pos + first);
      if (first < this.ringValid) old.copy(run, first, 0, this.ringValid - first);
      copyIntoRing(ring, size - 1, start, run, 0, this.ringValid);
    }
    this.ring = ring;
    return ring;
  }

  /** Compares the first n bytes of a retransmitted range with the delivered copy we still hold. */
  private checkDelivered(seq: number, data: Buffer, n: number, packet: number): void {
    this.releaseBuffers();
    const ring = this.ring;
    if (ring === null || this.ringValid === 0) return;
    let validFrom = seqAdd(this.next, -this.ringValid);
    if (this.recCount >= RECORDS) {
      // Only bytes whose packet is still recorded can be named in the anomaly.
      const oldest = this.recSeq![this.recCount % RECORDS];
      if (seqDiff(oldest, validFrom) > 0) validFrom = oldest;
    }
    const skip = Math.max(0, seqDiff(validFrom, seq));
    if (skip >= n) return;
    const mask = ring.length - 1;
    for (let i = skip; i < n; i++) {
      const s = seqAdd(seq, i);
      if (ring[s & mask] !== data[i]) {
        let end = i + 1;
        while (end < n && ring[seqAdd(seq, end) & mask] !== data[end]) end++;
        this.conflict(s, end - i, this.deliveredBy(s), packet);
        return;
      }
    }
  }

  /** Packet that delivered the byte at `seq` (records are in sequence order). */
  private deliveredBy(seq: number): number {
    const last = Math.min(this.recCount, RECORDS);
    const size = this.recSeq?.length ?? RECORDS;
    for (let j = 1; j <= last; j++) {
      const k = (this.recCount - j) % size;
      if (seqDiff(seq, this.recSeq![k]) >= 0) return this.recPkt![k];
    }
    return 0;
  }

  private compare(
    data: Buffer,
    dOff: number,
    kept: Buffer,
    kOff: number,
    n: number,
    keptPacket: number,
    packet: number,
    seq: number,
  ): void {
    if (data.compare(kept, kOff, kOff + n, dOff, dOff + n) === 0) return;
    let i = 0;
    while (data[dOff + i] === kept[kOff + i]) i++;
    let end = i + 1;
    while (end < n && data[dOff + end] !== kept[kOff + end]) end++;
    this.conflict(seqAdd(seq, i), end - i, keptPacket, packet);
  }

  private conflict(seq: number, n: number, keptPacket: number, packet: number): void {
    const offset = seqAdd(seq, -this.base);
    this.handler.anomaly(
      'overlap-conflict',
      packet,
      `${dirLabel(this.dir)} offset ${offset}: ${n} byte(s) of packet ${packet} differ from packet ${keptPacket}, which was kept`,
    );
  }
}

function grown<T extends Uint32Array | Float64Array>(old: T, larger: T): T {
  larger.set(old);
  return larger;
}

function copyIntoRing(ring: Buffer, mask: number, seq: number, data: Buffer, from: number, n: number): void {
  const pos = seq & mask;
  const first = Math.min(n, ring.length - pos);
  data.copy(ring, pos, from, from + first);
  if (first < n) data.copy(ring, 0, from + first, from + n);
}

function dirLabel(dir: Direction): string {
  return dir === Direction.ClientToServer ? 'client->server' : 'server->client';
}
