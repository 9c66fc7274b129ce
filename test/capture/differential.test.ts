/**
 * Differential test: pcap-parser@0.2.1 is the oracle for classic microsecond pcap. For every such
 * file under fixtures/ (found by its magic, not its name) and for writer-built ones, our reader must
 * yield exactly its packets.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pcapParser from 'pcap-parser';
import { type Frame, writePcap } from '../helpers/capture-writer.js';
import { pattern, readBuffer } from './collect.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const MICRO_MAGICS = new Set(['a1b2c3d4', 'd4c3b2a1']);

interface Seen {
  sec: number;
  usec: number;
  caplen: number;
  origlen: number;
  data: Buffer;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

function magicOf(path: string): string {
  const b = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, b, 0, 4, 0) === 4 ? b.toString('hex') : '';
  } finally {
    closeSync(fd);
  }
}

function oracle(file: Buffer): Promise<Seen[]> {
  return new Promise((resolve, reject) => {
    const seen: Seen[] = [];
    const parser = pcapParser.parse(Readable.from([file]));
    parser.on('packet', ({ header, data }) => {
      seen.push({
        sec: header.timestampSeconds,
        usec: header.timestampMicroseconds,
        caplen: header.capturedLength,
        origlen: header.originalLength,
        data: Buffer.from(data),
      });
    });
    parser.on('error', reject);
    parser.on('end', () => resolve(seen));
  });
}

function ours(file: Buffer): Seen[] {
  const { packets, summary } = readBuffer(file);
  assert.deepEqual(summary.warnings, []);
  return packets.map((p) => ({
    sec: p.tsSec,
    usec: p.tsNsec / 1000,
    caplen: p.data.length,
    origlen: p.origLength,
    data: p.data,
  }));
}

const BUILT: { name: string; file: Buffer }[] = (() => {
  const frames: Frame[] = Array.from({ length: 40 }, (_, i) => ({
    data: pattern((i * 97) % 1600, i),
    tsSec: 1_700_000_000 + i,
    tsNsec: ((i * 123_457) % 1_000_000) * 1000,
    origLength: i % 5 === 0 ? 2000 : undefined,
  }));
  return [
    { name: 'built little-endian', file: writePcap(frames, { linkType: 1 }) },
    { name: 'built big-endian', file: writePcap(frames, { linkType: 101, bigEndian: true }) },
    { name: 'built snaplen 96', file: writePcap(frames, { linkType: 113, snaplen: 96 }) },
  ];
})();

describe('classic µs pcap: our reader against pcap-parser', () => {
  const files = walk(FIXTURES)
    .filter((path) => MICRO_MAGICS.has(magicOf(path)))
    .sort();

  it('finds the microsecond pcaps among the fixtures', () => {
    assert.ok(files.length >= 29, `only ${files.length} found`);
  });

  for (const path of files) {
    it(relative(FIXTURES, path), async () => {
      const file = readFileSync(path);
      const expected = await oracle(file);
      assert.ok(expected.length > 0);
      assert.deepEqual(ours(file), expected);
    });
  }

  for (const { name, file } of BUILT) {
    it(name, async () => {
      const expected = await oracle(file);
      assert.equal(expected.length, 40);
      assert.deepEqual(ours(file), expected);
    });
  }
});
