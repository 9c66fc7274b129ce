import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaptureInputError } from '../../src/capture/errors.js';
import { type Frame, type PcapngOptions, writePcapng } from '../helpers/capture-writer.js';
import { pattern, readBuffer, readChunked } from './collect.js';

const FRAMES: Frame[] = [
  { data: pattern(60, 1), tsSec: 1_796_313_633, tsNsec: 510_946_729 },
  { data: pattern(1514, 2), tsSec: 1_796_313_634, tsNsec: 0 },
  { data: pattern(61, 3), tsSec: 1_796_313_635, tsNsec: 999_999_999, origLength: 1000 },
];

interface Block {
  type: number;
  offset: number;
  length: number;
}

/** Walks a well-formed section the test wrote (to know where to cut or damage it). */
function blocks(file: Buffer, bigEndian = false): Block[] {
  const out: Block[] = [];
  for (let off = 0; off < file.length; ) {
    const type = bigEndian ? file.readUInt32BE(off) : file.readUInt32LE(off);
    const length = bigEndian ? file.readUInt32BE(off + 4) : file.readUInt32LE(off + 4);
    out.push({ type, offset: off, length });
    off += length;
  }
  return out;
}

const ETHERNET = 1;
const RAW_IP = 101;
const SLL = 113;

describe('pcapng reader', () => {
  for (const bigEndian of [false, true]) {
    it(`reads a ${bigEndian ? 'big' : 'little'}-endian section with EPBs (default µs resolution)`, () => {
      const file = writePcapng(FRAMES, { interfaces: [{ linkType: ETHERNET }], bigEndian });
      assert.equal(file.toString('hex', 8, 12), bigEndian ? '1a2b3c4d' : '4d3c2b1a');
      const { packets, summary } = readBuffer(file);
      const epbs = blocks(file, bigEndian).filter((b) => b.type === 6);
      assert.deepEqual(summary, {
        file: 'buffer',
        format: 'pcapng',
        linkTypes: [ETHERNET],
        packets: 3,
        bytes: file.length,
        warnings: [],
      });
      assert.deepEqual(
        packets.map((p) => [p.index, p.tsSec, p.tsNsec, p.tsDigits, p.linkType, p.origLength, p.offset]),
        [
          [1, 1_796_313_633, 510_946_000, 6, ETHERNET, 60, epbs[0].offset],
          [2, 1_796_313_634, 0, 6, ETHERNET, 1514, epbs[1].offset],
          [3, 1_796_313_635, 999_999_000, 6, ETHERNET, 1000, epbs[2].offset],
        ],
      );
      assert.deepEqual(
        packets.map((p) => p.data),
        FRAMES.map((f) => f.data),
      );
    });
  }

  it('keeps each interface its own link type and resolution (10^-9, 2^-20, 10^-3)', () => {
    const options: PcapngOptions = {
      interfaces: [
        { linkType: ETHERNET, tsresol: 9 },
        { linkType: RAW_IP, tsresol: 0x80 | 20 },
        { linkType: SLL, tsresol: 3 },
      ],
    };
    const t = { tsSec: 1_796_313_633, tsNsec: 976_563 };
    const frames: Frame[] = [
      { data: pattern(40, 1), ...t, interfaceId: 0 },
      { data: pattern(41, 2), ...t, interfaceId: 1 },
      { data: pattern(42, 3), ...t, interfaceId: 2 },
      { data: pattern(43, 4), tsSec: 7, tsNsec: 500_000_000, interfaceId: 1 },
    ];
    const { packets, summary } = readBuffer(writePcapng(frames, options));
    assert.deepEqual(summary.linkTypes, [ETHERNET, RAW_IP, SLL]);
    assert.deepEqual(
      packets.map((p) => [p.linkType, p.tsSec, p.tsNsec, p.tsDigits, p.data.length]),
      [
        [ETHERNET, 1_796_313_633, 976_563, 9, 40],
        // 976563 ns is 1024.0001 units of 2^-20 s: stored as 1024, read back as 976562.5 ns, rounded down.
        [RAW_IP, 1_796_313_633, 976_562, 7, 41],
        [SLL, 1_796_313_633, 0, 3, 42],
        [RAW_IP, 7, 500_000_000, 7, 43],
      ],
    );
  });

  it('applies if_tsoffset', () => {
    const file = writePcapng([{ data: pattern(10, 1), tsSec: 1_000_000_500, tsNsec: 42_000 }], {
      interfaces: [{ linkType: ETHERNET, tsoffset: 1_000_000_000 }],
    });
    const { packets } = readBuffer(file);
    assert.equal(packets[0].tsSec, 1_000_000_500);
    assert.equal(packets[0].tsNsec, 42_000);
  });

  it('reads obsolete Packet Blocks (16-bit interface id)', () => {
    const file = writePcapng(
      FRAMES.map((f, i) => ({ ...f, interfaceId: i % 2 })),
      {
        interfaces: [
          { linkType: ETHERNET, tsresol: 9 },
          { linkType: RAW_IP, tsresol: 9 },
        ],
        blockKind: 'pb',
      },
    );
    assert.deepEqual(
      blocks(file).map((b) => b.type),
      [0x0a0d0d0a, 1, 1, 2, 2, 2],
    );
    const { packets, summary } = readBuffer(file);
    assert.deepEqual(summary.warnings, []);
    assert.deepEqual(
      packets.map((p) => [p.linkType, p.tsSec, p.tsNsec, p.origLength]),
      [
        [ETHERNET, 1_796_313_633, 510_946_729, 60],
        [RAW_IP, 1_796_313_634, 0, 1514],
        [ETHERNET, 1_796_313_635, 999_999_999, 1000],
      ],
    );
  });

  it('reads Simple Packet Blocks: interface 0, no timestamp, captured = min(snaplen, original)', () => {
    const frames: Frame[] = [
      { data: pattern(60, 1), tsSec: 9, tsNsec: 9 },
      { data: pattern(128, 2), tsSec: 9, tsNsec: 9, origLength: 1514 },
      { data: pattern(61, 3), tsSec: 9, tsNsec: 9 },
    ];
    const file = writePcapng(frames, {
      interfaces: [{ linkType: ETHERNET, snaplen: 128 }],
      blockKind: 'spb',
    });
    const spbs = blocks(file).filter((b) => b.type === 3);
    assert.equal(spbs.length, 3);
    const { packets, summary } = readBuffer(file);
    assert.deepEqual(summary.warnings, []);
    assert.deepEqual(
      packets.map((p) => [p.index, p.tsSec, p.tsNsec, p.linkType, p.data.length, p.origLength, p.offset]),
      [
        [1, 0, 0, ETHERNET, 60, 60, spbs[0].offset],
        [2, 0, 0, ETHERNET, 128, 1514, spbs[1].offset],
        // 61 bytes padded to 64 in the block: the original length, not the padding, decides.
        [3, 0, 0, ETHERNET, 61, 61, spbs[2].offset],
      ],
    );
    assert.deepEqual(
      packets.map((p) => p.data),
      frames.map((f) => f.data),
    );
  });

  it('skips unknown blocks and statistics blocks by their length', () => {
    const file = writePcapng(FRAMES, { interfaces: [{ linkType: ETHERNET }], unknownBlocks: true });
    const types = blocks(file).map((b) => b.type);
    assert.deepEqual(types, [0x0a0d0d0a, 1, 0xbad, 6, 0xbad, 6, 0xbad, 6, 0xbad, 5]);
    const { packets, summary } = readBuffer(file);
    assert.deepEqual(summary.warnings, []);
    assert.deepEqual(
      packets.map((p) => p.data),
      FRAMES.map((f) => f.data),
    );
  });

  for (const endOfOptions of [true, false]) {
    it(`parses options ${endOfOptions ? 'closed by opt_endofopt' : 'running to the block end'}`, () => {
      const options: PcapngOptions = {
        interfaces: [
          { linkType: RAW_IP, tsresol: 9, name: 'a-long-interface-name' },
          { linkType: SLL, tsresol: 3, tsoffset: 100, name: 'x' },
        ],
        endOfOptions,
        packetComments: true,
      };
      const frames = FRAMES.map((f, i) => ({ ...f, interfaceId: i % 2 }));
      const file = writePcapng(frames, options);
      const idb = blocks(file)[1];
      // 16 fixed + name option (4 + 24) + tsresol (4 + 4) [+ end (4)] + 4 trailer.
      assert.equal(idb.length, endOfOptions ? 60 : 56);
      const { packets, summary } = readBuffer(file);
      assert.deepEqual(summary.warnings, []);
      assert.deepEqual(
        packets.map((p) => [p.linkType, p.tsSec, p.tsNsec, p.tsDigits, p.data.length]),
        [
          [RAW_IP, 1_796_313_633, 510_946_729, 9, 60],
          [SLL, 1_796_313_634, 0, 3, 1514],
          [RAW_IP, 1_796_313_635, 999_999_999, 9, 61],
        ],
      );
    });
  }

  it('reads several sections, each with its own byte order and interfaces', () => {
    const first = writePcapng(FRAMES.slice(0, 2), { interfaces: [{ linkType: ETHERNET, tsresol: 9 }] });
    const second = writePcapng(
      [
        { data: pattern(33, 7), tsSec: 50, tsNsec: 250_000_000, interfaceId: 1 },
        { data: pattern(34, 8), tsSec: 51, tsNsec: 0, interfaceId: 0 },
      ],
      {
        interfaces: [{ linkType: SLL }, { linkType: RAW_IP, tsresol: 0x80 | 2 }],
        bigEndian: true,
        unknownBlocks: true,
      },
    );
    const third = writePcapng(FRAMES.slice(2), { interfaces: [{ linkType: ETHERNET }] });
    const file = Buffer.concat([first, second, third]);
    const { packets, summary } = readBuffer(file);
    assert.deepEqual(summary.warnings, []);
    assert.deepEqual(summary.linkTypes, [ETHERNET, RAW_IP, SLL]);
    assert.deepEqual(
      packets.map((p) => [p.index, p.linkType, p.tsSec, p.tsNsec, p.tsDigits, p.data.length]),
      [
        [1, ETHERNET, 1_796_313_633, 510_946_729, 9, 60],
        [2, ETHERNET, 1_796_313_634, 0, 9, 1514],
        [3, RAW_IP, 50, 250_000_000, 1, 33],
        [4, SLL, 51, 0, 6, 34],
        [5, ETHERNET, 1_796_313_635, 999_999_000, 6, 61],
      ],
    );
    assert.equal(packets[2].offset, first.length + blocks(second, true)[4].offset);
  });

  it('warns about a packet on an undeclared interface and skips it', () => {
    const file = writePcapng(
      FRAMES.map((f, i) => ({ ...f, interfaceId: i === 1 ? 3 : 0 })),
      { interfaces: [{ linkType: ETHERNET }] },
    );
    const epbs = blocks(file).filter((b) => b.type === 6);
    const { packets, summary } = readBuffer(file);
    assert.deepEqual(
      packets.map((p) => [p.index, p.data.length]),
      [
        [1, 60],
        [2, 61],
      ],
    );
    assert.deepEqual(summary.warnings, [
      {
        code: 'unknown-interface',
        packet: 2,
        offset: epbs[1].offset,
        detail: 'packet on undeclared interface 3 skipped',
      },
    ]);
  });

  it('warns about a captured length above the original length and still emits the packet', () => {
    const file = writePcapng([{ ...FRAMES[1], origLength: 64 }], { interfaces: [{ linkType: ETHERNET }] });
    const { packets, summary } = readBuffer(file);
    assert.equal(packets[0].data.length, 1514);
    assert.equal(summary.warnings[0].code, 'caplen-exceeds-origlen');
    assert.equal(summary.warnings[0].packet, 1);
  });

  const damages: {
    name: string;
    damage: (file: Buffer, at: number, length: number) => void;
    detail: string;
  }[] = [
    {
      name: 'a length below 12',
      damage: (file, at) => file.writeUInt32LE(8, at + 4),
      detail: 'corrupt block: block length 8 is below the minimum of 12',
    },
    {
      name: 'a length that is not a multiple of 4',
      damage: (file, at) => file.writeUInt32LE(1534, at + 4),
      detail: 'corrupt block: block length 1534 is not a multiple of 4',
    },
    {
      name: 'a length above 16 MiB',
      damage: (file, at) => file.writeUInt32LE(0xfffffff0, at + 4),
      detail: 'corrupt block: block length 4294967280 exceeds 16777216',
    },
    {
      name: 'a trailing length that differs',
      damage: (file, at, length) => file.writeUInt32LE(length + 4, at + length - 4),
      detail: 'corrupt block: block of type 0x00000006: trailing length 1552 differs from 1548',
    },
    {
      name: 'an EPB shorter than its fixed part',
      damage: (file, at) => {
        file.writeUInt32LE(28, at + 4);
      },
      detail: 'corrupt block: block of type 0x00000006 is 28 bytes, below its minimum of 32',
    },
    {
      name: 'a captured length that does not fit in the block',
      damage: (file, at) => file.writeUInt32LE(1600, at + 20),
      detail: 'corrupt block: captured length 1600 does not fit in a block of 1548 bytes',
    },
  ];
  for (const d of damages) {
    it(`stops at a block with ${d.name}, keeping what came before`, () => {
      const file = writePcapng(FRAMES, { interfaces: [{ linkType: ETHERNET }] });
      const epb = blocks(file).filter((b) => b.type === 6)[1];
      assert.equal(epb.length, 1548);
      d.damage(file, epb.offset, epb.length);
      const { packets, summary } = readBuffer(file);
      assert.deepEqual(
        packets.map((p) => p.index),
        [1],
      );
      assert.deepEqual(summary.warnings, [
        { code: 'corrupt-block', packet: 2, offset: epb.offset, detail: d.detail },
      ]);
    });
  }

  it('stops at a later section header with a bad byte-order magic', () => {
    const one = writePcapng(FRAMES.slice(0, 1), { interfaces: [{ linkType: ETHERNET }] });
    const two = writePcapng(FRAMES.slice(1), { interfaces: [{ linkType: ETHERNET }] });
    two.writeUInt32LE(0x11223344, 8);
    const { packets, summary } = readBuffer(Buffer.concat([one, two]));
    assert.equal(packets.length, 1);
    assert.deepEqual(summary.warnings, [
      {
        code: 'corrupt-block',
        packet: 2,
        offset: one.length,
        detail: 'corrupt block: section header with a bad byte-order magic (44332211)',
      },
    ]);
  });

  it('refuses a first section header that is cut or damaged', () => {
    const file = writePcapng(FRAMES, { interfaces: [{ linkType: ETHERNET }] });
    const shbLength = blocks(file)[0].length;
    const message = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        assert.ok(err instanceof CaptureInputError);
        return err.message;
      }
      return 'no error';
    };
    assert.equal(
      message(() => readBuffer(file.subarray(0, 10))),
      'buffer: file shorter than its pcapng section header (10 of 12 bytes)',
    );
    assert.equal(
      message(() => readBuffer(file.subarray(0, 20))),
      `buffer: file shorter than its pcapng section header (20 of ${shbLength} bytes)`,
    );
    const badMagic = Buffer.from(file);
    badMagic.writeUInt32LE(0x01020304, 8);
    assert.equal(
      message(() => readBuffer(badMagic)),
      'buffer: not a valid pcapng file: section header with a bad byte-order magic (04030201)',
    );
  });

  it('reports a cut at every offset after the section header', () => {
    const file = writePcapng(FRAMES, {
      interfaces: [{ linkType: ETHERNET, tsresol: 9 }],
      unknownBlocks: true,
    });
    const all = blocks(file);
    for (let cut = all[0].length; cut < file.length; cut++) {
      const { packets, summary } = readBuffer(file.subarray(0, cut));
      const done = all.filter((b) => b.offset + b.length <= cut);
      const complete = done.filter((b) => b.type === 6).length;
      assert.equal(packets.length, complete, `cut at ${cut}`);
      assert.deepEqual(
        packets.map((p) => p.data),
        FRAMES.slice(0, complete).map((f) => f.data),
      );
      const cutBlock = all[done.length];
      if (cutBlock.offset === cut) {
        assert.deepEqual(summary.warnings, [], `cut at ${cut}`);
        continue;
      }
      const have = cut - cutBlock.offset;
      const typeHex = cutBlock.type.toString(16).padStart(8, '0');
      const detail =
        have < 8
          ? `truncated record header (${have} of 8 bytes)`
          : `truncated record (${have} of ${cutBlock.length} bytes, ${cutBlock.length - have} missing) in a block of type 0x${typeHex}`;
      assert.deepEqual(
        summary.warnings,
        [{ code: 'truncated-record', packet: complete + 1, offset: cutBlock.offset, detail }],
        `cut at ${cut}`,
      );
    }
  });

  it('gives the same packets and warnings for chunks of 1, 7, 4096 bytes and whole', async () => {
    const a = writePcapng([...FRAMES, { data: pattern(70_000, 9), tsSec: 3, tsNsec: 3 }], {
      interfaces: [{ linkType: ETHERNET, tsresol: 9 }],
      unknownBlocks: true,
    });
    const b = writePcapng(FRAMES, { interfaces: [{ linkType: SLL }], bigEndian: true, blockKind: 'pb' });
    const c = writePcapng(FRAMES, { interfaces: [{ linkType: RAW_IP }], blockKind: 'spb' });
    const whole = Buffer.concat([a, b, c]);
    const file = whole.subarray(0, whole.length - 10);
    const expected = readBuffer(file);
    assert.equal(expected.packets.length, 9);
    assert.equal(expected.summary.warnings[0].code, 'truncated-record');
    for (const size of [1, 7, 4096]) {
      const got = await readChunked(file, size);
      assert.deepEqual(got.packets, expected.packets, `chunks of ${size}`);
      assert.deepEqual(got.summary, { ...expected.summary, file: 'stdin' }, `chunks of ${size}`);
    }
  });
});
