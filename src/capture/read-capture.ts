import { type FileHandle, open, stat } from 'node:fs/promises';
import { CaptureFormatError, CaptureInputError } from './errors.js';
import { isPcapMagic, PcapReader } from './pcap-reader.js';
import { BlockType, PcapngReader } from './pcapng-reader.js';
import type { CaptureWarning, InputSummary, RawPacket } from './raw-packet.js';
import type { CaptureReader, PacketCallback } from './reader-base.js';

/** Large reads: per-chunk overhead (one await) must stay small next to per-packet work. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** Bytes needed to tell the formats apart. */
const MAGIC_LENGTH = 4;
/** What `input: '-'` is called in summaries and messages. */
export const STDIN_NAME = 'stdin';
const GZIP_MAGIC = 0x1f8b;

export interface ReadCaptureOptions {
  /** Stream read for input '-' (default process.stdin). */
  stdin?: AsyncIterable<Buffer | string>;
  /** Read size for files, default 1 MiB. */
  chunkSize?: number;
  /** Called after each chunk with the total bytes read so far. */
  onProgress?: (bytesRead: number) => void;
  /** Awaited after each chunk: lets a consumer that is behind (worker threads) hold reading back. */
  pace?: () => Promise<void> | undefined;
}

/**
 * The reader for an input that starts with `head` (at least 4 bytes), or the reason it is not a
 * capture we read.
 */
export function createReader(head: Buffer): CaptureReader | string {
  const magic = head.readUInt32BE(0);
  if (isPcapMagic(magic)) return new PcapReader();
  if (magic === BlockType.SectionHeader) return new PcapngReader();
  const bytes = head.toString('hex', 0, MAGIC_LENGTH).replace(/(..)(?!$)/g, '$1 ');
  const hint = magic >>> 16 === GZIP_MAGIC ? '; it is gzip-compressed, decompress it first' : '';
  return `not a pcap or pcapng capture (starts with bytes ${bytes}${hint})`;
}

/**
 * Reads a capture file (or stdin for '-') in large chunks and calls `onPacket` synchronously for
 * every packet, reusing one RawPacket and, for files, one chunk buffer: a consumer copies what it
 * keeps past the call (packet.data is overwritten by a later read). Damage inside the file becomes
 * warnings in the summary; an input that cannot be read at all throws CaptureInputError.
 * The summary's `file` is the path as given, or 'stdin' for '-'.
 */
export async function readCapture(
  input: string,
  onPacket: PacketCallback,
  options: ReadCaptureOptions = {},
): Promise<InputSummary> {
  const file = input === '-' ? STDIN_NAME : input;
  const source = input === '-' ? (options.stdin ?? process.stdin) : await openFile(input, options.chunkSize);
  const chunks = source[Symbol.asyncIterator]();
  const framing = new Framing(file, onPacket);
  let done = false;
  try {
    while (true) {
      let next: IteratorResult<string | Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        throw systemError(file, err);
      }
      if (next.done) break;
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      framing.push(chunk);
      options.onProgress?.(framing.bytes);
      const wait = options.pace?.();
      if (wait) await wait;
    }
    done = true;
    return framing.finish();
  } finally {
    // Leaving early (an error, or a consumer that threw) must not leave the file open.
    if (!done) await chunks.return?.();
  }
}

/** readCapture for a capture already in memory (tests, small inputs). */
export function readCaptureBuffer(data: Buffer, onPacket: PacketCallback, file = 'buffer'): InputSummary {
  const framing = new Framing(file, onPacket);
  framing.push(data);
  return framing.finish();
}

/** `capture.pcap: packet 17 at byte offset 1234: truncated record (40 of 74 bytes, 34 missing)`. */
export function formatWarning(file: string, w: CaptureWarning): string {
  const where = w.offset >= 0 ? ` at byte offset ${w.offset}` : '';
  return `${file}: packet ${w.packet}${where}: ${w.detail}`;
}

/** Sniffs the magic (buffering until 4 bytes arrived), then feeds the chosen reader. */
class Framing {
  bytes = 0;
  private reader: CaptureReader | undefined;
  private head: Buffer[] = [];

  constructor(
    private readonly file: string,
    private readonly onPacket: (p: RawPacket) => void,
  ) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    let reader = this.reader;
    if (reader === undefined) {
      // A copy: the chunk's buffer is reused by the next read.
      this.head.push(Buffer.from(chunk));
      if (this.bytes < MAGIC_LENGTH) return;
      chunk = this.head.length === 1 ? chunk : Buffer.concat(this.head);
      this.head = [];
      const picked = createReader(chunk);
      if (typeof picked === 'string') throw new CaptureInputError(this.file, picked);
      reader = picked;
      this.reader = picked;
    }
    // After a corrupt header the rest is only counted, so `bytes` is the whole input.
    if (reader.stopped) return;
    this.guard(() => reader.push(chunk, this.onPacket));
  }

  finish(): InputSummary {
    const reader = this.reader;
    if (reader === undefined) {
      const reason = this.bytes === 0 ? 'empty file' : `too short to be a capture (${this.bytes} bytes)`;
      throw new CaptureInputError(this.file, reason);
    }
    this.guard(() => reader.finish());
    return {
      file: this.file,
      format: reader.format,
      linkTypes: reader.linkTypes(),
      packets: reader.packets,
      bytes: this.bytes,
      warnings: reader.warnings,
    };
  }

  /** Format errors name the file; anything else (a consumer's own exception) passes untouched. */
  private guard(step: () => void): void {
    try {
      step();
    } catch (err) {
      if (err instanceof CaptureFormatError)
        throw new CaptureInputError(this.file, err.message, { cause: err });
      throw err;
    }
  }
}

/**
 * Fails exactly as readCapture would for an input that cannot be read at all (missing, a
 * directory, empty, not a capture), after reading only its first bytes: so a report that
 * streams its output never starts on inputs that will fail.
 */
export async function checkCaptureInput(input: string): Promise<void> {
  if (input === '-') return;
  try {
    // A pipe (a FIFO, or `<(zcat x.pcap.gz)`) can be read once only: it is checked as it is read.
    const kind = await stat(input);
    if (!kind.isFile() && !kind.isDirectory()) return;
  } catch (err) {
    throw systemError(input, err);
  }
  let head = Buffer.alloc(0);
  try {
    // Leaving the loop closes the file (the generator's finally).
    for await (const chunk of await openFile(input, MAGIC_LENGTH)) {
      head = Buffer.concat([head, chunk]);
      if (head.length >= MAGIC_LENGTH) break;
    }
  } catch (err) {
    throw systemError(input, err);
  }
  if (head.length < MAGIC_LENGTH)
    throw new CaptureInputError(input, `too short to be a capture (${head.length} bytes)`);
  const picked = createReader(head);
  if (typeof picked === 'string') throw new CaptureInputError(input, picked);
}

async function openFile(path: string, chunkSize = DEFAULT_CHUNK_SIZE): Promise<AsyncIterable<Buffer>> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw systemError(path, err);
  }
  let reason = '';
  try {
    const stat = await handle.stat();
    // Opening a directory succeeds on Linux; reading it is what fails.
    if (stat.isDirectory()) reason = 'is a directory, not a capture file';
    else if (stat.isFile() && stat.size === 0) reason = 'empty file';
  } catch (err) {
    await handle.close();
    throw systemError(path, err);
  }
  if (reason !== '') {
    await handle.close();
    throw new CaptureInputError(path, reason);
  }
  return readChunks(handle, chunkSize);
}

/**
 * The file in chunks read into two buffers in turn: the next read runs while the consumer works
 * on the current chunk, and a chunk's buffer is reused once the consumer asks for the one after
 * next (a fresh 1 MiB buffer per read cost page faults and ~20 MB of peak RSS per GB). Closes the
 * file at the end, on an error, or when the consumer leaves.
 */
async function* readChunks(handle: FileHandle, chunkSize: number): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafeSlow(chunkSize), Buffer.allocUnsafeSlow(chunkSize)];
  let turn = 0;
  let reading = handle.read(buffers[turn], 0, chunkSize, null);
  try {
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) return;
      turn ^= 1;
      reading = handle.read(buffers[turn], 0, chunkSize, null);
      yield bytesRead === chunkSize ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    // A read still running when the consumer leaves: let it end before the file closes.
    await reading.catch(() => undefined);
    await handle.close();
  }
}

/** One line for a Node system error; never a stack trace. */
function systemError(file: string, err: unknown): CaptureInputError {
  if (err instanceof CaptureInputError) return err;
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  let reason: string;
  switch (code) {
    case 'ENOENT':
      reason = 'no such file';
      break;
    case 'EACCES':
    case 'EPERM':
      reason = 'permission denied';
      break;
    case 'EISDIR':
      reason = 'is a directory, not a capture file';
      break;
    default: {
      const text = err instanceof Error ? err.message : String(err);
      reason = `cannot read: ${text.split('\n')[0]}`;
    }
  }
  return new CaptureInputError(file, reason, { cause: err });
}
