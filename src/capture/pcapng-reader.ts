import { CaptureFormatError } from './errors.js';
import type { CaptureFormat } from './raw-packet.js';
import { type PacketCallback, ReaderBase } from './reader-base.js';
import { DEFAULT_TIME_BASE, setTimestamp, type TimeBase, timeBaseFromTsresol } from './time-base.js';

export enum BlockType {
  /** Obsolete Packet Block. */
  Packet = 0x00000002,
  InterfaceDescription = 0x00000001,
  SimplePacket = 0x00000003,
  EnhancedPacket = 0x00000006,
  /** Reads the same in both byte orders, so it can be found before the byte order is known. */
  SectionHeader = 0x0a0d0d0a,
}

enum OptionCode {
  EndOfOptions = 0,
  IfTsresol = 9,
  IfTsoffset = 14,
}

/** Written in the SHB in the writer's byte order. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Block type + block total length. */
const BLOCK_HEADER_LENGTH = 8;
/** Type, length and byte-order magic: enough to read an SHB's length in the right order. */
const SHB_PREFIX_LENGTH = 12;
/** Type, length, trailing length: the smallest block there is. */
const MIN_BLOCK_LENGTH = 12;
/** Wireshark's own cap; anything larger is a damaged header, not a block. */
const MAX_BLOCK_LENGTH = 16 * 1024 * 1024;
/** Fixed part + 12 bytes of framing, per block type. */
const SHB_MIN = 28;
const IDB_MIN = 20;
const EPB_MIN = 32;
const SPB_MIN = 16;
const PB_MIN = 32;
/** Offset of the packet bytes within EPB/PB and SPB. */
const EPB_DATA = 28;
const SPB_DATA = 12;
/** Offset of the options within an IDB. */
const IDB_OPTIONS = 16;

interface Interface {
  linkType: number;
  /** 0 means no limit. */
  snaplen: number;
  time: TimeBase;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Push parser for pcapng: several sections (each with its own byte order and interfaces), several
 * IDBs with their own link type and time resolution, EPB, SPB and obsolete PB; other blocks are
 * skipped by their length.
 */
export class PcapngReader extends ReaderBase {
  readonly format: CaptureFormat = 'pcapng';
  private littleEndian = true;
  private sections = 0;
  private interfaces: Interface[] = [];

  constructor() {
    super();
    this.need = SHB_PREFIX_LENGTH;
  }

  protected parse(buf: Buffer, start: number, end: number, onPacket: PacketCallback): number {
    let off = start;
    while (true) {
      const avail = end - off;
      if (avail < BLOCK_HEADER_LENGTH) return this.wantHeader(off, BLOCK_HEADER_LENGTH);
      let le = this.littleEndian;
      const type = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
      if (type === BlockType.SectionHeader) {
        if (avail < SHB_PREFIX_LENGTH) return this.wantHeader(off, SHB_PREFIX_LENGTH);
        if (buf.readUInt32LE(off + 8) === BYTE_ORDER_MAGIC) le = true;
        else if (buf.readUInt32BE(off + 8) === BYTE_ORDER_MAGIC) le = false;
        else {
          const found = buf.toString('hex', off + 8, off + 12);
          return this.corrupt(off, `section header with a bad byte-order magic (${found})`);
        }
      } else if (this.sections === 0) {
        throw new CaptureFormatError('not a pcapng file (no section header block first)');
      }
      const len = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
      const bad = checkLength(type, len);
      if (bad !== '') return this.corrupt(off, bad);
      if (avail < len) {
        this.need = len;
        this.needIsHeader = false;
        return off;
      }
      const trailer = le ? buf.readUInt32LE(off + len - 4) : buf.readUInt32BE(off + len - 4);
      if (trailer !== len) {
        return this.corrupt(
          off,
          `block of type 0x${hex(type)}: trailing length ${trailer} differs from ${len}`,
        );
      }
      switch (type) {
        case BlockType.SectionHeader:
          this.littleEndian = le;
          this.sections += 1;
          // Interface ids are per section.
          this.interfaces = [];
          break;
        case BlockType.InterfaceDescription:
          this.readInterface(buf, off, len);
          break;
        case BlockType.EnhancedPacket:
        case BlockType.Packet:
          if (!this.readPacket(buf, off, len, type, onPacket)) return off;
          break;
        case BlockType.SimplePacket:
          this.readSimplePacket(buf, off, len, onPacket);
          break;
        default:
          // Name resolution, statistics, secrets, custom and unknown blocks carry no packets.
          break;
      }
      off += len;
      this.pos += len;
    }
  }

  protected checkFileHeader(buffered: number): void {
    if (this.sections === 0) {
      const of = this.needIsHeader ? `${SHB_PREFIX_LENGTH}` : `${this.need}`;
      throw new CaptureFormatError(
        `file shorter than its pcapng section header (${buffered} of ${of} bytes)`,
      );
    }
  }

  protected override describeCut(head: Buffer, detail: string): string {
    if (this.needIsHeader || head.length < 4) return detail;
    const type = this.littleEndian ? head.readUInt32LE(0) : head.readUInt32BE(0);
    return `${detail} in a block of type 0x${hex(type)}`;
  }

  private wantHeader(off: number, length: number): number {
    this.need = length;
    this.needIsHeader = true;
    return off;
  }

  private corrupt(off: number, detail: string): number {
    if (this.sections === 0) throw new CaptureFormatError(`not a valid pcapng file: ${detail}`);
    this.stop('corrupt-block', `corrupt block: ${detail}`);
    return off;
  }

  private u32(buf: Buffer, at: number): number {
    return this.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
  }

  private u16(buf: Buffer, at: number): number {
    return this.littleEndian ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
  }

  private readInterface(buf: Buffer, off: number, len: number): void {
    const linkType = this.u16(buf, off + 8);
    const snaplen = this.u32(buf, off + 12);
    let tsresol = 6;
    let tsoffset = 0;
    // Options run to opt_endofopt or to the trailing length, whichever comes first.
    const end = off + len - 4;
    let at = off + IDB_OPTIONS;
    while (at + 4 <= end) {
      const code = this.u16(buf, at);
      const optLen = this.u16(buf, at + 2);
      if (code === OptionCode.EndOfOptions) break;
      const value = at + 4;
      if (value + optLen > end) {
        this.warn(
          'corrupt-option',
          this.packets + 1,
          this.pos,
          `interface option ${code} overruns its block`,
        );
        break;
      }
      if (code === OptionCode.IfTsresol && optLen >= 1) tsresol = buf[value];
      else if (code === OptionCode.IfTsoffset && optLen >= 8) {
        tsoffset = Number(this.littleEndian ? buf.readBigInt64LE(value) : buf.readBigInt64BE(value));
      }
      at = value + pad4(optLen);
    }
    const time = tsresol === 6 && tsoffset === 0 ? DEFAULT_TIME_BASE : timeBaseFromTsresol(tsresol, tsoffset);
    this.interfaces.push({ linkType, snaplen, time });
    this.addLinkType(linkType);
  }

  /** EPB and the obsolete PB share their layout but for a 16-bit interface id. Returns false to stop. */
  private readPacket(buf: Buffer, off: number, len: number, type: number, onPacket: PacketCallback): boolean {
    const ifId = type === BlockType.Packet ? this.u16(buf, off + 8) : this.u32(buf, off + 8);
    const caplen = this.u32(buf, off + 20);
    const origLength = this.u32(buf, off + 24);
    if (caplen > len - EPB_MIN) {
      this.corrupt(off, `captured length ${caplen} does not fit in a block of ${len} bytes`);
      return false;
    }
    const iface = this.interfaces[ifId];
    if (iface === undefined) {
      this.warn(
        'unknown-interface',
        this.packets + 1,
        this.pos,
        `packet on undeclared interface ${ifId} skipped`,
      );
      return true;
    }
    const p = this.packet;
    const index = ++this.packets;
    if (caplen > origLength) {
      this.warn(
        'caplen-exceeds-origlen',
        index,
        this.pos,
        `captured length ${caplen} exceeds original length ${origLength}`,
      );
    }
    setTimestamp(p, iface.time, this.u32(buf, off + 12), this.u32(buf, off + 16));
    p.index = index;
    this.checkTimestamp(p);
    p.tsDigits = iface.time.digits;
    p.linkType = iface.linkType;
    p.origLength = origLength;
    p.offset = this.pos;
    p.data = buf.subarray(off + EPB_DATA, off + EPB_DATA + caplen);
    onPacket(p);
    return true;
  }

  private readSimplePacket(buf: Buffer, off: number, len: number, onPacket: PacketCallback): void {
    const iface = this.interfaces[0];
    if (iface === undefined) {
      this.warn(
        'unknown-interface',
        this.packets + 1,
        this.pos,
        'simple packet block before any interface skipped',
      );
      return;
    }
    const origLength = this.u32(buf, off + 8);
    // An SPB has no captured length: it is the original length cut by the snaplen (and the block).
    let caplen = Math.min(origLength, len - SPB_MIN);
    if (iface.snaplen !== 0 && iface.snaplen < caplen) caplen = iface.snaplen;
    const p = this.packet;
    p.index = ++this.packets;
    // No timestamp in an SPB.
    p.tsSec = 0;
    p.tsNsec = 0;
    p.tsDigits = iface.time.digits;
    p.linkType = iface.linkType;
    p.origLength = origLength;
    p.offset = this.pos;
    p.data = buf.subarray(off + SPB_DATA, off + SPB_DATA + caplen);
    onPacket(p);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Why a block length cannot be right, or '' when it can. */
function checkLength(type: number, len: number): string {
  if (len < MIN_BLOCK_LENGTH) return `block length ${len} is below the minimum of ${MIN_BLOCK_LENGTH}`;
  if (len % 4 !== 0) return `block length ${len} is not a multiple of 4`;
  if (len > MAX_BLOCK_LENGTH) return `block length ${len} exceeds ${MAX_BLOCK_LENGTH}`;
  let min = MIN_BLOCK_LENGTH;
  switch (type) {
    case BlockType.SectionHeader:
      min = SHB_MIN;
      break;
    case BlockType.InterfaceDescription:
      min = IDB_MIN;
      break;
    case BlockType.EnhancedPacket:
      min = EPB_MIN;
      break;
    case BlockType.SimplePacket:
      min = SPB_MIN;
      break;
    case BlockType.Packet:
      min = PB_MIN;
      break;
  }
  return len < min ? `block of type 0x${hex(type)} is ${len} bytes, below its minimum of ${min}` : '';
}
