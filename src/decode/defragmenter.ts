import type { RawPacket } from '../capture/raw-packet.js';
import { formatAddress } from './address.js';
import { type IpInfo, MAX_DATAGRAM } from './ip.js';
import { markIpv4Reassembled } from './ipv4.js';
import { IPV6_HEADER, markIpv6Reassembled } from './ipv6.js';
import type { DecodeWarning } from './tcp-segment.js';
import { DecodeWarningCode } from './warning-codes.js';

/** Linux's ipfrag_time and most IDS defaults sit around 30-60 s; counted in capture time. */
export const DEFAULT_FRAGMENT_TIMEOUT_SEC = 30;
export const DEFAULT_MAX_FRAGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_FRAGMENT_DATAGRAMS = 10_000;

export interface DefragmenterOptions {
  onWarning: (w: DecodeWarning) => void;
  /** Capture-time seconds an incomplete datagram may wait for its missing fragments. */
  timeoutSec?: number;
  /** Bytes held across all incomplete datagrams (headers + data) before the oldest is dropped. */
  maxBytes?: number;
  /** Incomplete datagrams held before the oldest is dropped. */
  maxDatagrams?: number;
}

/**
 * Size of the blocks held bytes are copied into. A copy per fragment would be a buffer of its
 * own that outlives the young generation whenever datagrams wait long (10,000 of them at the
 * cap): dead, it stays until a full collection, and V8 lets such memory grow by 64 MB first.
 * Blocks are reused as soon as every piece in them is released.
 */
const BLOCK_SIZE = 64 * 1024;
/** Empty blocks kept for reuse. */
const SPARE_BLOCKS = 4;
/** Full blocks a lingering datagram may keep even under a byte cap smaller than this. */
const MIN_BLOCK_ALLOWANCE = 16 * BLOCK_SIZE;

interface Block {
  buf: Buffer;
  /** Bytes handed out from the start. */
  used: number;
  /** Pieces in it not released yet. */
  pieces: number;
}

/** A run of datagram bytes held, at `at` in `block`; runs never overlap (the first copy wins). */
interface Piece {
  start: number;
  end: number;
  block: Block;
  at: number;
}

/** Where fragment bytes are held: copied into shared blocks, each reused once it is empty. */
class PieceStore {
  /** Bytes of the full blocks still holding a piece (the one being filled not counted). */
  retiredBytes = 0;
  private current: Block | null = null;
  private readonly spare: Block[] = [];

  /** Copies src[from, to) in, as the datagram bytes from `start` on. */
  copy(src: Buffer, from: number, to: number, start: number): Piece {
    const length = to - from;
    let block = this.current;
    if (block === null || block.used + length > block.buf.length) block = this.fresh(block);
    const at = block.used;
    src.copy(block.buf, at, from, to);
    block.used += length;
    block.pieces++;
    return { start, end: start + length, block, at };
  }

  release(piece: Piece): void {
    const block = piece.block;
    if (--block.pieces !== 0 || block === this.current) return;
    this.retiredBytes -= block.buf.length;
    if (this.spare.length < SPARE_BLOCKS) {
      block.used = 0;
      this.spare.push(block);
    }
  }

  /** Replaces the full block `old` (a piece is at most 65,535 bytes: it fits an empty block). */
  private fresh(old: Block | null): Block {
    if (old !== null) {
      if (old.pieces === 0) {
        old.used = 0;
        return old;
      }
      this.retiredBytes += old.buf.length;
    }
    const block = this.spare.pop() ?? { buf: Buffer.allocUnsafeSlow(BLOCK_SIZE), used: 0, pieces: 0 };
    this.current = block;
    return block;
  }
}

interface Datagram {
  key: string;
  family: number;
  firstPacket: number;
  /** Capture time of the first fragment, in seconds (a float is fine for a timeout). */
  firstTime: number;
  /** The IP header of the offset-0 fragment (IPv6: the 40-byte fixed header only), as a piece from 0. */
  header: Piece | null;
  /** IPv6: the next header the offset-0 fragment's Fragment header names. */
  next: number;
  /** Sorted by start. */
  pieces: Piece[];
  /** Data bytes held (the pieces' total). */
  covered: number;
  /** Datagram data length, known once the last fragment (no MF) arrived; -1 before. */
  totalLength: number;
  fragments: number;
}

/**
 * Rebuilds fragmented IP datagrams, keyed on (src, dst, proto, id) for IPv4 and (src, dst, id)
 * for IPv6. Fragments may come in any order; overlaps keep the first copy. Incomplete datagrams
 * are bounded by a capture-time timeout and by byte and datagram caps, oldest dropped first.
 */
export class Defragmenter {
  private readonly onWarning: (w: DecodeWarning) => void;
  private readonly timeoutSec: number;
  private readonly maxBytes: number;
  private readonly maxDatagrams: number;
  /** Bytes of full blocks that may stay held (see the byte cap in add). */
  private readonly blockAllowance: number;
  /** Insertion order is arrival order of each datagram's first fragment: oldest first. */
  private readonly datagrams = new Map<string, Datagram>();
  private readonly store = new PieceStore();
  private bytes = 0;

  constructor(options: DefragmenterOptions) {
    this.onWarning = options.onWarning;
    this.timeoutSec = options.timeoutSec ?? DEFAULT_FRAGMENT_TIMEOUT_SEC;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_FRAGMENT_BYTES;
    this.maxDatagrams = options.maxDatagrams ?? DEFAULT_MAX_FRAGMENT_DATAGRAMS;
    this.blockAllowance = Math.max(this.maxBytes, MIN_BLOCK_ALLOWANCE);
  }

  /** Incomplete datagrams held. */
  get pendingDatagrams(): number {
    return this.datagrams.size;
  }

  /** Bytes held for incomplete datagrams. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /**
   * Adds the fragment `info` describes (decoded from `buf`). Returns the rebuilt datagram, IP
   * header first with its length and fragment fields made whole, when this fragment completes
   * it; null otherwise.
   */
  add(packet: RawPacket, buf: Buffer, info: IpInfo): Buffer | null {
    const now = packet.tsSec + packet.tsNsec / 1e9;
    this.expire(now, packet.index);

    const start = info.fragmentOffset;
    const end = start + (info.end - info.payloadOffset);
    const headerLength = info.family === 4 ? info.payloadOffset - info.offset : IPV6_HEADER;
    const limit = info.family === 4 ? MAX_DATAGRAM - headerLength : MAX_DATAGRAM;
    if (end > limit) {
      this.warnBad(packet.index, `fragment bytes ${start}-${end} exceed the largest datagram (${limit})`);
      return null;
    }

    const addressLength = info.family === 4 ? 4 : 16;
    // Source and destination are adjacent in both headers: one string covers both. Fixed
    // lengths (the id in char codes) keep keys distinct; an IPv4 key stays short enough (11
    // chars) to be one flat string rather than a chain of concatenations.
    const addresses = buf.toString('latin1', info.srcOffset, info.dstOffset + addressLength);
    const id = info.fragmentId;
    const key =
      info.family === 4
        ? `4${addresses}${String.fromCharCode(info.protocol, id)}`
        : `6${addresses}${String.fromCharCode(id >>> 16, id & 0xffff)}`;
    let datagram = this.datagrams.get(key);
    if (datagram === undefined) {
      while (this.datagrams.size >= this.maxDatagrams && this.dropOldest(null, 'datagram cap', packet.index));
      datagram = {
        key,
        family: info.family,
        firstPacket: packet.index,
        firstTime: now,
        header: null,
        next: 0,
        pieces: [],
        covered: 0,
        totalLength: -1,
        fragments: 0,
      };
      this.datagrams.set(key, datagram);
    }

    if (!info.moreFragments) {
      if (datagram.totalLength >= 0 && datagram.totalLength !== end) {
        this.warnBad(
          packet.index,
          `${label(datagram)}: a second last fragment ends at ${end}, the first at ${datagram.totalLength}`,
        );
        return null;
      }
      const last = datagram.pieces[datagram.pieces.length - 1];
      if (last !== undefined && last.end > end) {
        this.warnBad(
          packet.index,
          `${label(datagram)}: last fragment ends at ${end}, bytes up to ${last.end} held`,
        );
        return null;
      }
      datagram.totalLength = end;
    } else if (datagram.totalLength >= 0 && end > datagram.totalLength) {
      this.warnBad(
        packet.index,
        `${label(datagram)}: fragment bytes ${start}-${end} lie past the datagram end ${datagram.totalLength}`,
      );
      return null;
    }

    datagram.fragments++;
    if (start === 0 && datagram.header === null) {
      datagram.header = this.store.copy(buf, info.offset, info.offset + headerLength, 0);
      datagram.next = info.protocol;
      this.bytes += headerLength;
    }
    this.bytes += this.insert(datagram, buf, info.payloadOffset, start, end, packet.index);

    if (datagram.header !== null && datagram.totalLength >= 0 && datagram.covered === datagram.totalLength) {
      const whole = rebuild(datagram, datagram.header);
      this.forget(datagram);
      return whole;
    }
    // Only what stays held counts against the cap: a completed datagram is released above. A
    // block is reused only once empty, so a datagram that lingers keeps its block: full blocks
    // still held count against the cap too.
    while (this.bytes > this.maxBytes || this.store.retiredBytes > this.blockAllowance) {
      if (!this.dropOldest(datagram, 'byte cap', packet.index)) {
        this.drop(datagram, 'byte cap', packet.index);
        break;
      }
    }
    return null;
  }

  /** Drops every incomplete datagram, reporting each: call at the end of a capture. */
  flush(packetIndex: number): void {
    for (const datagram of this.datagrams.values()) this.drop(datagram, 'end of capture', packetIndex);
  }

  /** Copies the parts of [start, end) not held yet; returns the bytes added. */
  private insert(
    datagram: Datagram,
    buf: Buffer,
    dataOffset: number,
    start: number,
    end: number,
    packetIndex: number,
  ): number {
    let cursor = start;
    let overlapped = false;
    let differs = false;
    const added: Piece[] = [];
    for (const piece of datagram.pieces) {
      if (piece.end <= cursor) continue;
      if (piece.start >= end) break;
      overlapped = true;
      const from = Math.max(piece.start, cursor);
      const to = Math.min(piece.end, end);
      if (
        buf.compare(
          piece.block.buf,
          piece.at + from - piece.start,
          piece.at + to - piece.start,
          dataOffset + from - start,
          dataOffset + to - start,
        ) !== 0
      ) {
        differs = true;
      }
      if (piece.start > cursor) added.push(this.copyPiece(buf, dataOffset, start, cursor, piece.start));
      cursor = piece.end;
      if (cursor >= end) break;
    }
    if (cursor < end) added.push(this.copyPiece(buf, dataOffset, start, cursor, end));
    if (overlapped) {
      this.onWarning({
        code: DecodeWarningCode.FragmentOverlap,
        packet: packetIndex,
        detail: `${label(datagram)}: fragment bytes ${start}-${end} overlap bytes already held (${
          differs ? 'different' : 'identical'
        } content); the first copy is kept`,
      });
    }
    let total = 0;
    for (const piece of added) total += piece.end - piece.start;
    if (added.length > 0) {
      datagram.pieces.push(...added);
      datagram.pieces.sort((a, b) => a.start - b.start);
      datagram.covered += total;
    }
    return total;
  }

  private expire(now: number, packetIndex: number): void {
    for (const datagram of this.datagrams.values()) {
      // Oldest first: the first one still in time ends the scan.
      if (now - datagram.firstTime <= this.timeoutSec) break;
      this.drop(datagram, `timeout after ${this.timeoutSec} s`, packetIndex);
    }
  }

  /** Drops the oldest datagram other than `keep`; false when there is none. */
  private dropOldest(keep: Datagram | null, reason: string, packetIndex: number): boolean {
    for (const datagram of this.datagrams.values()) {
      if (datagram === keep) continue;
      this.drop(datagram, reason, packetIndex);
      return true;
    }
    return false;
  }

  private drop(datagram: Datagram, reason: string, packetIndex: number): void {
    const held = datagram.covered + headerLength(datagram);
    this.forget(datagram);
    this.onWarning({
      code: DecodeWarningCode.FragmentDropped,
      packet: datagram.firstPacket,
      detail: `incomplete ${label(datagram)} dropped (${reason}, at packet ${packetIndex}): ${held} bytes held in ${
        datagram.fragments
      } fragment${datagram.fragments === 1 ? '' : 's'}`,
    });
  }

  private forget(datagram: Datagram): void {
    this.datagrams.delete(datagram.key);
    this.bytes -= datagram.covered + headerLength(datagram);
    if (datagram.header !== null) this.store.release(datagram.header);
    for (const piece of datagram.pieces) this.store.release(piece);
  }

  /** A copy of the fragment's datagram bytes [from, to); the fragment's data starts at `start`. */
  private copyPiece(buf: Buffer, dataOffset: number, start: number, from: number, to: number): Piece {
    // A copy: the fragment's bytes are a view into a capture chunk that will be reused.
    return this.store.copy(buf, dataOffset + from - start, dataOffset + to - start, from);
  }

  private warnBad(packetIndex: number, detail: string): void {
    this.onWarning({ code: DecodeWarningCode.BadFragment, packet: packetIndex, detail });
  }
}

function headerLength(datagram: Datagram): number {
  return datagram.header === null ? 0 : datagram.header.end;
}

/**
 * "IPv4 10.0.0.1 -> 10.0.0.2 id 0x1c46", for warnings: made from the key when one is needed, not
 * kept for each datagram (a flood holds 10,000 of them).
 */
function label(datagram: Datagram): string {
  const { key, family } = datagram;
  const length = family === 4 ? 4 : 16;
  const addresses = Buffer.from(key.slice(1, 1 + 2 * length), 'latin1');
  const idAt = 1 + 2 * length + (family === 4 ? 1 : 0);
  const id = family === 4 ? key.charCodeAt(idAt) : key.charCodeAt(idAt) * 0x10000 + key.charCodeAt(idAt + 1);
  return `IPv${family} ${formatAddress(addresses, 0, family)} -> ${formatAddress(
    addresses,
    length,
    family,
  )} id 0x${id.toString(16)}`;
}

function rebuild(datagram: Datagram, header: Piece): Buffer {
  const headerBytes = header.end;
  const out = Buffer.allocUnsafe(headerBytes + datagram.totalLength);
  header.block.buf.copy(out, 0, header.at, header.at + headerBytes);
  for (const piece of datagram.pieces)
    piece.block.buf.copy(out, headerBytes + piece.start, piece.at, piece.at + piece.end - piece.start);
  if (datagram.family === 4) markIpv4Reassembled(out, out.length);
  else markIpv6Reassembled(out, datagram.totalLength, datagram.next);
  return out;
}
