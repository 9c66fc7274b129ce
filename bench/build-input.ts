/**
 * Builds the benchmark input of issue #6: N copies of the 50 MB perf slice in one classic pcap,
 * each copy with its own client addresses (10.<copy>.c.d, from 127.0.c.d) and its timestamps
 * shifted past the previous copy, so every copy is a set of distinct flows.
 *
 * The slice is read with our own reader (readCapture, once per copy: the page cache keeps it) and
 * written through a fixed 4 MiB buffer with synchronous writes, so memory stays flat whatever N is.
 * IPv4 header and TCP checksums are updated incrementally (RFC 1624): a checksum that was right
 * stays right, one that was wrong (offloaded) stays wrong by the same amount.
 *
 *   node --import tsx bench/build-input.ts [--copies N] [--source FILE] [--out FILE] [--force]
 */
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RawPacket } from '../src/capture/raw-packet.js';
import { readCapture } from '../src/capture/read-capture.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_SOURCE = resolve(HERE, '../../shared/corpus/perf/perf-1g-mtu1500.slice-50mb.pcap');
export const CACHE_DIR = join(tmpdir(), 'smtpcap-bench');
export const DEFAULT_COPIES = 20;
/** Bumped whenever the output of the builder changes, so stale cached inputs are rebuilt. */
const BUILDER_VERSION = 1;
const SMTP_PORTS: ReadonlySet<number> = new Set([25, 465, 587, 2525]);
const OUT_BUFFER = 4 * 1024 * 1024;
const PCAP_HEADER = 24;
const RECORD_HEADER = 16;
const SNAPLEN = 262_144;
const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const NS_PER_S = 1_000_000_000;

export interface BuildOptions {
  copies?: number;
  source?: string;
  /** Output file; default `<CACHE_DIR>/perf-x<copies>.pcap`. */
  out?: string;
  /** Rebuild even when a cached input with the same recipe exists. */
  force?: boolean;
  log?: (line: string) => void;
}

export interface BuiltInput {
  file: string;
  copies: number;
  bytes: number;
  packets: number;
  /** Packets whose client address was rewritten (IPv4 with one side on an SMTP port). */
  rewritten: number;
  /** Packets copied unchanged (not IPv4/TCP-or-UDP, or no side on an SMTP port). */
  unchanged: number;
  linkType: number;
  /** Seconds each copy is shifted from the previous one. */
  shiftSec: number;
  cached: boolean;
}

interface Manifest extends BuiltInput {
  version: number;
  source: string;
  sourceSize: number;
  sourceMtimeMs: number;
}

interface SourceInfo {
  linkType: number;
  nanosecond: boolean;
  firstSec: number;
  lastSec: number;
  packets: number;
}

/** Builds (or finds in the cache) the N-copy capture. */
export async function buildInput(options: BuildOptions = {}): Promise<BuiltInput> {
  const copies = options.copies ?? DEFAULT_COPIES;
  if (!Number.isInteger(copies) || copies < 1 || copies > 255)
    throw new Error(`--copies must be 1..255 (the copy number is the second octet of 10.x.y.z)`);
  const source = resolve(options.source ?? DEFAULT_SOURCE);
  const out = resolve(options.out ?? join(CACHE_DIR, `perf-x${copies}.pcap`));
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const sourceStat = statSync(source);
  const manifestPath = `${out}.json`;
  if (!options.force && existsSync(out) && existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (
      manifest.version === BUILDER_VERSION &&
      manifest.source === source &&
      manifest.sourceSize === sourceStat.size &&
      manifest.sourceMtimeMs === sourceStat.mtimeMs &&
      manifest.copies === copies &&
      statSync(out).size === manifest.bytes
    ) {
      return { ...stripManifest(manifest), cached: true };
    }
  }
  await mkdir(dirname(out), { recursive: true });

  const info = await scanSource(source);
  // Whole seconds, so the nanoseconds of every packet stay exactly as they were.
  const shiftSec = Math.ceil(info.lastSec - info.firstSec) + 1;
  log(
    `building ${out}: ${copies} copies of ${source} (${info.packets} packets, shift ${shiftSec} s per copy)`,
  );
  const tmp = `${out}.tmp-${process.pid}`;
  const writer = new PcapWriter(tmp, info.linkType, info.nanosecond);
  const rewriter = new Rewriter();
  const started = Date.now();
  try {
    for (let copy = 1; copy <= copies; copy++) {
      rewriter.copy = copy;
      const shift = (copy - 1) * shiftSec;
      await readCapture(source, (p) => {
        if (p.linkType !== info.linkType)
          throw new Error(`packet ${p.index}: link type ${p.linkType}; the builder needs a single one`);
        writer.write(p, shift, rewriter.rewrite(p.data, p.linkType));
      });
      if (copy % 10 === 0 || copy === copies)
        log(`  copy ${copy}/${copies}: ${(writer.bytes / 1e6).toFixed(0)} MB, ${Date.now() - started} ms`);
    }
    writer.close();
  } catch (err) {
    writer.close();
    await rm(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, out);
  const built: BuiltInput = {
    file: out,
    copies,
    bytes: writer.bytes,
    packets: writer.packets,
    rewritten: rewriter.rewritten,
    unchanged: rewriter.unchanged,
    linkType: info.linkType,
    shiftSec,
    cached: false,
  };
  const manifest: Manifest = {
    ...built,
    version: BUILDER_VERSION,
    source,
    sourceSize: sourceStat.size,
    sourceMtimeMs: sourceStat.mtimeMs,
  };
  const { cached: _cached, ...stored } = manifest;
  writeFileSync(manifestPath, `${JSON.stringify(stored, null, 2)}\n`);
  return built;
}

function stripManifest(m: Manifest): Omit<BuiltInput, 'cached'> {
  return {
    file: m.file,
    copies: m.copies,
    bytes: m.bytes,
    packets: m.packets,
    rewritten: m.rewritten,
    unchanged: m.unchanged,
    linkType: m.linkType,
    shiftSec: m.shiftSec,
  };
}

/** First pass: link type, time resolution and time span of the source. */
async function scanSource(source: string): Promise<SourceInfo> {
  let linkType = -1;
  let digits = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  const summary = await readCapture(source, (p: RawPacket) => {
    if (linkType < 0) linkType = p.linkType;
    if (p.tsDigits > digits) digits = p.tsDigits;
    const t = p.tsSec + p.tsNsec / NS_PER_S;
    if (t < first) first = t;
    if (t > last) last = t;
  });
  if (summary.packets === 0) throw new Error(`${source}: no packets`);
  if (summary.linkTypes.length !== 1)
    throw new Error(`${source}: link types ${summary.linkTypes.join(', ')}; the builder needs a single one`);
  return { linkType, nanosecond: digits > 6, firstSec: first, lastSec: last, packets: summary.packets };
}

/** Classic pcap through one reused buffer and synchronous writes: flat memory, real backpressure. */
class PcapWriter {
  bytes = 0;
  packets = 0;
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(OUT_BUFFER);
  private used = 0;

  constructor(
    path: string,
    linkType: number,
    private readonly nanosecond: boolean,
  ) {
    this.fd = openSync(path, 'w');
    const h = Buffer.alloc(PCAP_HEADER);
    h.writeUInt32LE(nanosecond ? MAGIC_NS : MAGIC_US, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(SNAPLEN, 16);
    h.writeUInt32LE(linkType, 20);
    this.append(h);
  }

  /** `data` is the packet's bytes (possibly rewritten); the timestamp is shifted by `shiftSec`. */
  write(p: RawPacket, shiftSec: number, data: Buffer): void {
    if (this.used + RECORD_HEADER + data.length > this.buf.length) this.flush();
    const b = this.buf;
    let at = this.used;
    b.writeUInt32LE(p.tsSec + shiftSec, at);
    b.writeUInt32LE(this.nanosecond ? p.tsNsec : Math.floor(p.tsNsec / 1000), at + 4);
    b.writeUInt32LE(data.length, at + 8);
    b.writeUInt32LE(Math.max(p.origLength, data.length), at + 12);
    at += RECORD_HEADER;
    if (data.length > b.length - at) {
      this.used = at;
      this.flush();
      this.writeAll(data);
    } else {
      data.copy(b, at);
      this.used = at + data.length;
    }
    this.bytes += RECORD_HEADER + data.length;
    this.packets++;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private append(chunk: Buffer): void {
    if (this.used + chunk.length > this.buf.length) this.flush();
    chunk.copy(this.buf, this.used);
    this.used += chunk.length;
    this.bytes += chunk.length;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.writeAll(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  private writeAll(data: Buffer): void {
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
  }
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN: ReadonlySet<number> = new Set([0x8100, 0x88a8, 0x9100]);
const PROTO_TCP = 6;
const PROTO_UDP = 17;

/** Rewrites the client address of IPv4 packets in place in a scratch copy of the frame. */
class Rewriter {
  copy = 1;
  rewritten = 0;
  unchanged = 0;
  private scratch = Buffer.allocUnsafe(SNAPLEN);

  rewrite(frame: Buffer, linkType: number): Buffer {
    const ip = ipv4Offset(frame, linkType);
    if (ip < 0 || frame.length < ip + 20) return this.keep(frame);
    const ihl = (frame[ip] & 0x0f) * 4;
    const proto = frame[ip + 9];
    const fragOffset = frame.readUInt16BE(ip + 6) & 0x1fff;
    const l4 = ip + ihl;
    if (ihl < 20 || fragOffset !== 0 || (proto !== PROTO_TCP && proto !== PROTO_UDP) || frame.length < l4 + 4)
      return this.keep(frame);
    const srcPort = frame.readUInt16BE(l4);
    const dstPort = frame.readUInt16BE(l4 + 2);
    // The client is the side that is not on an SMTP port.
    let addrAt: number;
    if (SMTP_PORTS.has(dstPort) && !SMTP_PORTS.has(srcPort)) addrAt = ip + 12;
    else if (SMTP_PORTS.has(srcPort) && !SMTP_PORTS.has(dstPort)) addrAt = ip + 16;
    else return this.keep(frame);

    if (this.scratch.length < frame.length) this.scratch = Buffer.allocUnsafe(frame.length);
    const out = this.scratch.subarray(0, frame.length);
    frame.copy(out);
    const oldHi = out.readUInt16BE(addrAt);
    // 127.0.c.d -> 10.<copy>.c.d: the low half stays, only the high 16 bits change.
    const newHi = (10 << 8) | this.copy;
    out.writeUInt16BE(newHi, addrAt);
    updateChecksum(out, ip + 10, oldHi, newHi);
    // The TCP/UDP checksum covers the pseudo-header, hence the addresses.
    const sumAt = proto === PROTO_TCP ? l4 + 16 : l4 + 6;
    if (out.length >= sumAt + 2) {
      const old = out.readUInt16BE(sumAt);
      // A zero UDP checksum means "none".
      if (!(proto === PROTO_UDP && old === 0)) updateChecksum(out, sumAt, oldHi, newHi);
    }
    this.rewritten++;
    return out;
  }

  private keep(frame: Buffer): Buffer {
    this.unchanged++;
    return frame;
  }
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). */
function updateChecksum(buf: Buffer, at: number, oldWord: number, newWord: number): void {
  let sum = (~buf.readUInt16BE(at) & 0xffff) + (~oldWord & 0xffff) + newWord;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  buf.writeUInt16BE(~sum & 0xffff, at);
}

/** Offset of the IPv4 header, or -1 when the frame does not carry IPv4. */
function ipv4Offset(frame: Buffer, linkType: number): number {
  switch (linkType) {
    case 1: {
      let at = 12;
      if (frame.length < at + 2) return -1;
      let type = frame.readUInt16BE(at);
      while (ETHERTYPE_VLAN.has(type) && frame.length >= at + 6) {
        at += 4;
        type = frame.readUInt16BE(at);
      }
      return type === ETHERTYPE_IPV4 ? at + 2 : -1;
    }
    case 101:
    case 228:
      return frame.length > 0 && frame[0] >> 4 === 4 ? 0 : -1;
    case 0:
    case 108:
      return frame.length > 4 && frame[4] >> 4 === 4 ? 4 : -1;
    case 113:
      return frame.length >= 16 && frame.readUInt16BE(14) === ETHERTYPE_IPV4 ? 16 : -1;
    default:
      return -1;
  }
}

function parseArgs(argv: string[]): BuildOptions {
  const options: BuildOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--copies') options.copies = Number(value());
    else if (arg === '--source') options.source = value();
    else if (arg === '--out') options.out = value();
    else if (arg === '--force') options.force = true;
    else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  buildInput(parseArgs(process.argv.slice(2))).then(
    (built) => {
      process.stdout.write(`${JSON.stringify(built, null, 2)}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`build-input: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
