/**
 * mboxrd output: a `From ` line with the envelope sender and the capture time, the message with
 * every line matching /^>*From / given one more `>`, a blank line between messages. Written with
 * synchronous appends to a file descriptor so memory stays bounded whatever the message size.
 */
import { writeSync } from 'node:fs';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** C asctime() form in UTC, as mbox `From ` lines carry it: `Thu Dec  3 16:01:41 2026`. */
export function asctime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = String(date.getUTCDate()).padStart(2, ' ');
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${day} ${time} ${date.getUTCFullYear()}`;
}

/** The separator line: the null sender is MAILER-DAEMON; blanks would split the line's fields. */
export function fromLine(envelopeSender: string | null, captureTime: Date): string {
  const sender = envelopeSender ? envelopeSender.replace(/\s/g, '_') : 'MAILER-DAEMON';
  return `From ${sender} ${asctime(captureTime)}\n`;
}

const GT = 0x3e;
const LF = 0x0a;
const FROM_ = Buffer.from('From ');

/**
 * Quotes one message for mboxrd while it streams through in pieces of any size. At a line start
 * it holds bytes only while they could still become `>*From ` (a run of `>` is held whole: the
 * quote goes in front of it).
 */
export class MboxrdQuoter {
  private atLineStart = true;
  /** Bytes at the start of the current line that match /^>*F?r?o?m? ?/ so far. */
  private held: number[] = [];
  private lastByte = LF;

  constructor(private readonly out: (bytes: Buffer) => void) {}

  write(bytes: Buffer): void {
    let start = 0;
    let i = 0;
    while (i < bytes.length) {
      if (!this.atLineStart) {
        const lf = bytes.indexOf(LF, i);
        if (lf < 0) {
          i = bytes.length;
          break;
        }
        i = lf + 1;
        this.atLineStart = true;
        continue;
      }
      // At a line start: flush what came before, then decide this line's prefix byte by byte.
      if (i > start) this.out(bytes.subarray(start, i));
      start = i;
      while (i < bytes.length && this.atLineStart) {
        const c = bytes[i++];
        this.held.push(c);
        const k = this.held.length;
        const gts = this.countGt();
        if (c === GT && gts === k) continue;
        const j = k - 1 - gts;
        if (j < FROM_.length && c === FROM_[j]) {
          if (j === FROM_.length - 1) {
            this.out(Buffer.from([GT, ...this.held]));
            this.held = [];
            this.atLineStart = false;
          }
          continue;
        }
        this.out(Buffer.from(this.held));
        this.held = [];
        this.atLineStart = c === LF;
      }
      start = i;
    }
    if (i > start) this.out(bytes.subarray(start, i));
    if (bytes.length > 0) this.lastByte = bytes[bytes.length - 1];
  }

  /** Flushes a held prefix; returns whether the message ended with a line break. */
  end(): boolean {
    if (this.held.length > 0) {
      this.out(Buffer.from(this.held));
      this.lastByte = this.held[this.held.length - 1];
      this.held = [];
    }
    return this.lastByte === LF;
  }

  private countGt(): number {
    let n = 0;
    while (n < this.held.length && this.held[n] === GT) n++;
    return n;
  }
}

/** Appends whole messages to an open mbox file descriptor. */
export class MboxWriter {
  constructor(private readonly fd: number) {}

  /** Writes one message; `pump` feeds its bytes to the given writer in order. */
  append(
    envelopeSender: string | null,
    captureTime: Date,
    pump: (write: (bytes: Buffer) => void) => void,
  ): void {
    writeSync(this.fd, fromLine(envelopeSender, captureTime));
    const quoter = new MboxrdQuoter((bytes) => writeAll(this.fd, bytes));
    pump((bytes) => quoter.write(bytes));
    const endedWithLf = quoter.end();
    // A message always ends its last line, then one blank line separates it from the next.
    writeSync(this.fd, endedWithLf ? '\n' : '\n\n');
  }
}

export function writeAll(fd: number, bytes: Buffer): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}
