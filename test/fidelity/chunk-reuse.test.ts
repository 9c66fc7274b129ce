/**
 * Files are read into one reused chunk buffer (src/capture/read-capture.ts), so no layer may keep
 * a view into a chunk past its synchronous packet calls. Every fixture is analysed twice, with
 * full message parsing: once from the file, once through a source that reuses one small buffer
 * and overwrites it with a poison byte before each read. A view kept anywhere (held segments,
 * fragments, lines, message bytes, hashes) would change the records.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyseCaptures } from '../../src/analyse.js';
import { messageSinkFor } from '../../src/parallel.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures');
const POISON = 0xee;

function fixtureFiles(): string[] {
  const top = readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f));
  const real = readdirSync(join(FIXTURES, 'real')).map((f) => join('real', f));
  return [...top, ...real].sort();
}

/** The file in `size`-byte chunks, all one buffer, poisoned before each refill. */
async function* poisonedChunks(path: string, size: number): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(size);
  try {
    for (;;) {
      buffer.fill(POISON);
      const n = readSync(fd, buffer, 0, size, null);
      if (n === 0) return;
      yield buffer.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

describe('no layer keeps a view into a reused chunk', () => {
  for (const name of fixtureFiles()) {
    it(name, async () => {
      const path = join(FIXTURES, name);
      const options = { messageSink: messageSinkFor('full'), order: 'first-packet' as const };
      const fromFile = await analyseCaptures([path], options);
      // 997 bytes: records and segments straddle chunks at ever-different offsets.
      const reused = await analyseCaptures(['-'], { ...options, read: { stdin: poisonedChunks(path, 997) } });
      assert.ok(fromFile.sessions.length > 0, 'a fixture with no session tests nothing');
      assert.equal(JSON.stringify(reused.sessions), JSON.stringify(fromFile.sessions));
    });
  }
});
