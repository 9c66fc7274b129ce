/** Property tests of the pcap and pcapng readers (see targets.ts for what each property checks). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaptureInputError } from '../../src/capture/errors.js';
import { readCaptureBuffer } from '../../src/capture/read-capture.js';
import { MAX_TS_SEC } from '../../src/capture/reader-base.js';
import { analyseBuffer } from '../helpers/analyse-buffer.js';
import { writePcapng } from '../helpers/capture-writer.js';
import { ethernet, ipTcp } from '../helpers/frames.js';
import { CI_SEED, seeds } from './kit.js';
import { assertTarget, captureReaders, captureTruncation, checkTruncation, recordEnds } from './targets.js';

describe('capture readers under random and mutated input', () => {
  it('mutated real captures, random headers, block lengths and option lists: no exception but CaptureInputError, chunking changes nothing', async () => {
    await assertTarget(captureReaders, 400, CI_SEED);
  });

  it('real captures cut at random offsets', async () => {
    await assertTarget(captureTruncation, 300, CI_SEED);
  });

  it('every real capture of under 10 KB cut at every offset: packets before the cut kept, one numbered warning', () => {
    let cuts = 0;
    for (const seed of seeds().filter((s) => s.bytes.length < 10_000)) {
      const ends = recordEnds(seed.bytes);
      for (let cut = 0; cut < seed.bytes.length; cut++) {
        checkTruncation(seed.bytes, cut, ends);
        cuts++;
      }
    }
    assert.ok(cuts > 50_000, `${cuts} cuts`);
  });

  it('a file that is not a capture is a CaptureInputError naming the file, never another exception', () => {
    for (const bytes of [
      Buffer.alloc(0),
      Buffer.from('abc'),
      Buffer.from('hello world'),
      Buffer.from([0x1f, 0x8b, 8, 0]),
    ]) {
      assert.throws(
        () => readCaptureBuffer(bytes, () => {}, 'x.pcap'),
        (err: unknown) =>
          err instanceof CaptureInputError && err.file === 'x.pcap' && !err.message.includes('\n'),
      );
    }
  });

  it('a pcapng timestamp beyond year 9999 (64-bit units) is clamped with a numbered warning, never a crash', async () => {
    // Found by the campaign (test/fuzz/regressions/pipeline-*.json): isoTime threw RangeError.
    const frame = ethernet(
      ipTcp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 25, flags: 'S', seq: 1 }),
    );
    const file = writePcapng([{ data: frame, tsSec: 1_700_000_000, tsNsec: 0 }], {
      interfaces: [{ linkType: 1 }],
    });
    // The EPB's timestamp high word (after SHB and IDB) set to its maximum: 2^64 microseconds.
    const epb = file.indexOf(Buffer.from([6, 0, 0, 0]), 28);
    file.writeUInt32LE(0xffffffff, epb + 12);
    const packets: number[] = [];
    const summary = readCaptureBuffer(file, (p) => packets.push(p.tsSec));
    assert.deepEqual(packets, [MAX_TS_SEC]);
    assert.deepEqual(
      summary.warnings.map((w) => [w.code, w.packet, w.offset]),
      [['bad-timestamp', 1, epb]],
    );
    const { sessions } = await analyseBuffer(file, {}, 'late.pcapng');
    assert.equal(sessions[0].start, '9999-12-31T23:59:59.000000Z');
  });
});
