/**
 * The fuzz targets: one per layer, each an input generator (fast-check arbitrary) and a `run`
 * that feeds one input to the layer and throws when a property breaks. The CI property tests
 * (test/fuzz/*.test.ts) run each with a fixed seed and few runs; `npm run fuzz` (scripts/fuzz.ts)
 * runs them for a long campaign; test/fuzz/regressions.test.ts replays the failing inputs the
 * campaign saved. Properties checked everywhere: no exception escapes (but CaptureInputError for
 * an input that is not a capture), every warning names its packet, nothing hangs, and whatever
 * reaches a terminal is escaped.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { analyseCaptures } from '../../src/analyse.js';
import { CaptureFormatError, CaptureInputError } from '../../src/capture/errors.js';
import type { CaptureWarning, RawPacket } from '../../src/capture/raw-packet.js';
import { createReader, formatWarning, readCaptureBuffer } from '../../src/capture/read-capture.js';
import { MAX_TS_SEC, MIN_TS_SEC } from '../../src/capture/reader-base.js';
import { PacketDecoder } from '../../src/decode/packet-decoder.js';
import { type DecodeWarning, newTcpSegment } from '../../src/decode/tcp-segment.js';
import {
  createMessageParserSink,
  MessageParserSink,
  resolveLimits,
} from '../../src/mail/message-parser-sink.js';
import type { MessageRecord } from '../../src/mail/message-record.js';
import { escapeForTerminal } from '../../src/report/escape.js';
import { jsonDocument, ndjsonLine } from '../../src/report/json.js';
import { renderSessionsTable } from '../../src/report/session-table.js';
import { computeStats, renderStats } from '../../src/report/stats.js';
import { renderTranscript } from '../../src/report/transcript.js';
import type { DialogueEvent } from '../../src/smtp/dialogue.js';
import type { SessionRecord } from '../../src/smtp/records.js';
import { DEFAULT_SMTP_LIMITS, SmtpSession } from '../../src/smtp/smtp-session.js';
import { TcpReassembler } from '../../src/tcp/reassembler.js';
import {
  type CloseReason,
  type ConnectionInfo,
  Direction,
  type DirectionCounts,
} from '../../src/tcp/stream.js';
import { ethernet, fragmentIpv4, fragmentIpv6, ipTcp, loop, sll, sll2 } from '../helpers/frames.js';
import { ACK, Feeder, FIN, Recorder, RST, SYN, setup } from '../helpers/segments.js';
import { messageSeeds, mutate, mutatedSeedArb, mutationArb, seeds, withTimeout } from './kit.js';

/** Characters that must never reach a terminal raw (a newline is the only control we print). */
export const TERMINAL_UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

export function assertTerminalSafe(text: string, what: string): void {
  const m = TERMINAL_UNSAFE.exec(text);
  if (m) {
    const cp = m[0].codePointAt(0)!.toString(16).padStart(4, '0');
    assert.fail(
      `${what}: raw U+${cp} at ${m.index}: ${JSON.stringify(text.slice(Math.max(0, m.index - 40), m.index + 40))}`,
    );
  }
}

const ASYNC_TIMEOUT_MS = 10_000;

// ---- the target interface --------------------------------------------------------------------------

export interface CheckOptions {
  seed: number;
  numRuns: number;
  /** Stop at the first failure without shrinking (the campaign shrinks in a second pass). */
  noShrink?: boolean;
}

export interface CheckResult {
  numRuns: number;
  failed: boolean;
  /** The (shrunk) failing input, when failed. */
  counterexample: unknown;
  error: string;
}

/** A target with its input type erased, so the campaign and the replay can list them together. */
export interface Target {
  readonly name: string;
  readonly description: string;
  check(options: CheckOptions): Promise<CheckResult>;
  /** Runs one saved input; throws as `run` does. */
  replay(input: unknown): Promise<void>;
}

interface TargetSpec<T> {
  name: string;
  description: string;
  arbitrary: () => fc.Arbitrary<T>;
  run: (input: T) => void | Promise<void>;
}

function defineTarget<T>(spec: TargetSpec<T>): Target {
  return {
    name: spec.name,
    description: spec.description,
    async check(options: CheckOptions): Promise<CheckResult> {
      const property = fc.asyncProperty(spec.arbitrary(), async (input) => {
        await spec.run(input);
      });
      const details = await fc.check(property, {
        seed: options.seed,
        numRuns: options.numRuns,
        endOnFailure: options.noShrink === true,
      });
      const error = details.errorInstance instanceof Error ? (details.errorInstance.stack ?? '') : '';
      return {
        numRuns: details.numRuns,
        failed: details.failed,
        counterexample: details.counterexample?.[0] ?? null,
        error: error || String(details.errorInstance ?? ''),
      };
    },
    async replay(input: unknown): Promise<void> {
      await spec.run(input as T);
    },
  };
}

// ---- capture readers -----------------------------------------------------------------------------

interface ReadOutcome {
  packets: string[];
  warnings: CaptureWarning[];
  /** The CaptureFormatError / CaptureInputError reason, or null. */
  error: string | null;
}

function describePacket(p: RawPacket): string {
  return `${p.index}@${p.offset} ${p.linkType} ${p.tsSec}.${p.tsNsec}/${p.tsDigits} ${p.origLength} ${p.data.toString('hex')}`;
}

/** Checks what every packet a reader emits must satisfy, and describes it for comparison. */
function checkPacket(p: RawPacket, expectedIndex: number, fileLength: number, lastOffset: number): void {
  assert.equal(p.index, expectedIndex, 'packet numbers run 1, 2, 3, ...');
  assert.ok(Number.isInteger(p.offset) && p.offset > lastOffset, `offset ${p.offset} grows`);
  assert.ok(p.offset + p.data.length <= fileLength, 'packet bytes inside the file');
  assert.ok(p.data.length <= 16 * 1024 * 1024, 'packet within the hard cap');
  assert.ok(p.tsNsec >= 0 && p.tsNsec < 1_000_000_000, `tsNsec ${p.tsNsec} within a second`);
  assert.ok(p.tsSec >= MIN_TS_SEC && p.tsSec <= MAX_TS_SEC, `seconds ${p.tsSec} within years 1-9999`);
}

function checkWarnings(warnings: CaptureWarning[], fileLength: number, packets: number): void {
  for (const w of warnings) {
    assert.ok(typeof w.code === 'string' && w.code.length > 0, 'warning code');
    assert.ok(
      Number.isInteger(w.packet) && w.packet >= 0 && w.packet <= packets + 1,
      `warning packet ${w.packet}`,
    );
    assert.ok(
      Number.isInteger(w.offset) && w.offset >= -1 && w.offset <= fileLength,
      `warning offset ${w.offset}`,
    );
    assert.ok(typeof w.detail === 'string' && w.detail.length > 0, 'warning detail');
    assertTerminalSafe(escapeForTerminal(formatWarning('f', w)), 'warning line');
  }
}

/** Reads with readCaptureBuffer (one chunk): the reference. */
function readWhole(file: Buffer): ReadOutcome {
  const packets: string[] = [];
  let last = -1;
  try {
    const summary = readCaptureBuffer(file, (p) => {
      checkPacket(p, packets.length + 1, file.length, last);
      last = p.offset;
      packets.push(describePacket(p));
    });
    assert.equal(summary.packets, packets.length, 'summary counts the packets');
    assert.equal(summary.bytes, file.length, 'summary counts every byte');
    checkWarnings(summary.warnings, file.length, packets.length);
    return { packets, warnings: summary.warnings, error: null };
  } catch (err) {
    if (err instanceof CaptureInputError) {
      assert.equal(packets.length, 0, 'an input error comes before any packet');
      return { packets, warnings: [], error: err.reason };
    }
    throw err;
  }
}

/** Reads through a reader pushed in chunks of the given sizes (cycled), as a file read would. */
function readChunked(file: Buffer, sizes: number[]): ReadOutcome {
  if (file.length < 4) return { packets: [], warnings: [], error: 'short' };
  const reader = createReader(file);
  if (typeof reader === 'string') return { packets: [], warnings: [], error: reader };
  const packets: string[] = [];
  try {
    let at = 0;
    let i = 0;
    while (at < file.length) {
      const size = Math.max(1, sizes.length === 0 ? file.length : sizes[i++ % sizes.length]);
      reader.push(file.subarray(at, at + size), (p) => packets.push(describePacket(p)));
      at += size;
    }
    reader.finish();
  } catch (err) {
    if (err instanceof CaptureFormatError) return { packets, warnings: [], error: err.message };
    throw err;
  }
  return { packets, warnings: reader.warnings, error: null };
}

function checkCapture(file: Buffer, chunkSizes: number[]): void {
  const whole = readWhole(file);
  if (whole.error !== null && file.length < 4) return;
  const chunked = readChunked(file, chunkSizes);
  if (whole.error !== null) {
    assert.notEqual(chunked.error, null, 'chunked read fails too');
    return;
  }
  assert.equal(chunked.error, null, `chunked read failed: ${chunked.error}`);
  assert.deepEqual(chunked.packets, whole.packets, 'the same packets whatever the chunking');
  assert.deepEqual(chunked.warnings, whole.warnings, 'the same warnings whatever the chunking');
}

// Structured random captures: headers, block lengths and option lists of our own choosing.

const u32 = (v: number, be: boolean): Buffer => {
  const b = Buffer.alloc(4);
  if (be) b.writeUInt32BE(v >>> 0);
  else b.writeUInt32LE(v >>> 0);
  return b;
};
const u16 = (v: number, be: boolean): Buffer => {
  const b = Buffer.alloc(2);
  if (be) b.writeUInt16BE(v & 0xffff);
  else b.writeUInt16LE(v & 0xffff);
  return b;
};
const pad4 = (b: Buffer): Buffer =>
  b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);

interface OptionSpec {
  code: number;
  value: Uint8Array;
  /** A length field that lies, or null for the true one. */
  lengthOverride: number | null;
}

const optionArb: fc.Arbitrary<OptionSpec> = fc.record({
  code: fc.oneof(fc.constantFrom(0, 1, 2, 9, 14, 0x8000), fc.nat({ max: 0xffff })),
  value: fc.oneof(
    fc.uint8Array({ maxLength: 12 }),
    fc.constantFrom(
      Uint8Array.of(6),
      Uint8Array.of(9),
      Uint8Array.of(0x80 | 20),
      Uint8Array.of(0xff),
      Uint8Array.of(0x7f),
      Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x80),
    ),
  ),
  lengthOverride: fc.option(fc.oneof(fc.nat({ max: 0xffff }), fc.constantFrom(0xffff, 0xfffc)), { freq: 5 }),
});

function optionBytes(options: OptionSpec[], be: boolean): Buffer {
  return Buffer.concat(
    options.map((o) =>
      Buffer.concat([
        u16(o.code, be),
        u16(o.lengthOverride ?? o.value.length, be),
        pad4(Buffer.from(o.value)),
      ]),
    ),
  );
}

type BlockSpec =
  | { kind: 'shb'; be: boolean; badMagic: boolean; options: OptionSpec[] }
  | { kind: 'idb'; linkType: number; snaplen: number; options: OptionSpec[] }
  | {
      kind: 'epb' | 'pb';
      iface: number;
      hi: number;
      lo: number;
      data: Uint8Array;
      caplen: number | null;
      orig: number;
      options: OptionSpec[];
    }
  | { kind: 'spb'; orig: number; data: Uint8Array }
  | { kind: 'other'; type: number; body: Uint8Array };

interface PcapngSpec {
  blocks: { block: BlockSpec; lengthOverride: number | null; trailerOverride: number | null }[];
}

const LINK_TYPES = [0, 1, 101, 108, 113, 228, 229, 276];

const blockArb: fc.Arbitrary<BlockSpec> = fc.oneof(
  fc.record({
    kind: fc.constant('shb' as const),
    be: fc.boolean(),
    badMagic: fc.boolean(),
    options: fc.array(optionArb, { maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('idb' as const),
    linkType: fc.oneof(fc.constantFrom(...LINK_TYPES), fc.nat({ max: 0xffff })),
    snaplen: fc.oneof(fc.constantFrom(0, 64, 262_144, 0xffffffff), fc.nat({ max: 0xffffffff })),
    options: fc.array(optionArb, { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constantFrom('epb' as const, 'pb' as const),
    iface: fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: 0xffffffff })),
    hi: fc.oneof(fc.nat({ max: 0x1ffff }), fc.nat({ max: 0xffffffff })),
    lo: fc.nat({ max: 0xffffffff }),
    data: fc.uint8Array({ maxLength: 120 }),
    caplen: fc.option(fc.oneof(fc.nat({ max: 200 }), fc.constantFrom(0xffffffff, 0x7fffffff)), { freq: 4 }),
    orig: fc.nat({ max: 0xffffffff }),
    options: fc.array(optionArb, { maxLength: 2 }),
  }),
  fc.record({
    kind: fc.constant('spb' as const),
    orig: fc.nat({ max: 0xffffffff }),
    data: fc.uint8Array({ maxLength: 80 }),
  }),
  fc.record({
    kind: fc.constant('other' as const),
    type: fc.oneof(fc.constantFrom(4, 5, 7, 9, 10, 0x0bad, 0x80000001), fc.nat({ max: 0xffffffff })),
    body: fc.uint8Array({ maxLength: 40 }),
  }),
);

const pcapngArb: fc.Arbitrary<PcapngSpec> = fc.record({
  blocks: fc.array(
    fc.record({
      block: blockArb,
      lengthOverride: fc.option(
        fc.oneof(fc.nat({ max: 200 }), fc.constantFrom(...[0, 8, 12, 13, 0xfffffffc, 0xffffffff])),
        { freq: 8 },
      ),
      trailerOverride: fc.option(fc.nat({ max: 0xffffffff }), { freq: 10 }),
    }),
    { maxLength: 12 },
  ),
});

function buildPcapng(spec: PcapngSpec, firstBe: boolean): Buffer {
  // A section header first, unless the generator's blocks begin with one of their own.
  const parts: Buffer[] = [];
  let be = firstBe;
  const first = spec.blocks[0]?.block.kind === 'shb';
  const blocks = first
    ? spec.blocks
    : [
        {
          block: { kind: 'shb', be, badMagic: false, options: [] } as BlockSpec,
          lengthOverride: null,
          trailerOverride: null,
        },
        ...spec.blocks,
      ];
  for (const { block, lengthOverride, trailerOverride } of blocks) {
    let type: number;
    let body: Buffer;
    switch (block.kind) {
      case 'shb':
        be = block.be;
        type = 0x0a0d0d0a;
        body = Buffer.concat([
          u32(block.badMagic ? 0xdeadbeef : 0x1a2b3c4d, be),
          u16(1, be),
          u16(0, be),
          Buffer.alloc(8, 0xff),
          optionBytes(block.options, be),
        ]);
        break;
      case 'idb':
        type = 1;
        body = Buffer.concat([
          u16(block.linkType, be),
          u16(0, be),
          u32(block.snaplen, be),
          optionBytes(block.options, be),
        ]);
        break;
      case 'epb':
      case 'pb': {
        type = block.kind === 'epb' ? 6 : 2;
        const id =
          block.kind === 'epb' ? u32(block.iface, be) : Buffer.concat([u16(block.iface, be), u16(0, be)]);
        body = Buffer.concat([
          id,
          u32(block.hi, be),
          u32(block.lo, be),
          u32(block.caplen ?? block.data.length, be),
          u32(block.orig, be),
          pad4(Buffer.from(block.data)),
          optionBytes(block.options, be),
        ]);
        break;
      }
      case 'spb':
        type = 3;
        body = Buffer.concat([u32(block.orig, be), pad4(Buffer.from(block.data))]);
        break;
      case 'other':
        type = block.type;
        body = pad4(Buffer.from(block.body));
        break;
    }
    const len = 12 + body.length;
    parts.push(
      u32(type, be),
      u32(lengthOverride ?? len, be),
      body,
      u32(trailerOverride ?? lengthOverride ?? len, be),
    );
  }
  return Buffer.concat(parts);
}

interface PcapSpec {
  magic: number;
  be: boolean;
  snaplen: number;
  linkType: number;
  records: { sec: number; frac: number; data: Uint8Array; caplen: number | null; orig: number | null }[];
}

const pcapArb: fc.Arbitrary<PcapSpec> = fc.record({
  magic: fc.oneof(fc.constantFrom(0xa1b2c3d4, 0xa1b23c4d), fc.nat({ max: 0xffffffff })),
  be: fc.boolean(),
  snaplen: fc.oneof(fc.constantFrom(0, 65535, 262_144, 0xffffffff), fc.nat({ max: 0xffffffff })),
  linkType: fc.oneof(fc.constantFrom(...LINK_TYPES), fc.nat({ max: 0xffffffff })),
  records: fc.array(
    fc.record({
      sec: fc.nat({ max: 0xffffffff }),
      frac: fc.oneof(fc.nat({ max: 999_999 }), fc.nat({ max: 0xffffffff })),
      data: fc.uint8Array({ maxLength: 100 }),
      caplen: fc.option(
        fc.oneof(fc.nat({ max: 300 }), fc.constantFrom(0xffffffff, 262_145, 16 * 1024 * 1024 + 1)),
        { freq: 6 },
      ),
      orig: fc.option(fc.nat({ max: 0xffffffff }), { freq: 2 }),
    }),
    { maxLength: 10 },
  ),
});

function buildPcap(spec: PcapSpec): Buffer {
  const be = spec.be;
  const parts: Buffer[] = [
    u32(spec.magic, be),
    u16(2, be),
    u16(4, be),
    u32(0, be),
    u32(0, be),
    u32(spec.snaplen, be),
    u32(spec.linkType, be),
  ];
  for (const r of spec.records) {
    parts.push(
      u32(r.sec, be),
      u32(r.frac, be),
      u32(r.caplen ?? r.data.length, be),
      u32(r.orig ?? r.data.length, be),
      Buffer.from(r.data),
    );
  }
  return Buffer.concat(parts);
}

const chunkSizesArb = fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 6 });

export const captureReaders = defineTarget<{ file: Buffer; chunks: number[] }>({
  name: 'capture-readers',
  description: 'pcap and pcapng readers: mutated real captures and random headers, blocks and option lists',
  arbitrary: () =>
    fc.record({
      file: fc.oneof(
        { weight: 3, arbitrary: mutatedSeedArb() },
        { weight: 1, arbitrary: pcapArb.map(buildPcap) },
        { weight: 2, arbitrary: fc.tuple(pcapngArb, fc.boolean()).map(([s, be]) => buildPcapng(s, be)) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
      ),
      chunks: chunkSizesArb,
    }),
  run: ({ file, chunks }) => checkCapture(file, chunks),
});

/**
 * The file offsets where each record (pcap) or block (pcapng) ends, walking the structure of a
 * well-formed capture, and for each the number of packets complete by then.
 */
export function recordEnds(file: Buffer): { end: number; packets: number }[] {
  const out: { end: number; packets: number }[] = [];
  const magic = file.readUInt32BE(0);
  if (magic === 0x0a0d0d0a) {
    let at = 0;
    let le = true;
    let packets = 0;
    while (at + 12 <= file.length) {
      const typeLE = file.readUInt32LE(at);
      if (typeLE === 0x0a0d0d0a) le = file.readUInt32LE(at + 8) === 0x1a2b3c4d;
      const type = le ? typeLE : file.readUInt32BE(at);
      const len = le ? file.readUInt32LE(at + 4) : file.readUInt32BE(at + 4);
      if (type === 2 || type === 3 || type === 6) packets++;
      at += len;
      out.push({ end: at, packets });
    }
    return out;
  }
  const le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  let at = 24;
  let packets = 0;
  out.push({ end: 24, packets: 0 });
  while (at + 16 <= file.length) {
    const caplen = le ? file.readUInt32LE(at + 8) : file.readUInt32BE(at + 8);
    at += 16 + caplen;
    packets++;
    out.push({ end: at, packets });
  }
  return out;
}

/**
 * A well-formed capture cut at `cut`: every packet complete before the cut is emitted, and a cut
 * inside a record is one `truncated-record` warning naming the next packet number and the offset
 * where the cut record began; a cut inside the file header is a CaptureInputError.
 */
export function checkTruncation(file: Buffer, cut: number, ends = recordEnds(file)): void {
  const part = file.subarray(0, cut);
  const headerEnd = ends[0].end;
  const complete = [...ends].reverse().find((e) => e.end <= cut);
  let packets = 0;
  let summary: ReturnType<typeof readCaptureBuffer>;
  try {
    summary = readCaptureBuffer(part, () => {
      packets++;
    });
  } catch (err) {
    if (err instanceof CaptureInputError && cut < headerEnd) return;
    throw err;
  }
  assert.ok(
    cut >= headerEnd || file.readUInt32BE(0) === 0x0a0d0d0a,
    `cut ${cut} inside the file header read without error`,
  );
  const expected = complete?.packets ?? 0;
  assert.equal(packets, expected, `cut at ${cut}: packets before the damage`);
  const atBoundary = complete !== undefined && complete.end === cut;
  const truncated = summary.warnings.filter((w) => w.code === 'truncated-record');
  if (atBoundary) assert.equal(summary.warnings.length, 0, `cut at ${cut} on a record boundary: no warning`);
  else {
    assert.equal(
      truncated.length,
      1,
      `cut at ${cut}: one truncated-record warning (${JSON.stringify(summary.warnings)})`,
    );
    const w = truncated[0];
    assert.equal(w.packet, expected + 1, 'the warning names the packet that was cut');
    assert.equal(w.offset, complete?.end ?? 0, 'the warning gives the offset of the cut record');
  }
}

export const captureTruncation = defineTarget<{ seed: number; cut: number }>({
  name: 'capture-truncation',
  description: 'every real capture cut at a random offset: packets before the cut kept, one warning',
  arbitrary: () => fc.record({ seed: fc.nat({ max: seeds().length - 1 }), cut: fc.nat({ max: 100_000 }) }),
  run: ({ seed, cut }) => {
    const file = seeds()[seed % seeds().length].bytes;
    checkTruncation(file, cut % (file.length + 1));
  },
});

// ---- decoder ---------------------------------------------------------------------------------------

interface PacketSpec {
  linkType: number;
  data: Uint8Array;
  /** Bytes the snaplen cut (origLength - data.length). */
  cut: number;
}

const addrPairArb = fc.oneof(
  fc.constant(['10.0.0.1', '10.0.0.2']),
  fc.constant(['2001:db8::1', '2001:db8::2']),
);

const tcpIpArb = fc
  .record({
    addrs: addrPairArb,
    sport: fc.nat({ max: 65535 }),
    dport: fc.constantFrom(25, 587, 465, 2525, 80),
    seq: fc.nat({ max: 0xffffffff }),
    flags: fc.nat({ max: 0x3f }),
    payload: fc.uint8Array({ maxLength: 300 }),
    tcpOptions: fc.option(fc.uint8Array({ maxLength: 40 }), { freq: 3 }),
    ipOptions: fc.option(fc.uint8Array({ maxLength: 40 }), { freq: 4 }),
    ext: fc.option(
      fc.array(
        fc.record({ type: fc.constantFrom(0, 43, 60, 51, 44), body: fc.uint8Array({ maxLength: 14 }) }),
        { maxLength: 3 },
      ),
      { freq: 3 },
    ),
  })
  .map((s) => {
    const v6 = s.addrs[0].includes(':');
    return ipTcp({
      src: s.addrs[0],
      dst: s.addrs[1],
      sport: s.sport,
      dport: s.dport,
      seq: s.seq,
      flags: s.flags,
      payload: Buffer.from(s.payload),
      tcpOptions: s.tcpOptions ? Buffer.from(s.tcpOptions) : undefined,
      options: v6 ? undefined : s.ipOptions ? Buffer.from(s.ipOptions) : undefined,
      extensionHeaders:
        v6 && s.ext ? s.ext.map((e) => ({ type: e.type, body: Buffer.from(e.body) })) : undefined,
    });
  });

function framed(ip: Buffer, kind: number, family: number): PacketSpec {
  switch (kind) {
    case 0:
      return { linkType: 1, data: ethernet(ip, { family }), cut: 0 };
    case 1:
      return {
        linkType: 1,
        data: ethernet(ip, { family, vlans: [10, 20], tpids: [0x88a8, 0x8100] }),
        cut: 0,
      };
    case 2:
      return { linkType: 113, data: sll(ip, family), cut: 0 };
    case 3:
      return { linkType: 276, data: sll2(ip, family), cut: 0 };
    case 4:
      return { linkType: 0, data: loop(ip, family), cut: 0 };
    default:
      return { linkType: family === 6 ? 229 : 101, data: ip, cut: 0 };
  }
}

const packetListArb: fc.Arbitrary<PacketSpec[]> = fc.oneof(
  // Random bytes on any link type.
  fc.array(
    fc.record({
      linkType: fc.oneof(fc.constantFrom(...LINK_TYPES), fc.nat({ max: 0xffff })),
      data: fc.uint8Array({ maxLength: 200 }),
      cut: fc.oneof(fc.constant(0), fc.nat({ max: 70_000 })),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  // Valid frames, then mutated headers.
  fc.array(
    fc
      .tuple(
        tcpIpArb,
        fc.nat({ max: 5 }),
        fc.array(
          mutationArb().map((m) => ({ ...m, at: m.at % 80 })),
          { maxLength: 4 },
        ),
        fc.nat({ max: 40 }),
      )
      .map(([ip, kind, ms, cut]) => {
        const p = framed(ip, kind, ip[0] >> 4);
        return { ...p, data: mutate(Buffer.from(p.data), ms), cut: cut < 30 ? 0 : cut };
      }),
    { minLength: 1, maxLength: 6 },
  ),
  // Fragments of valid datagrams, shuffled, some lost or damaged.
  fc
    .tuple(
      tcpIpArb,
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.array(
        mutationArb().map((m) => ({ ...m, at: m.at % 60 })),
        { maxLength: 3 },
      ),
      fc.nat({ max: 5 }),
    )
    .map(([ip, sizes, order, ms, kind]) => {
      const v6 = ip[0] >> 4 === 6;
      let frags: Buffer[];
      try {
        frags = v6
          ? fragmentIpv6(
              ip,
              sizes.map((s) => s * 8),
            )
          : fragmentIpv4(
              ip,
              sizes.map((s) => s * 8),
            );
      } catch {
        frags = [ip];
      }
      const picked = order.length === 0 ? frags : order.map((o) => frags[o % frags.length]);
      return picked.map((f, i) => framed(i === 0 ? mutate(f, ms) : f, kind, v6 ? 6 : 4));
    }),
);

export function runDecoder(packets: PacketSpec[]): void {
  const warnings: DecodeWarning[] = [];
  const decoder = new PacketDecoder({ onWarning: (w) => warnings.push(w), maxFragmentDatagrams: 4 });
  const seg = newTcpSegment();
  packets.forEach((spec, i) => {
    const data = Buffer.from(spec.data);
    const index = i + 1;
    const before = warnings.length;
    const ok = decoder.decode(
      {
        index,
        tsSec: 1000 + i,
        tsNsec: 0,
        tsDigits: 6,
        linkType: spec.linkType,
        data,
        origLength: data.length + spec.cut,
        offset: 24,
      },
      seg,
    );
    for (const w of warnings.slice(before)) {
      // A warning is about this packet, or about an earlier fragment of a datagram it touched.
      assert.ok(
        Number.isInteger(w.packet) && w.packet >= 1 && w.packet <= index,
        `warning packet ${w.packet} of ${index}`,
      );
      assert.ok(w.code.length > 0 && w.detail.length > 0);
    }
    if (ok) {
      assert.equal(seg.packet, index);
      assert.ok(seg.family === 4 || seg.family === 6);
      const addr = seg.family === 4 ? 4 : 16;
      assert.ok(
        seg.srcAddrOffset + addr <= seg.ipBuffer.length && seg.dstAddrOffset + addr <= seg.ipBuffer.length,
      );
      assert.ok(seg.srcPort >= 0 && seg.srcPort <= 65535 && seg.dstPort >= 0 && seg.dstPort <= 65535);
      assert.ok(seg.seq >= 0 && seg.seq <= 0xffffffff && seg.ack >= 0 && seg.ack <= 0xffffffff);
      assert.ok(seg.payload.length <= 65535 && seg.missingPayload >= 0);
    }
  });
  decoder.flush(packets.length);
  for (const w of warnings)
    assert.ok(w.packet >= 0 && w.packet <= packets.length, `warning packet ${w.packet}`);
}

export const decoder = defineTarget<PacketSpec[]>({
  name: 'decoder',
  description: 'link, IP (with fragments) and TCP headers: random, valid-then-mutated and fragmented',
  arbitrary: () => packetListArb,
  run: runDecoder,
});

// ---- reassembler -----------------------------------------------------------------------------------

interface SegmentSpec {
  from: number;
  to: number;
  seq: number;
  ack: number;
  flags: number;
  data: Uint8Array;
  missing: number;
  dt: number;
}

const ENDPOINTS = ['10.0.0.1:40000', '10.0.0.2:25', '10.0.0.3:25', '10.0.0.1:40001'];

const segmentArb: fc.Arbitrary<SegmentSpec> = fc.record({
  from: fc.nat({ max: 3 }),
  to: fc.nat({ max: 3 }),
  seq: fc.oneof(
    fc.integer({ min: 999_990, max: 1_001_000 }),
    fc.nat({ max: 0xffffffff }),
    fc.integer({ min: 0xffffff00, max: 0xffffffff }),
  ),
  ack: fc.oneof(fc.integer({ min: 1_999_990, max: 2_001_000 }), fc.nat({ max: 0xffffffff })),
  flags: fc.oneof(
    fc.constantFrom(ACK, SYN, SYN | ACK, FIN | ACK, RST, RST | ACK, ACK | 0x08),
    fc.nat({ max: 0x3f }),
  ),
  data: fc.uint8Array({ maxLength: 64 }),
  missing: fc.oneof(fc.constant(0), fc.nat({ max: 2000 })),
  dt: fc.oneof(fc.constant(0), fc.nat({ max: 3 }), fc.constant(700)),
});

export const reassemblerRandom = defineTarget<{ segments: SegmentSpec[]; cap: number }>({
  name: 'reassembler-random',
  description: 'random segments over a few endpoints: the seam rules hold (RecordedConnection checks them)',
  arbitrary: () =>
    fc.record({
      segments: fc.array(segmentArb, { maxLength: 40 }),
      cap: fc.constantFrom(64, 1024, 4 * 1024 * 1024),
    }),
  run: ({ segments, cap }) => {
    const rec = new Recorder();
    const r = new TcpReassembler(rec, { maxBufferedBytesPerDirection: cap, maxConnections: 3 });
    const feeder = new Feeder(r);
    const ep = (i: number) => {
      const t = ENDPOINTS[i];
      const c = t.lastIndexOf(':');
      return { ip: t.slice(0, c), port: Number(t.slice(c + 1)) };
    };
    for (const s of segments) {
      if (s.from === s.to) continue;
      feeder.tsSec += s.dt;
      feeder.push({
        src: ep(s.from),
        dst: ep(s.to),
        seq: s.seq,
        ack: s.ack,
        flags: s.flags,
        data: Buffer.from(s.data),
        missing: s.missing,
      });
    }
    r.finish();
    for (const c of rec.conns) assert.ok(c.closed, 'every connection closed at the end');
  },
});

interface SpanInput {
  data: Uint8Array;
  isn: number;
  cuts: number[];
  keep: boolean[];
  dups: number[];
  order: number[];
  fin: boolean;
  handshake: boolean;
}

export const reassemblerSpan = defineTarget<SpanInput>({
  name: 'reassembler-span',
  description:
    'pieces of a known stream lost, duplicated and reordered: delivered + gaps = span, bytes exact',
  arbitrary: () =>
    fc.record({
      data: fc.uint8Array({ minLength: 1, maxLength: 2000 }),
      isn: fc.oneof(fc.nat({ max: 0xffffffff }), fc.integer({ min: 0xfffff000, max: 0xffffffff })),
      cuts: fc.array(fc.nat({ max: 1999 }), { maxLength: 20 }),
      keep: fc.array(fc.boolean(), { minLength: 21, maxLength: 21 }),
      dups: fc.array(fc.nat({ max: 20 }), { maxLength: 5 }),
      order: fc.array(fc.nat(), { minLength: 30, maxLength: 30 }),
      fin: fc.boolean(),
      handshake: fc.boolean(),
    }),
  run: (input) => {
    const data = Buffer.from(input.data);
    const n = data.length;
    const points = [...new Set(input.cuts.filter((c) => c > 0 && c < n))].sort((a, b) => a - b);
    const bounds = [0, ...points, n];
    const pieces: { start: number; end: number }[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      if (input.keep[i % input.keep.length] || i === 0) pieces.push({ start: bounds[i], end: bounds[i + 1] });
    }
    for (const d of input.dups) pieces.push(pieces[d % pieces.length]);
    const keyed = pieces.map((p, i) => ({ p, key: i + (input.order[i % input.order.length] % 4) }));
    keyed.sort((a, b) => a.key - b.key);
    const { r, rec, talk } = setup();
    const isn = input.isn;
    if (input.handshake) {
      talk.c(isn, '', { flags: SYN });
      talk.s(7, '', { flags: SYN | ACK, ack: (isn + 1) >>> 0 });
    }
    // Without a handshake the stream starts at the first piece seen; the first in stream order
    // is sent first so the span is known.
    if (!input.handshake) keyed.sort((a, b) => (a.p.start === 0 ? -1 : b.p.start === 0 ? 1 : 0));
    for (const { p } of keyed)
      talk.c((isn + 1 + p.start) >>> 0, '', { data: data.subarray(p.start, p.end), flags: ACK, ack: 8 });
    if (input.fin) talk.c((isn + 1 + n) >>> 0, '', { flags: FIN | ACK, ack: 8 });
    r.finish();
    const c = rec.only;
    const counts = c.closed!.counts[Direction.ClientToServer];
    const maxEnd = Math.max(...pieces.map((p) => p.end));
    const span = input.fin ? n : maxEnd;
    assert.equal(counts.delivered + counts.gaps, span, 'delivered + gaps = span');
    // The bytes delivered are the stream's own bytes at their places.
    let at = 0;
    for (const e of c.events) {
      if (e.kind === 'data' && e.dir === Direction.ClientToServer) {
        assert.equal(e.text, data.toString('latin1', at, at + e.text.length), `bytes at ${at}`);
        at += e.text.length;
      } else if (e.kind === 'gap' && e.dir === Direction.ClientToServer) at += e.length;
    }
    assert.equal(at, span);
  },
});

// ---- SMTP session ----------------------------------------------------------------------------------

const enc = (s: string): Buffer => Buffer.from(s, 'latin1');

const clientTokenArb: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(
        'EHLO client.example\r\n',
        'HELO x\r\n',
        'LHLO y\r\n',
        'MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME\r\n',
        'MAIL FROM:<>\r\n',
        'MAIL FROM:<a@b\r\n',
        'RCPT TO:<c@d.example>\r\n',
        'RCPT TO:<"q x"@d> NOTIFY=NEVER\r\n',
        'DATA\r\n',
        'Subject: hi\r\n\r\nbody\r\n.\r\n',
        '..dot\r\n',
        '.\r\n',
        '\n.\n',
        '\r\n.\n',
        'BDAT 5\r\nhello',
        'BDAT 0 LAST\r\n',
        'BDAT 3 LAST\r\nxyz',
        'BDAT 9223372036854775808\r\n',
        'BDAT -1\r\n',
        'BDAT 99999999999999 LAST\r\n',
        'AUTH PLAIN AGEAYg==\r\n',
        'AUTH PLAIN\r\n',
        'AUTH LOGIN\r\n',
        'dXNlcg==\r\n',
        '*\r\n',
        'AUTH CRAM-MD5\r\n',
        'AUTH XOAUTH2 eA==\r\n',
        'STARTTLS\r\n',
        'RSET\r\n',
        'QUIT\r\n',
        'NOOP\r\n',
        'VRFY x\r\n',
        'XCLIENT ADDR=1.2.3.4 NAME=x\r\n',
        'XFORWARD HELO=x\r\n',
        'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n',
        'bare lf\n',
        'cr\rinside\r\n',
        '\x1b]0;title\x07\r\n',
        'GET / HTTP/1.1\r\n',
      )
      .map(enc),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 60 })
      .map((b) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, b.length]), Buffer.from(b)])),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => Buffer.from(`${s}\r\n`)) },
);

const serverTokenArb: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(
        '220 mx.example ESMTP\r\n',
        '220-first\r\n220 second\r\n',
        '250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n',
        '250 ok\r\n',
        '250 2.1.5 ok\r\n',
        '250 2.0.0 Ok: queued as ABC123\r\n',
        '354 go ahead\r\n',
        '334 VXNlcm5hbWU6\r\n',
        '334 \r\n',
        '334 PDEyMzQ1QGV4YW1wbGU+\r\n',
        '235 2.7.0 ok\r\n',
        '535 5.7.8 no\r\n',
        '421 bye\r\n',
        '450 later\r\n',
        '550 5.1.1 no\r\n',
        '221 bye\r\n',
        '500 what\r\n',
        '250-cut',
        '25',
        '0 x\r\n',
        'no code\r\n',
        '999 odd\r\n',
        '220 ready for TLS\r\n',
      )
      .map(enc),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 80 })
      .map((b) => Buffer.concat([Buffer.from([0x16, 0x03, 0x03, 0x00, b.length]), Buffer.from(b)])),
  },
);

type SmtpOp = { dir: 0 | 1; bytes: Uint8Array } | { dir: 0 | 1; gap: number };

interface SmtpInput {
  ops: SmtpOp[];
  sawSyn: boolean;
  implicitTls: boolean;
  reason: CloseReason;
  small: boolean;
}

const smtpOpArb: fc.Arbitrary<SmtpOp> = fc.oneof(
  { weight: 10, arbitrary: clientTokenArb.map((bytes) => ({ dir: 0 as const, bytes })) },
  { weight: 10, arbitrary: serverTokenArb.map((bytes) => ({ dir: 1 as const, bytes })) },
  {
    weight: 1,
    arbitrary: fc.record({
      dir: fc.constantFrom(0 as const, 1 as const),
      gap: fc.integer({ min: 1, max: 5000 }),
    }),
  },
);

const smtpInputArb: fc.Arbitrary<SmtpInput> = fc.record({
  ops: fc.array(smtpOpArb, { maxLength: 60 }),
  sawSyn: fc.boolean(),
  implicitTls: fc.boolean(),
  reason: fc.constantFrom<CloseReason>('fin', 'rst', 'end-of-capture', 'idle', 'evicted'),
  small: fc.boolean(),
});

export function fakeConnectionInfo(sawSyn: boolean): ConnectionInfo {
  return {
    client: { ip: '10.0.0.1', port: 40000 },
    server: { ip: '10.0.0.2', port: 25 },
    family: 4,
    vlan: -1,
    first: { packet: 1, tsSec: 1_700_000_000, tsNsec: 0 },
    tsDigits: 6,
    roleSource: sawSyn ? 'syn' : 'port',
    sawSyn,
  };
}

/** Feeds one session's ops to an SmtpSession (with the MIME sink) and renders the record everywhere. */
export async function runSmtpSession(input: SmtpInput): Promise<void> {
  const records: SessionRecord<MessageRecord>[] = [];
  let ready: Promise<void> | null = null;
  const events: DialogueEvent[] = [];
  const limits = input.small
    ? {
        maxLineBytes: 64,
        maxPendingBytes: 128,
        maxAnomalies: 5,
        maxRecipients: 2,
        maxCommands: 5,
        maxAuthAttempts: 2,
        maxTransactions: 3,
      }
    : DEFAULT_SMTP_LIMITS;
  const session = new SmtpSession<MessageRecord>({
    id: 'S1',
    info: fakeConnectionInfo(input.sawSyn),
    implicitTls: input.implicitTls,
    limits,
    hashMessages: true,
    messageSink: createMessageParserSink({ maxParts: 20, maxDepth: 4 }),
    dialogue: (_id, e) => events.push({ ...e, bytes: Buffer.from(e.bytes) }),
    onRecord: (record, r) => {
      records.push(record);
      ready = r;
    },
  });
  const counts: [DirectionCounts, DirectionCounts] = [
    { delivered: 0, duplicates: 0, gaps: 0, packets: 0 },
    { delivered: 0, duplicates: 0, gaps: 0, packets: 0 },
  ];
  input.ops.forEach((op, i) => {
    const at = { packet: i + 2, tsSec: 1_700_000_000 + i, tsNsec: 0 };
    const dir = op.dir === 0 ? Direction.ClientToServer : Direction.ServerToClient;
    counts[op.dir].packets++;
    if ('gap' in op) {
      session.gap(dir, op.gap, at);
      counts[op.dir].gaps += op.gap;
    } else if (op.bytes.length > 0) {
      // A view into a scratch buffer scribbled on afterwards, as the reassembler hands it over.
      const scratch = Buffer.from(op.bytes);
      session.data(dir, scratch, at);
      scratch.fill(0xee);
      counts[op.dir].delivered += op.bytes.length;
    }
  });
  session.close(input.reason, counts, { packet: input.ops.length + 2, tsSec: 1_700_000_100, tsNsec: 0 });
  assert.equal(records.length, 1, 'one record per session');
  if (ready) await withTimeout(ready, ASYNC_TIMEOUT_MS, 'message sinks');
  const record = records[0];
  assert.ok(record.commands.length <= limits.maxCommands, 'commands capped');
  assert.ok(record.anomalies.length <= limits.maxAnomalies + 2, 'anomalies capped');
  for (const tx of record.transactions)
    assert.ok(tx.rcptTo.length <= limits.maxRecipients, 'recipients capped');
  for (const a of record.anomalies) assert.ok(Number.isInteger(a.packet), 'anomaly packet');
  JSON.parse(ndjsonLine(record));
  assertTerminalSafe(renderTranscript(record, events, { colour: false }), 'transcript');
  assertTerminalSafe(renderSessionsTable([record], { colour: false }), 'sessions table');
  assertTerminalSafe(renderStats(computeStats([record]), { colour: false }), 'stats');
}

export const smtpSession = defineTarget<SmtpInput>({
  name: 'smtp-session',
  description: 'random command and reply streams with binary junk and gaps, straight into SmtpSession',
  arbitrary: () => smtpInputArb,
  run: runSmtpSession,
});

// ---- MIME ------------------------------------------------------------------------------------------

interface MimeNode {
  multipart: boolean;
  boundary: string;
  children: MimeNode[];
  encoding: string;
  body: string;
  closeBoundary: boolean;
  extraHeader: string;
}

const mimeLeafArb: fc.Arbitrary<MimeNode> = fc.record({
  multipart: fc.constant(false),
  boundary: fc.constant(''),
  children: fc.constant([]),
  encoding: fc.constantFrom('7bit', 'base64', 'quoted-printable', '8bit', 'x-uuencode', 'bogus', ''),
  body: fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.constantFrom('SGVsbG8=\r\n', '=E9t=C3=A9=\r\n', '====\r\n', '!!!!', 'begin 644 x\r\n`\r\nend\r\n'),
  ),
  closeBoundary: fc.constant(true),
  extraHeader: fc.constantFrom(
    '',
    'Content-Disposition: attachment; filename="../../etc/passwd"\r\n',
    "Content-Type: text/plain; name*=utf-8''%E2%80%AE.txt\r\n",
    'Subject: =?utf-8?B?4oCu?=\r\n',
    `X-Long: ${'a'.repeat(2000)}\r\n`,
  ),
});

const mimeTreeArb: fc.Arbitrary<MimeNode> = fc.letrec<{ node: MimeNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    mimeLeafArb,
    fc.record({
      multipart: fc.constant(true),
      boundary: fc.constantFrom('b1', 'b2', 'b', '', 'b1 ', '--', 'x'.repeat(80)),
      children: fc.array(tie('node'), { maxLength: 4 }),
      encoding: fc.constant(''),
      body: fc.constant(''),
      closeBoundary: fc.boolean(),
      extraHeader: fc.constant(''),
    }),
  ),
})).node;

function renderMime(node: MimeNode, top: boolean): string {
  const head = top ? 'From: a@b\r\nTo: c@d\r\nSubject: fuzz\r\nMIME-Version: 1.0\r\n' : '';
  if (!node.multipart) {
    const enc = node.encoding ? `Content-Transfer-Encoding: ${node.encoding}\r\n` : '';
    return `${head}Content-Type: text/plain\r\n${enc}${node.extraHeader}\r\n${node.body}\r\n`;
  }
  const b = node.boundary;
  let out = `${head}Content-Type: multipart/mixed; boundary="${b}"\r\n\r\npreamble\r\n`;
  for (const child of node.children) out += `--${b}\r\n${renderMime(child, false)}`;
  if (node.closeBoundary) out += `--${b}--\r\nepilogue\r\n`;
  return out;
}

interface MimeInput {
  message: Uint8Array;
  cuts: number[];
  gapAt: number | null;
}

const mimeInputArb: fc.Arbitrary<MimeInput> = fc.record({
  message: fc.oneof(
    mimeTreeArb.map((t) => Buffer.from(renderMime(t, true), 'utf8')),
    fc
      .tuple(
        fc.nat({ max: Math.max(0, messageSeeds().length - 1) }),
        fc.array(mutationArb(), { minLength: 1, maxLength: 10 }),
      )
      .map(([i, ms]) => mutate(messageSeeds()[i] ?? Buffer.alloc(0), ms)),
  ),
  cuts: fc.array(fc.nat({ max: 5000 }), { maxLength: 8 }),
  gapAt: fc.option(fc.nat({ max: 5000 }), { freq: 4 }),
});

export async function runMime(input: MimeInput): Promise<void> {
  const msg = Buffer.from(input.message);
  const limits = resolveLimits({ maxParts: 30, maxDepth: 6 });
  const sink = new MessageParserSink(limits);
  const points = [...new Set(input.cuts.map((c) => c % (msg.length + 1)))].sort((a, b) => a - b);
  let at = 0;
  for (const p of [...points, msg.length]) {
    if (input.gapAt !== null && at <= input.gapAt % (msg.length + 1) && input.gapAt % (msg.length + 1) < p)
      sink.gap(17);
    if (p > at) {
      const chunk = Buffer.from(msg.subarray(at, p));
      sink.write(chunk);
      chunk.fill(0xee);
    }
    at = p;
  }
  const record = await withTimeout(sink.end(), ASYNC_TIMEOUT_MS, 'MessageParserSink.end()');
  assert.ok(record.parts.length <= limits.maxParts + 1, `parts capped (${record.parts.length})`);
  JSON.parse(JSON.stringify(record));
}

export const mime = defineTarget<MimeInput>({
  name: 'mime',
  description: 'generated MIME trees and mutated real messages, written in random chunks with gaps',
  arbitrary: () => mimeInputArb,
  run: runMime,
});

// ---- whole pipeline --------------------------------------------------------------------------------

/** The whole pipe in-process on one capture held in memory, with every reporter. */
export async function runPipeline(file: Buffer): Promise<void> {
  const events = new Map<string, DialogueEvent[]>();
  let result: Awaited<ReturnType<typeof analyseCaptures<MessageRecord>>>;
  try {
    result = await withTimeout(
      analyseCaptures<MessageRecord>(['-'], {
        read: { stdin: Readable.from([file]) },
        messageSink: createMessageParserSink(),
        dialogue: (id, e) => {
          const list = events.get(id) ?? [];
          list.push({ ...e, bytes: Buffer.from(e.bytes) });
          events.set(id, list);
        },
      }),
      ASYNC_TIMEOUT_MS,
      'analyseCaptures',
    );
  } catch (err) {
    if (err instanceof CaptureInputError) {
      assert.ok(!err.message.includes('\n'), 'one line');
      return;
    }
    throw err;
  }
  const { inputs, sessions } = result;
  JSON.parse(jsonDocument(inputs, sessions, '0'));
  for (const w of inputs[0].warnings) assertTerminalSafe(escapeForTerminal(formatWarning('f', w)), 'warning');
  assertTerminalSafe(renderSessionsTable(sessions, { colour: false }), 'sessions table');
  assertTerminalSafe(renderStats(computeStats(sessions), { colour: false }), 'stats');
  for (const s of sessions)
    assertTerminalSafe(renderTranscript(s, events.get(s.id) ?? [], { colour: false }), 'transcript');
}

export const pipeline = defineTarget<Buffer>({
  name: 'pipeline',
  description: 'mutated real captures through the whole pipe and every reporter, in-process',
  arbitrary: () => mutatedSeedArb(6),
  run: runPipeline,
});

export const TARGETS: readonly Target[] = [
  captureReaders,
  captureTruncation,
  decoder,
  reassemblerRandom,
  reassemblerSpan,
  smtpSession,
  mime,
  pipeline,
];

export function targetByName(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}

/** A CI run of one target: a fixed seed, few runs; a failure prints the input to save and replay. */
export async function assertTarget(target: Target, numRuns: number, seed: number): Promise<void> {
  const result = await target.check({ seed, numRuns });
  if (result.failed) {
    const { serialise } = await import('./kit.js');
    assert.fail(
      `${target.name} failed (seed ${seed}): ${result.error}\ninput: ${serialise(result.counterexample).slice(0, 4000)}`,
    );
  }
}
