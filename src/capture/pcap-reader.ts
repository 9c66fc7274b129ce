import { CaptureFormatError } from './errors.js';
import type { CaptureFormat } from './raw-packet.js';
import { type PacketCallback, ReaderBase } from './reader-base.js';

/** Magic numbers as read big-endian from the first four bytes. */
export enum PcapMagic {
  MicrosBE = 0xa1b2c3d4,
  MicrosLE = 0xd4c3b2a1,
  NanosBE = 0xa1b23c4d,
  NanosLE = 0x4d3cb2a1,
}

/** magic, version major/minor, thiszone, sigfigs, snaplen, linktype. */
export const PCAP_FILE_HEADER_LENGTH = 24;
/** ts_sec, ts_frac, caplen, origlen. */
export const PCAP_RECORD_HEADER_LENGTH = 16;
/** libpcap's MAXIMUM_SNAPLEN: a larger caplen is accepted only when the snaplen says so. */
const DEFAULT_MAX_CAPLEN = 262_144;
/** Even with a huge snaplen, a record beyond this is treated as a corrupt header (memory guard). */
const HARD_MAX_CAPLEN = 16 * 1024 * 1024;
/** The link-type field's upper bits hold FCS flags (pcap-linktype draft); the type is the low 16. */
const LINKTYPE_MASK = 0xffff;

/** True when the first four bytes are one of the classic pcap magics. */
export function isPcapMagic(magicBE: number): boolean {
  return (
    magicBE === PcapMagic.MicrosBE ||
    magicBE === PcapMagic.MicrosLE ||
    magicBE === PcapMagic.NanosBE ||
    magicBE === PcapMagic.NanosLE
  );
}

/** Push parser for classic libpcap files (µs or ns timestamps, either byte order). */
export class PcapReader extends ReaderBase {
  readonly format: CaptureFormat = 'pcap';
  /** From the file header, once read. */
  littleEndian = true;
  nanosecond = false;
  snaplen = 0;
  linkType = -1;

  private headerDone = false;
  private maxCaplen = DEFAULT_MAX_CAPLEN;

  constructor() {
    super();
    this.need = PCAP_FILE_HEADER_LENGTH;
  }

  protected parse(buf: Buffer, start: number, end: number, onPacket: PacketCallback): number {
    let off = start;
    if (!this.headerDone) {
      if (end - off < PCAP_FILE_HEADER_LENGTH) {
        this.need = PCAP_FILE_HEADER_LENGTH;
        this.needIsHeader = true;
        return off;
      }
      this.readFileHeader(buf, off);
      off += PCAP_FILE_HEADER_LENGTH;
      this.pos += PCAP_FILE_HEADER_LENGTH;
    }
    const le = this.littleEndian;
    const fracPerSec = this.nanosecond ? 1_000_000_000 : 1_000_000;
    const nsPerFrac = this.nanosecond ? 1 : 1000;
    const p = this.packet;
    while (true) {
      const avail = end - off;
      if (avail < PCAP_RECORD_HEADER_LENGTH) {
        this.need = PCAP_RECORD_HEADER_LENGTH;
        this.needIsHeader = true;
        return off;
      }
      const caplen = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
      if (caplen > this.maxCaplen) {
        this.stop(
          'corrupt-record-header',
          `corrupt record header: captured length ${caplen} exceeds the limit of ${this.maxCaplen} bytes`,
        );
        return off;
      }
      const total = PCAP_RECORD_HEADER_LENGTH + caplen;
      if (avail < total) {
        this.need = total;
        this.needIsHeader = false;
        return off;
      }
      let sec = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
      let frac = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
      const origLength = le ? buf.readUInt32LE(off + 12) : buf.readUInt32BE(off + 12);
      if (frac >= fracPerSec) {
        // Some writers overflow the fraction; carry it so tsNsec stays within one second.
        sec += Math.floor(frac / fracPerSec);
        frac %= fracPerSec;
      }
      const index = ++this.packets;
      if (caplen > origLength) {
        this.warn(
          'caplen-exceeds-origlen',
          index,
          this.pos,
          `captured length ${caplen} exceeds original length ${origLength}`,
        );
      }
      p.index = index;
      p.tsSec = sec;
      p.tsNsec = frac * nsPerFrac;
      p.origLength = origLength;
      p.offset = this.pos;
      p.data = buf.subarray(off + PCAP_RECORD_HEADER_LENGTH, off + total);
      off += total;
      this.pos += total;
      onPacket(p);
    }
  }

  protected checkFileHeader(buffered: number): void {
    if (!this.headerDone) {
      throw new CaptureFormatError(
        `file shorter than its pcap file header (${buffered} of ${PCAP_FILE_HEADER_LENGTH} bytes)`,
      );
    }
  }

  private readFileHeader(buf: Buffer, off: number): void {
    const magic = buf.readUInt32BE(off);
    if (!isPcapMagic(magic)) {
      throw new CaptureFormatError(`not a pcap file (magic ${magic.toString(16).padStart(8, '0')})`);
    }
    const le = magic === PcapMagic.MicrosLE || magic === PcapMagic.NanosLE;
    this.littleEndian = le;
    this.nanosecond = magic === PcapMagic.NanosBE || magic === PcapMagic.NanosLE;
    this.snaplen = le ? buf.readUInt32LE(off + 16) : buf.readUInt32BE(off + 16);
    const linkField = le ? buf.readUInt32LE(off + 20) : buf.readUInt32BE(off + 20);
    this.linkType = linkField & LINKTYPE_MASK;
    this.maxCaplen = Math.min(Math.max(this.snaplen, DEFAULT_MAX_CAPLEN), HARD_MAX_CAPLEN);
    this.addLinkType(this.linkType);
    this.packet.linkType = this.linkType;
    this.packet.tsDigits = this.nanosecond ? 9 : 6;
    this.headerDone = true;
  }
}
