import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';

/**
 * Records beyond this many waiting for an earlier one are spilled. A session that stays open (one
 * cut off by the end of a capture slice idles for 10 minutes of capture time) holds back every
 * later record of an ordered report: thousands of them, growing with the capture.
 */
export const DEFAULT_LIVE_LIMIT = 64;

/** Where a spilled record is: bytes in the spill file, or in memory when no file could be made. */
type Spilled = { at: number; length: number } | Buffer;

/**
 * Records that ended before an earlier-numbered one and wait to go out, by number. Past the live
 * limit they are V8-serialised (the structured clone workers use, so they come back the same) and
 * appended to an unlinked temporary file: memory stays flat however many wait, and the page cache,
 * not the process, holds them. The file is closed (and so gone) whenever nothing waits in it.
 */
export class WaitingRecords<R> {
  private readonly live = new Map<number, R>();
  private readonly spilled = new Map<number, Spilled>();
  /** The spill file's descriptor; -1 when none is open, null when none could be made. */
  private fd: number | null = -1;
  private end = 0;

  /** @param liveLimit records kept as objects; Infinity when the caller keeps every record anyway. */
  constructor(private readonly liveLimit = DEFAULT_LIVE_LIMIT) {}

  get size(): number {
    return this.live.size + this.spilled.size;
  }

  set(number: number, record: R): void {
    if (this.live.size < this.liveLimit) {
      this.live.set(number, record);
      return;
    }
    const bytes = serialize(record);
    const fd = this.file();
    try {
      if (fd === null) throw new Error('no spill file');
      writeSync(fd, bytes, 0, bytes.length, this.end);
    } catch {
      // No file, or it cannot grow (a full disk): this one waits in memory.
      this.spilled.set(number, bytes);
      return;
    }
    this.spilled.set(number, { at: this.end, length: bytes.length });
    this.end += bytes.length;
  }

  /** Removes and returns the record numbered `number`, if it is here. */
  take(number: number): R | undefined {
    const record = this.live.get(number);
    if (record !== undefined) {
      this.live.delete(number);
      return record;
    }
    const where = this.spilled.get(number);
    if (where === undefined) return undefined;
    this.spilled.delete(number);
    let bytes: Buffer;
    if (Buffer.isBuffer(where)) bytes = where;
    else {
      bytes = Buffer.allocUnsafe(where.length);
      readSync(this.fd as number, bytes, 0, where.length, where.at);
    }
    if (this.spilled.size === 0) this.closeFile();
    return deserialize(bytes) as R;
  }

  private file(): number | null {
    if (this.fd !== -1) return this.fd;
    // O_EXCL: a name planted in the temporary folder (a symlink) is never followed.
    const path = join(tmpdir(), `smtpcap-${process.pid}-${randomUUID()}.waiting`);
    try {
      this.fd = openSync(path, 'wx+', 0o600);
    } catch {
      this.fd = null;
      return null;
    }
    try {
      unlinkSync(path);
    } catch {
      // Still usable; the file outlives the run.
    }
    return this.fd;
  }

  private closeFile(): void {
    if (this.fd === null || this.fd === -1) return;
    closeSync(this.fd);
    this.fd = -1;
    this.end = 0;
  }
}
