import type { CaptureFormat, CaptureWarning, RawPacket } from './raw-packet.js';

export type PacketCallback = (packet: RawPacket) => void;

/** What readCapture needs from a format reader. */
export interface CaptureReader {
  readonly format: CaptureFormat;
  /** Parses as many whole records of `chunk` as it can, calling `onPacket` synchronously per packet. */
  push(chunk: Buffer, onPacket: PacketCallback): void;
  /** End of input: reports a record cut short. Throws CaptureFormatError if the file header is incomplete. */
  finish(): void;
  /** True once a corrupt header made the reader give up; further pushes are ignored. */
  readonly stopped: boolean;
  /** Packets emitted so far (also the index of the last one). */
  readonly packets: number;
  readonly warnings: CaptureWarning[];
  /** Distinct link types declared by the file header or the IDBs, ascending. */
  linkTypes(): number[];
}

/**
 * Timestamps an ISO 8601 date can show with a four-digit year: 0001-01-01 to 9999-12-31. A pcapng
 * timestamp is 64 bits of units (and if_tsoffset 64 bits of seconds), so a damaged block can claim
 * a second far beyond what a Date holds; such a packet keeps its place with the nearest bound.
 */
export const MIN_TS_SEC = -62_135_596_800;
export const MAX_TS_SEC = 253_402_300_799;

/** A code repeated more often than this is summarised, so a damaged file cannot flood the report. */
const WARNINGS_PER_CODE = 100;
/** First size of the carry buffer; it doubles when a record spanning chunks is larger. */
const INITIAL_CARRY = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * Framing shared by the readers, after pg-protocol's Parser: records are parsed straight out of each
 * chunk; only a record that spans chunks is assembled in a carry buffer (grown by doubling), so a
 * chunk is never copied as a whole.
 *
 * A subclass implements `parse(buf, start, end)`: consume whole records from `start`, stop before
 * one that does not fit and set `need` (bytes that record needs in total, known once its header is
 * in) and `needIsHeader`. `pos` is the file offset of the next unparsed record.
 */
export abstract class ReaderBase implements CaptureReader {
  abstract readonly format: CaptureFormat;
  readonly warnings: CaptureWarning[] = [];
  packets = 0;
  stopped = false;

  protected pos = 0;
  protected need = 0;
  protected needIsHeader = true;
  /** One object reused for every packet (see RawPacket). */
  protected readonly packet: RawPacket = {
    index: 0,
    tsSec: 0,
    tsNsec: 0,
    tsDigits: 6,
    linkType: 0,
    data: EMPTY,
    origLength: 0,
    offset: 0,
  };

  private carry: Buffer = EMPTY;
  private carryLen = 0;
  private readonly seenLinkTypes = new Set<number>();
  private readonly perCode = new Map<string, number>();

  push(chunk: Buffer, onPacket: PacketCallback): void {
    if (this.stopped) return;
    let from = 0;
    // Complete the record that the previous chunk left unfinished, one record only.
    while (this.carryLen > 0) {
      const take = Math.min(this.need - this.carryLen, chunk.length - from);
      this.ensureCarry(this.carryLen + take);
      chunk.copy(this.carry, this.carryLen, from, from + take);
      this.carryLen += take;
      from += take;
      if (this.carryLen < this.need) return;
      const used = this.parse(this.carry, 0, this.carryLen, onPacket);
      if (this.stopped) return;
      // used is 0 when only the header was completed (need now covers the whole record).
      this.carryLen -= used;
    }
    const end = this.parse(chunk, from, chunk.length, onPacket);
    if (this.stopped || end === chunk.length) return;
    const rest = chunk.length - end;
    this.ensureCarry(Math.max(rest, this.need));
    chunk.copy(this.carry, 0, end, chunk.length);
    this.carryLen = rest;
  }

  finish(): void {
    this.checkFileHeader(this.carryLen);
    if (!this.stopped && this.carryLen > 0) {
      const have = this.carryLen;
      const detail = this.needIsHeader
        ? `truncated record header (${have} of ${this.need} bytes)`
        : `truncated record (${have} of ${this.need} bytes, ${this.need - have} missing)`;
      this.warn('truncated-record', this.packets + 1, this.pos, this.describeCut(this.carry, detail));
      this.carryLen = 0;
    }
    for (const [code, n] of this.perCode) {
      if (n > WARNINGS_PER_CODE) {
        this.warnings.push({
          code: 'warnings-suppressed',
          packet: this.packets,
          offset: -1,
          detail: `${n - WARNINGS_PER_CODE} more '${code}' warnings not listed`,
        });
      }
    }
  }

  linkTypes(): number[] {
    return [...this.seenLinkTypes].sort((a, b) => a - b);
  }

  protected abstract parse(buf: Buffer, start: number, end: number, onPacket: PacketCallback): number;

  /** Throws CaptureFormatError when the input ended before the file header was complete. */
  protected abstract checkFileHeader(buffered: number): void;

  /** Lets a reader name what was cut (e.g. the pcapng block type); `head` starts with the record. */
  protected describeCut(_head: Buffer, detail: string): string {
    return detail;
  }

  /** Clamps a timestamp no ISO 8601 date can show (see MAX_TS_SEC), with a warning naming the packet. */
  protected checkTimestamp(p: RawPacket): void {
    const sec = p.tsSec;
    if (sec >= MIN_TS_SEC && sec <= MAX_TS_SEC) return;
    this.warn(
      'bad-timestamp',
      p.index,
      this.pos,
      `timestamp of ${sec} seconds is outside years 1-9999: shown as ${sec > 0 ? '9999-12-31T23:59:59' : '0001-01-01T00:00:00'}`,
    );
    p.tsSec = sec > 0 ? MAX_TS_SEC : MIN_TS_SEC;
    p.tsNsec = 0;
  }

  protected addLinkType(linkType: number): void {
    this.seenLinkTypes.add(linkType);
  }

  protected warn(code: string, packet: number, offset: number, detail: string): void {
    const n = (this.perCode.get(code) ?? 0) + 1;
    this.perCode.set(code, n);
    if (n <= WARNINGS_PER_CODE) this.warnings.push({ code, packet, offset, detail });
  }

  /** Gives up on the rest of the input after a header that cannot be trusted. */
  protected stop(code: string, detail: string): void {
    this.warn(code, this.packets + 1, this.pos, detail);
    this.stopped = true;
    this.carryLen = 0;
  }

  private ensureCarry(size: number): void {
    if (size <= this.carry.length) return;
    let cap = Math.max(this.carry.length * 2, INITIAL_CARRY);
    while (cap < size) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.carry.copy(next, 0, 0, this.carryLen);
    this.carry = next;
  }
}
