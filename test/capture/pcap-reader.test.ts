import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaptureInputError } from '../../src/capture/errors.js';
import { PcapReader } from '../../src/capture/pcap-reader.js';
import { type Frame, writePcap } from '../helpers/capture-writer.js';
import { pattern, readBuffer, readChunked } from './collect.js';

const FRAMES: Frame[] = [
  { data: pattern(60, 1), tsSec: 1_700_000_000, tsNsec: 123_456_789 },
  { data: pattern(1514, 2), tsSec: 1_700_000_001, tsNsec: 0 },
  { data: pattern(0, 3), tsSec: 1_700_000_002, tsNsec: 999_999_999 },
  { data: pattern(96, 4), tsSec: 1_700_000_003, tsNsec: 1000, origLength: 1500 },
];

/** File offset of each record, and the end of the file. */
function recordOffsets(frames: Frame[]): number[] {
  const offsets = [24];
  for (const f of frames) offsets.push(offsets[offsets.length - 1] + 16 + f.data.length);
  return offsets;
}

describe('classic pcap reader', () => {
  const cases = [
    { name: 'a1b2c3d4 µs big-endian', nanosecond: false, bigEndian: true, magic: 'a1b2c3d4' },
    { name: 'd4c3b2a1 µs little-endian', nanosecond: false, bigEndian: false, magic: 'd4c3b2a1' },
    { name: 'a1b23c4d ns big-endian', nanosecond: true, bigEndian: true, magic: 'a1b23c4d' },
    { name: '4d3cb2a1 ns little-endian', nanosecond: true, bigEndian: false, magic: '4d3cb2a1' },
  ];
  for (const c of cases) {
    it(`reads magic ${c.name}`, () => {
      const file = writePcap(FRAMES, { linkType: 1, nanosecond: c.nanosecond, bigEndian: c.bigEndian });
      assert.equal(file.toString('hex', 0, 4), c.magic);
      const { packets, summary } = readBuffer(file);
      assert.deepEqual(summary, {
        file: 'buffer',
        format: 'pcap',
        linkTypes: [1],
        packets: 4,
        bytes: file.length,
        warnings: [],
      });
      const offsets = recordOffsets(FRAMES);
      packets.forEach((p, i) => {
        assert.equal(p.index, i + 1);
        assert.equal(p.linkType, 1);
        assert.equal(p.tsDigits, c.nanosecond ? 9 : 6);
        assert.equal(p.tsSec, FRAMES[i].tsSec);
        // µs files keep only whole microseconds.
        const ns = FRAMES[i].tsNsec;
        assert.equal(p.tsNsec, c.nanosecond ? ns : Math.floor(ns / 1000) * 1000);
        assert.deepEqual(p.data, FRAMES[i].data);
        assert.equal(p.origLength, FRAMES[i].origLength ?? FRAMES[i].data.length);
        assert.equal(p.offset, offsets[i]);
      });
      assert.equal(packets[0].tsNsec, c.nanosecond ? 123_456_789 : 123_456_000);
    });
  }

  it('takes the link type from the low 16 bits (FCS flags above are ignored)', () => {
    const file = writePcap(FRAMES.slice(0, 1), { linkType: 1 });
    // F bit (28) set with an FCS length of 4 in bits 29..31.
    file.writeUInt32LE(((0b1001 << 28) | 1) >>> 0, 20);
    const { packets, summary } = readBuffer(file);
    assert.deepEqual(summary.linkTypes, [1]);
    assert.equal(packets[0].linkType, 1);
  });

  it('emits packets of unknown link types unchanged', () => {
    const { packets, summary } = readBuffer(writePcap(FRAMES, { linkType: 65_000 }));
    assert.equal(packets.length, 4);
    assert.equal(packets[3].linkType, 65_000);
    assert.deepEqual(summary.linkTypes, [65_000]);
  });

  it('carries a fraction of a second or more into the seconds', () => {
    const file = writePcap([{ data: pattern(10, 1), tsSec: 100, tsNsec: 0 }], { linkType: 1 });
    file.writeUInt32LE(2_500_000, 24 + 4);
    const { packets } = readBuffer(file);
    assert.equal(packets[0].tsSec, 102);
    assert.equal(packets[0].tsNsec, 500_000_000);
  });

  it('warns about a captured length above the original length and still emits the packet', () => {
    const frames = [FRAMES[0], { ...FRAMES[1], origLength: 100 }, FRAMES[2]];
    const { packets, summary } = readBuffer(writePcap(frames, { linkType: 1 }));
    assert.equal(packets.length, 3);
    assert.equal(packets[1].data.length, 1514);
    assert.equal(packets[1].origLength, 100);
    assert.deepEqual(summary.warnings, [
      {
        code: 'caplen-exceeds-origlen',
        packet: 2,
        offset: 24 + 16 + 60,
        detail: 'captured length 1514 exceeds original length 100',
      },
    ]);
  });

  it('accepts a caplen above the snaplen but below 256 KiB', () => {
    const { packets, summary } = readBuffer(writePcap(FRAMES, { linkType: 1, snaplen: 64 }));
    assert.equal(packets.length, 4);
    assert.deepEqual(summary.warnings, []);
  });

  for (const caplen of [262_145, 0x7fffffff, 0xffffffff]) {
    it(`stops at a record header with captured length ${caplen}`, () => {
      const file = writePcap(FRAMES, { linkType: 1 });
      const offsets = recordOffsets(FRAMES);
      file.writeUInt32LE(caplen, offsets[2] + 8);
      const { packets, summary } = readBuffer(file);
      assert.deepEqual(
        packets.map((p) => p.index),
        [1, 2],
      );
      assert.equal(summary.packets, 2);
      assert.deepEqual(summary.warnings, [
        {
          code: 'corrupt-record-header',
          packet: 3,
          offset: offsets[2],
          detail: `corrupt record header: captured length ${caplen} exceeds the limit of 262144 bytes`,
        },
      ]);
    });
  }

  it('allows records up to a snaplen above 256 KiB', () => {
    const big = pattern(300_000, 9);
    const { packets, summary } = readBuffer(
      writePcap([{ data: big, tsSec: 1, tsNsec: 0 }], { linkType: 1, snaplen: 400_000 }),
    );
    assert.deepEqual(summary.warnings, []);
    assert.deepEqual(packets[0].data, big);
  });

  it('reports a cut at every offset: each complete packet, then the cut record', () => {
    const file = writePcap(FRAMES, { linkType: 1, nanosecond: true });
    const offsets = recordOffsets(FRAMES);
    for (let cut = 24; cut < file.length; cut++) {
      const { packets, summary } = readBuffer(file.subarray(0, cut));
      const complete = offsets.filter((o, i) => i > 0 && o <= cut).length;
      assert.equal(packets.length, complete, `cut at ${cut}`);
      assert.equal(summary.packets, complete);
      assert.deepEqual(
        packets.map((p) => p.data),
        FRAMES.slice(0, complete).map((f) => f.data),
      );
      const start = offsets[complete];
      if (cut === start) {
        assert.deepEqual(summary.warnings, [], `cut at ${cut}`);
        continue;
      }
      const have = cut - start;
      const total = 16 + FRAMES[complete].data.length;
      const detail =
        have < 16
          ? `truncated record header (${have} of 16 bytes)`
          : `truncated record (${have} of ${total} bytes, ${total - have} missing)`;
      assert.deepEqual(
        summary.warnings,
        [{ code: 'truncated-record', packet: complete + 1, offset: start, detail }],
        `cut at ${cut}`,
      );
    }
  });

  it('refuses a file cut inside its file header', () => {
    const file = writePcap(FRAMES, { linkType: 1 });
    for (const cut of [4, 10, 23]) {
      assert.throws(
        () => readBuffer(file.subarray(0, cut)),
        (err: unknown) =>
          err instanceof CaptureInputError &&
          err.message === `buffer: file shorter than its pcap file header (${cut} of 24 bytes)`,
      );
    }
  });

  it('gives the same packets and warnings for chunks of 1, 7, 4096 bytes and whole', async () => {
    const frames = [...FRAMES, { data: pattern(70_000, 5), tsSec: 5, tsNsec: 5 }, ...FRAMES];
    const whole = writePcap(frames, { linkType: 1, bigEndian: true });
    // Cut inside the last record so the truncation path runs too.
    const file = whole.subarray(0, whole.length - 30);
    const expected = readBuffer(file);
    assert.equal(expected.packets.length, 8);
    assert.equal(expected.summary.warnings.length, 1);
    for (const size of [1, 7, 4096]) {
      const got = await readChunked(file, size);
      assert.deepEqual(got.packets, expected.packets, `chunks of ${size}`);
      assert.deepEqual(got.summary, { ...expected.summary, file: 'stdin' }, `chunks of ${size}`);
    }
  });

  it('reuses one RawPacket object and hands out views', () => {
    const reader = new PcapReader();
    const file = writePcap(FRAMES, { linkType: 1 });
    const seen = new Set<object>();
    reader.push(file, (p) => {
      seen.add(p);
      assert.equal(p.data.buffer, file.buffer);
    });
    reader.finish();
    assert.equal(seen.size, 1);
    assert.equal(reader.packets, 4);
  });

  it('ignores pushes after a corrupt header', () => {
    const file = writePcap(FRAMES, { linkType: 1 });
    file.writeUInt32LE(0xffffffff, 24 + 8);
    const reader = new PcapReader();
    let n = 0;
    reader.push(file, () => n++);
    reader.push(file, () => n++);
    reader.finish();
    assert.equal(n, 0);
    assert.equal(reader.stopped, true);
    assert.equal(reader.warnings.length, 1);
  });
});
