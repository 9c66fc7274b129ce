import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CaptureInputError } from '../../src/capture/errors.js';
import { formatWarning, readCapture } from '../../src/capture/read-capture.js';
import { writePcap, writePcapng } from '../helpers/capture-writer.js';
import { copyPacket, type PacketCopy, pattern, type ReadResult, readChunked } from './collect.js';

const REAL = fileURLToPath(new URL('../../fixtures/real/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'smtpcap-capture-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function readFile(path: string, chunkSize?: number): Promise<ReadResult> {
  const packets: PacketCopy[] = [];
  const summary = await readCapture(path, (p) => packets.push(copyPacket(p)), chunkSize ? { chunkSize } : {});
  return { packets, summary };
}

function real(name: string): string {
  return join(REAL, name);
}

/** Rejects with a CaptureInputError whose one-line message is exactly `message`. */
async function rejectsWith(promise: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CaptureInputError, `not a CaptureInputError: ${String(err)}`);
    assert.equal(err.message, message);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
}

function tmpFile(name: string, data: Buffer): string {
  const path = join(tmp, name);
  writeFileSync(path, data);
  return path;
}

describe('readCapture on the real fixtures', () => {
  it('reads 01-plain-ehlo.pcap: 21 Ethernet packets with µs timestamps', async () => {
    const path = real('01-plain-ehlo.pcap');
    const { packets, summary } = await readFile(path);
    assert.deepEqual(summary, {
      file: path,
      format: 'pcap',
      linkTypes: [1],
      packets: 21,
      bytes: statSync(path).size,
      warnings: [],
    });
    assert.deepEqual(
      packets.map((p) => p.index),
      Array.from({ length: 21 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      [packets[0].tsSec, packets[0].tsNsec, packets[0].tsDigits],
      [1_796_313_633, 510_948_000, 6],
    );
    assert.equal(packets[0].offset, 24);
    assert.equal(packets[1].offset, 24 + 16 + 74);
    // Ethernet II carrying IPv4.
    assert.equal(packets[0].data.readUInt16BE(12), 0x0800);
    assert.ok(packets.every((p) => p.tsNsec % 1000 === 0));
  });

  it('reads 01-plain-ehlo.nano.pcap with nanosecond timestamps', async () => {
    const { packets, summary } = await readFile(real('01-plain-ehlo.nano.pcap'));
    assert.equal(summary.packets, 21);
    assert.equal(summary.format, 'pcap');
    assert.deepEqual(
      [packets[0].tsSec, packets[0].tsNsec, packets[0].tsDigits],
      [1_796_313_633, 510_947_240, 9],
    );
    assert.ok(packets.some((p) => p.tsNsec % 1000 !== 0));
  });

  it('reads the dumpcap pcapng (if_tsresol 9, statistics block) and the Linux cooked captures', async () => {
    const ng = await readFile(real('01-plain-ehlo.dumpcap.pcapng'));
    assert.deepEqual(
      [ng.summary.format, ng.summary.packets, ng.summary.linkTypes, ng.summary.warnings],
      ['pcapng', 21, [1], []],
    );
    assert.deepEqual([ng.packets[0].tsNsec, ng.packets[0].tsDigits], [510_946_729, 9]);
    const sll = await readFile(real('01-plain-ehlo.any-sll.pcap'));
    assert.deepEqual([sll.summary.packets, sll.summary.linkTypes, sll.packets[0].linkType], [21, [113], 113]);
    const sll2 = await readFile(real('01-plain-ehlo.any-sll2.pcap'));
    assert.deepEqual(
      [sll2.summary.packets, sll2.summary.linkTypes, sll2.packets[0].linkType],
      [21, [276], 276],
    );
  });

  for (const base of ['01-plain-ehlo', '04-multi-message-session', '13-bdat-chunking']) {
    it(`${base}: the editcap pcapng and ns pcap hold the same packets as the pcap`, async () => {
      const pcap = await readFile(real(`${base}.pcap`));
      const variants = [`${base}.editcap.pcapng`, `${base}.editcap.nsec.pcap`];
      assert.ok(pcap.summary.packets > 20);
      for (const name of variants) {
        const other = await readFile(real(name));
        assert.deepEqual(other.summary.warnings, []);
        assert.equal(other.summary.packets, pcap.summary.packets, name);
        const strip = (p: PacketCopy) => [p.index, p.tsSec, p.tsNsec, p.linkType, p.origLength, p.data];
        assert.deepEqual(other.packets.map(strip), pcap.packets.map(strip), name);
      }
    });
  }

  it('reads every real fixture without warnings, identically with chunks of 7 and 4096 bytes', async () => {
    const names = readdirCaptures();
    assert.ok(names.length >= 37);
    for (const name of names) {
      const whole = await readFile(real(name));
      assert.deepEqual(whole.summary.warnings, [], name);
      assert.ok(whole.summary.packets > 0, name);
      const size = statSync(real(name)).size;
      // Chunks of 7 bytes for the small ones only: one await per chunk.
      for (const chunk of size < 200_000 ? [7, 4096] : [4096]) {
        const got = await readFile(real(name), chunk);
        assert.deepEqual(got, whole, `${name} in chunks of ${chunk}`);
      }
    }
  });

  it('reads chunks of 1 byte like the whole file', async () => {
    const data = readFileSync(real('01-plain-ehlo.dumpcap.pcapng'));
    const whole = await readFile(real('01-plain-ehlo.dumpcap.pcapng'));
    const got = await readChunked(data, 1);
    assert.deepEqual(got.packets, whole.packets);
    assert.deepEqual(got.summary, { ...whole.summary, file: 'stdin' });
  });
});

/** Every capture in fixtures/real, by name. */
function readdirCaptures(): string[] {
  return readdirSync(REAL)
    .filter((n) => /\.(pcap|pcapng)$/.test(n))
    .sort();
}

describe('readCapture inputs', () => {
  it('reads stdin when given "-", calling the summary file "stdin"', async () => {
    const file = writePcap([{ data: pattern(50, 1), tsSec: 10, tsNsec: 20_000 }], { linkType: 1 });
    const packets: PacketCopy[] = [];
    const summary = await readCapture('-', (p) => packets.push(copyPacket(p)), {
      stdin: Readable.from([file]),
    });
    assert.deepEqual(summary, {
      file: 'stdin',
      format: 'pcap',
      linkTypes: [1],
      packets: 1,
      bytes: 90,
      warnings: [],
    });
    assert.deepEqual([packets[0].tsSec, packets[0].tsNsec], [10, 20_000]);
  });

  it('reports progress per chunk, ending at the file size', async () => {
    const path = real('19-large-5mb.pcap');
    const seen: number[] = [];
    await readCapture(path, () => {}, { onProgress: (n) => seen.push(n), chunkSize: 1024 * 1024 });
    const size = statSync(path).size;
    assert.equal(seen.length, Math.ceil(size / (1024 * 1024)));
    assert.equal(seen[seen.length - 1], size);
    assert.ok(seen.every((n, i) => i === 0 || n > seen[i - 1]));
  });

  it('counts every byte even after a corrupt header stopped the reading', async () => {
    const data = writePcap(
      Array.from({ length: 5 }, (_, i) => ({ data: pattern(100, i), tsSec: i, tsNsec: 0 })),
      { linkType: 1 },
    );
    data.writeUInt32LE(0xffffffff, 24 + 116 + 8);
    const { summary } = await readFile(tmpFile('corrupt.pcap', data), 64);
    assert.equal(summary.bytes, data.length);
    assert.equal(summary.packets, 1);
    assert.equal(summary.warnings[0].code, 'corrupt-record-header');
  });

  it('lets an exception thrown by the consumer through unchanged', async () => {
    const path = real('02-helo.pcap');
    const boom = new Error('consumer failed');
    await assert.rejects(
      readCapture(path, (p) => {
        if (p.index === 3) throw boom;
      }),
      (err: unknown) => err === boom,
    );
  });

  it('formats a warning as one line naming file, packet and offset', () => {
    assert.equal(
      formatWarning('capture.pcap', {
        code: 'truncated-record',
        packet: 17,
        offset: 1234,
        detail: 'truncated record (40 of 74 bytes, 34 missing)',
      }),
      'capture.pcap: packet 17 at byte offset 1234: truncated record (40 of 74 bytes, 34 missing)',
    );
    assert.equal(
      formatWarning('x.pcapng', { code: 'warnings-suppressed', packet: 9, offset: -1, detail: 'more' }),
      'x.pcapng: packet 9: more',
    );
  });

  it('reports a truncated last record of a file through formatWarning', async () => {
    const data = readFileSync(real('01-plain-ehlo.pcap'));
    const path = tmpFile('cut.pcap', data.subarray(0, data.length - 30));
    const { summary } = await readFile(path);
    assert.equal(summary.packets, 20);
    const w = summary.warnings[0];
    assert.equal(w.packet, 21);
    assert.match(
      formatWarning(path, w),
      /^.*cut\.pcap: packet 21 at byte offset \d+: truncated record \(\d+ of \d+ bytes, 30 missing\)$/,
    );
  });
});

describe('readCapture errors', () => {
  it('names a missing file', async () => {
    const path = join(tmp, 'does-not-exist.pcap');
    await rejectsWith(
      readCapture(path, () => {}),
      `${path}: no such file`,
    );
  });

  it('names a directory', async () => {
    await rejectsWith(
      readCapture(tmp, () => {}),
      `${tmp}: is a directory, not a capture file`,
    );
  });

  it('names an empty file, and empty stdin', async () => {
    const path = tmpFile('empty.pcap', Buffer.alloc(0));
    await rejectsWith(
      readCapture(path, () => {}),
      `${path}: empty file`,
    );
    await rejectsWith(
      readCapture('-', () => {}, { stdin: Readable.from([]) }),
      'stdin: empty file',
    );
  });

  it('says which bytes a file that is not a capture starts with', async () => {
    const path = tmpFile('notes.txt', Buffer.from('GARBAGE, not packets\n'));
    await rejectsWith(
      readCapture(path, () => {}),
      `${path}: not a pcap or pcapng capture (starts with bytes 47 41 52 42)`,
    );
    const gz = tmpFile('capture.pcap.gz', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    await rejectsWith(
      readCapture(gz, () => {}),
      `${gz}: not a pcap or pcapng capture (starts with bytes 1f 8b 08 00; it is gzip-compressed, decompress it first)`,
    );
  });

  it('names a file shorter than its file header', async () => {
    const three = tmpFile('three.pcap', Buffer.from([0xd4, 0xc3, 0xb2]));
    await rejectsWith(
      readCapture(three, () => {}),
      `${three}: too short to be a capture (3 bytes)`,
    );
    const pcap = writePcap([], { linkType: 1 });
    const short = tmpFile('short.pcap', pcap.subarray(0, 20));
    await rejectsWith(
      readCapture(short, () => {}),
      `${short}: file shorter than its pcap file header (20 of 24 bytes)`,
    );
    const ng = writePcapng([], { interfaces: [{ linkType: 1 }] });
    const shortNg = tmpFile('short.pcapng', ng.subarray(0, 16));
    await rejectsWith(
      readCapture(shortNg, () => {}),
      `${shortNg}: file shorter than its pcapng section header (16 of ${ng.readUInt32LE(4)} bytes)`,
    );
  });

  it('accepts a file that is only a header: no packets', async () => {
    const path = tmpFile('header-only.pcap', writePcap([], { linkType: 228 }));
    const { summary } = await readFile(path);
    assert.deepEqual(summary, {
      file: path,
      format: 'pcap',
      linkTypes: [228],
      packets: 0,
      bytes: 24,
      warnings: [],
    });
  });

  it('names a file it may not read', async (t) => {
    if (process.getuid?.() === 0) {
      t.skip('root reads any file');
      return;
    }
    const path = tmpFile('secret.pcap', writePcap([], { linkType: 1 }));
    chmodSync(path, 0o000);
    await rejectsWith(
      readCapture(path, () => {}),
      `${path}: permission denied`,
    );
  });
});
