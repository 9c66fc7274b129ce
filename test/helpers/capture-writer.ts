/**
 * Builds capture files in memory for tests: classic pcap and pcapng. Only file formats: the frame
 * bytes come from the caller (see frames.ts for Ethernet/IP/TCP builders).
 *
 * Several pcapng sections: write each with writePcapng and Buffer.concat them; each section keeps
 * its own byte order and interfaces.
 */

export interface Frame {
  data: Buffer;
  tsSec: number;
  /** Nanoseconds within the second; stored at the file's resolution (rounded down). */
  tsNsec: number;
  /** Length on the wire; default data.length. */
  origLength?: number;
  /** pcapng only (EPB/PB): index of the interface in the section; default 0. */
  interfaceId?: number;
}

export interface PcapOptions {
  /** LINKTYPE_* value, e.g. 1 for Ethernet. */
  linkType: number;
  nanosecond?: boolean;
  bigEndian?: boolean;
  /** Default 262144. */
  snaplen?: number;
}

export interface PcapngInterface {
  linkType: number;
  /** Raw if_tsresol byte: n for 10^-n, 0x80 | n for 2^-n. Omitted: no option (µs). */
  tsresol?: number;
  /** Default 262144; 0 means no limit. */
  snaplen?: number;
  /** if_tsoffset in seconds; omitted: no option. */
  tsoffset?: number;
  /** if_name; default `if<N>`. */
  name?: string;
}

export interface PcapngOptions {
  interfaces: PcapngInterface[];
  bigEndian?: boolean;
  /** How packets are written: Enhanced (default), Simple (no timestamp, interface 0) or obsolete Packet Blocks. */
  blockKind?: 'epb' | 'spb' | 'pb';
  /** Close every option list with opt_endofopt (default true); false ends them at the block's end. */
  endOfOptions?: boolean;
  /** Insert blocks a reader must skip: a custom block after the IDBs and after every packet, and an ISB at the end. */
  unknownBlocks?: boolean;
  /** Give every EPB/PB an opt_comment `frame N`. */
  packetComments?: boolean;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const DEFAULT_SNAPLEN = 262_144;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const SHB = 0x0a0d0d0a;
const IDB = 1;
const PB = 2;
const SPB = 3;
const ISB = 5;
const EPB = 6;
/** Not a registered type: a reader has to skip it by its length. */
const UNKNOWN_BLOCK = 0x00000bad;
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const SHB_USERAPPL = 4;

/** Little helper that writes integers in one byte order. */
class Out {
  private readonly parts: Buffer[] = [];
  constructor(private readonly bigEndian: boolean) {}

  u16(v: number): this {
    const b = Buffer.alloc(2);
    if (this.bigEndian) b.writeUInt16BE(v);
    else b.writeUInt16LE(v);
    this.parts.push(b);
    return this;
  }

  u32(v: number): this {
    const b = Buffer.alloc(4);
    if (this.bigEndian) b.writeUInt32BE(v >>> 0);
    else b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }

  i32(v: number): this {
    const b = Buffer.alloc(4);
    if (this.bigEndian) b.writeInt32BE(v);
    else b.writeInt32LE(v);
    this.parts.push(b);
    return this;
  }

  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    if (this.bigEndian) b.writeBigUInt64BE(v);
    else b.writeBigUInt64LE(v);
    this.parts.push(b);
    return this;
  }

  i64(v: bigint): this {
    const b = Buffer.alloc(8);
    if (this.bigEndian) b.writeBigInt64BE(v);
    else b.writeBigInt64LE(v);
    this.parts.push(b);
    return this;
  }

  bytes(b: Buffer): this {
    this.parts.push(b);
    return this;
  }

  /** Zero bytes up to the next multiple of 4 of `length`. */
  pad(length: number): this {
    const n = (4 - (length % 4)) % 4;
    if (n > 0) this.parts.push(Buffer.alloc(n));
    return this;
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export function writePcap(frames: Frame[], options: PcapOptions): Buffer {
  const be = options.bigEndian ?? false;
  const out = new Out(be);
  out
    .u32(options.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US)
    .u16(2)
    .u16(4)
    .i32(0)
    .u32(0)
    .u32(options.snaplen ?? DEFAULT_SNAPLEN)
    .u32(options.linkType);
  for (const f of frames) {
    const frac = options.nanosecond ? f.tsNsec : Math.floor(f.tsNsec / 1000);
    out
      .u32(f.tsSec)
      .u32(frac)
      .u32(f.data.length)
      .u32(f.origLength ?? f.data.length)
      .bytes(f.data);
  }
  return out.build();
}

/** One section: SHB, the IDBs, then the packets. */
export function writePcapng(frames: Frame[], options: PcapngOptions): Buffer {
  const be = options.bigEndian ?? false;
  const endOpt = options.endOfOptions ?? true;
  const kind = options.blockKind ?? 'epb';
  const blocks: Buffer[] = [];

  const shbOptions = [option(be, SHB_USERAPPL, Buffer.from('smtpcap tests'))];
  blocks.push(
    block(
      be,
      SHB,
      new Out(be).u32(BYTE_ORDER_MAGIC).u16(1).u16(0).i64(-1n).build(),
      optionList(be, shbOptions, endOpt),
    ),
  );

  options.interfaces.forEach((iface, i) => {
    const opts = [option(be, IF_NAME, Buffer.from(iface.name ?? `if${i}`))];
    if (iface.tsresol !== undefined) opts.push(option(be, IF_TSRESOL, Buffer.from([iface.tsresol])));
    if (iface.tsoffset !== undefined) {
      opts.push(option(be, IF_TSOFFSET, new Out(be).i64(BigInt(iface.tsoffset)).build()));
    }
    const body = new Out(be)
      .u16(iface.linkType)
      .u16(0)
      .u32(iface.snaplen ?? DEFAULT_SNAPLEN)
      .build();
    blocks.push(block(be, IDB, body, optionList(be, opts, endOpt)));
  });
  if (options.unknownBlocks) blocks.push(unknownBlock(be, 0));

  frames.forEach((f, n) => {
    const orig = f.origLength ?? f.data.length;
    const data = new Out(be).bytes(f.data).pad(f.data.length).build();
    if (kind === 'spb') {
      blocks.push(block(be, SPB, Buffer.concat([new Out(be).u32(orig).build(), data]), Buffer.alloc(0)));
    } else {
      const ifId = f.interfaceId ?? 0;
      const iface = options.interfaces[ifId];
      const units = toUnits(f.tsSec, f.tsNsec, iface?.tsresol ?? 6, iface?.tsoffset ?? 0);
      const head = new Out(be);
      if (kind === 'pb') head.u16(ifId).u16(0);
      else head.u32(ifId);
      head
        .u32(Number(units >> 32n))
        .u32(Number(units & 0xffffffffn))
        .u32(f.data.length)
        .u32(orig);
      const opts = options.packetComments ? [option(be, OPT_COMMENT, Buffer.from(`frame ${n + 1}`))] : [];
      blocks.push(
        block(
          be,
          kind === 'pb' ? PB : EPB,
          Buffer.concat([head.build(), data]),
          optionList(be, opts, endOpt),
        ),
      );
    }
    if (options.unknownBlocks) blocks.push(unknownBlock(be, n + 1));
  });

  if (options.unknownBlocks) {
    // Interface Statistics Block: known type, no packet, must be skipped too.
    blocks.push(block(be, ISB, new Out(be).u32(0).u32(0).u32(0).build(), Buffer.alloc(0)));
  }
  return Buffer.concat(blocks);
}

/** Timestamp units for an if_tsresol byte, rounded down like a capture tool would. */
export function toUnits(tsSec: number, tsNsec: number, tsresol: number, tsoffset = 0): bigint {
  const sec = BigInt(tsSec - tsoffset);
  const ns = BigInt(tsNsec);
  const n = BigInt(tsresol & 0x7f);
  if (tsresol & 0x80) return (sec << n) + (ns << n) / 1_000_000_000n;
  const perSec = 10n ** n;
  return n <= 9n ? sec * perSec + ns / 10n ** (9n - n) : sec * perSec + ns * 10n ** (n - 9n);
}

function option(be: boolean, code: number, value: Buffer): Buffer {
  return new Out(be).u16(code).u16(value.length).bytes(value).pad(value.length).build();
}

function optionList(be: boolean, opts: Buffer[], endOfOptions: boolean): Buffer {
  if (opts.length === 0) return Buffer.alloc(0);
  if (endOfOptions) opts.push(new Out(be).u16(OPT_ENDOFOPT).u16(0).build());
  return Buffer.concat(opts);
}

/** type, total length, body (already padded), options, total length again. */
function block(be: boolean, type: number, body: Buffer, options: Buffer): Buffer {
  const total = 12 + body.length + options.length;
  return new Out(be).u32(type).u32(total).bytes(body).bytes(options).u32(total).build();
}

function unknownBlock(be: boolean, n: number): Buffer {
  // A body that is neither empty nor a packet, so skipping has to use the length.
  const body = Buffer.from([0xde, 0xad, 0xbe, 0xef, n & 0xff, 0x55, 0xaa, 0]);
  return block(be, UNKNOWN_BLOCK, body, Buffer.alloc(0));
}
