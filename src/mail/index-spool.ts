import { closeSync, constants, openSync, readSync, unlinkSync } from 'node:fs';
import { writeAll } from './mbox.js';

const O_SPOOL = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
/** Numbers kept per entry: session number, transaction index, offset, JSON length, CSV length. */
const FIELDS = 5;
const WRITE_BUFFER = 64 * 1024;

/**
 * The extraction index while it grows. Messages are filed as their sessions end, but the index
 * lists them by first packet (S1, S2, ...): each entry's text (its index.json object and its
 * index.csv line) goes to an unlinked spool file at once and only five numbers per entry stay in
 * memory, so 200,000 messages cost 8 MB here instead of their records (680 MB). At the end the
 * entries are read back in order.
 */
export class IndexSpool {
  private readonly fd: number;
  private end = 0;
  private keys = new Float64Array(FIELDS * 1024);
  private count = 0;

  /** @param path where the spool lives until it is unlinked, at once (a new name in our own folder). */
  constructor(path: string) {
    this.fd = openSync(path, O_SPOOL, 0o600);
    unlinkSync(path);
  }

  get size(): number {
    return this.count;
  }

  /** One entry: `json` is its index.json object (already indented), `csv` its line without CRLF. */
  add(session: number, transaction: number, json: string, csv: string): void {
    const text = Buffer.from(json + csv);
    const jsonBytes = Buffer.byteLength(json);
    writeAll(this.fd, text);
    if ((this.count + 1) * FIELDS > this.keys.length) {
      const grown = new Float64Array(this.keys.length * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    this.keys.set([session, transaction, this.end, jsonBytes, text.length - jsonBytes], this.count * FIELDS);
    this.end += text.length;
    this.count++;
  }

  /**
   * Writes index.json's `messages` array and index.csv's lines in (session, transaction) order,
   * between the given heads and tails, and closes the spool.
   */
  writeSorted(
    json: { fd: number; head: string; separator: string; tail: string },
    csv: { fd: number; head: string },
  ): void {
    const keys = this.keys;
    const order = Uint32Array.from({ length: this.count }, (_, i) => i).sort(
      (a, b) => keys[a * FIELDS] - keys[b * FIELDS] || keys[a * FIELDS + 1] - keys[b * FIELDS + 1],
    );
    const jsonOut = new BufferedFile(json.fd);
    const csvOut = new BufferedFile(csv.fd);
    jsonOut.write(Buffer.from(json.head));
    csvOut.write(Buffer.from(csv.head));
    let entry = Buffer.alloc(0);
    order.forEach((i, n) => {
      const at = keys[i * FIELDS + 2];
      const jsonBytes = keys[i * FIELDS + 3];
      const length = jsonBytes + keys[i * FIELDS + 4];
      if (entry.length < length) entry = Buffer.allocUnsafe(Math.max(length, 2 * entry.length));
      for (let got = 0; got < length; ) got += readSync(this.fd, entry, got, length - got, at + got);
      if (n > 0) jsonOut.write(Buffer.from(json.separator));
      jsonOut.write(entry.subarray(0, jsonBytes));
      csvOut.write(entry.subarray(jsonBytes, length));
    });
    jsonOut.write(Buffer.from(json.tail));
    jsonOut.flush();
    csvOut.flush();
    closeSync(this.fd);
  }
}

/** Appends through one 64 KiB buffer: an index of 200,000 entries is not 400,000 write calls. */
class BufferedFile {
  private readonly buf = Buffer.allocUnsafe(WRITE_BUFFER);
  private used = 0;

  constructor(private readonly fd: number) {}

  write(bytes: Buffer): void {
    if (this.used + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) {
      writeAll(this.fd, bytes);
      return;
    }
    bytes.copy(this.buf, this.used);
    this.used += bytes.length;
  }

  flush(): void {
    writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }
}
