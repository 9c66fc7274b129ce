const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const CR_BYTE = Buffer.from([CR]);

enum State {
  LineStart,
  MidLine,
  /** A dot at the start of a line, not yet known to be stuffing or the end mark. */
  Dot,
  /** A dot then CR at the start of a line. */
  DotCr,
}

/** Where message bytes go (an object, not a callback: no closure per packet). */
export interface ByteSink {
  write(bytes: Buffer): void;
}

/** Which non-standard end-of-data form ended the message, for the smuggling anomaly. */
export type EndForm = 'crlf.crlf' | 'lf.crlf' | 'crlf.lf' | 'lf.lf';

/**
 * Streams DATA content: removes the dot that RFC 5321 §4.5.2 stuffs at the start of lines and
 * finds the end mark (a line holding only "."). Works on any chunking without buffering lines:
 * message bytes are handed on as views of the input.
 */
export class DotUnstuffer {
  private state = State.LineStart;
  /** Whether the line ending that made the current line start was a bare LF. */
  private lineStartAfterBareLf = false;
  private lastByteWasCr = false;
  /** Set when the end mark has been found. */
  endForm: EndForm | null = null;
  /** Number of lines ended by a bare LF. */
  bareLineFeeds = 0;

  /**
   * After a gap nothing is known about line starts: the next end mark must follow a line end.
   * An LF right after the hole may end a line whose CR was lost: it is not counted as bare.
   */
  resetAfterGap(): void {
    this.state = State.MidLine;
    this.lastByteWasCr = true;
  }

  /**
   * Consumes buf[start, end): message bytes go to `out` (none: they are dropped). Returns the
   * index just after the end mark, or -1 when the range was consumed without reaching it.
   */
  push(buf: Buffer, start: number, end: number, out: ByteSink | null): number {
    let pos = start;
    let runStart = start;
    while (pos < end) {
      switch (this.state) {
        case State.LineStart:
          if (buf[pos] === DOT) {
            if (pos > runStart) out?.write(buf.subarray(runStart, pos));
            pos++;
            runStart = pos;
            this.state = State.Dot;
          } else {
            this.state = State.MidLine;
          }
          break;
        case State.Dot: {
          const b = buf[pos];
          if (b === CR) {
            pos++;
            runStart = pos;
            this.state = State.DotCr;
          } else if (b === LF) {
            this.endForm = this.lineStartAfterBareLf ? 'lf.lf' : 'crlf.lf';
            this.state = State.LineStart;
            return pos + 1;
          } else {
            this.state = State.MidLine;
          }
          break;
        }
        case State.DotCr:
          if (buf[pos] === LF) {
            this.endForm = this.lineStartAfterBareLf ? 'lf.crlf' : 'crlf.crlf';
            this.state = State.LineStart;
            return pos + 1;
          }
          // ".<CR>x" is a stuffed dot followed by a CR that belongs to the message.
          out?.write(CR_BYTE);
          this.lastByteWasCr = true;
          this.state = State.MidLine;
          break;
        case State.MidLine: {
          const lf = buf.indexOf(LF, pos);
          if (lf < 0 || lf >= end) {
            this.lastByteWasCr = buf[end - 1] === CR;
            pos = end;
          } else {
            const bare = lf > pos ? buf[lf - 1] !== CR : !this.lastByteWasCr;
            if (bare) this.bareLineFeeds++;
            this.lineStartAfterBareLf = bare;
            this.lastByteWasCr = false;
            pos = lf + 1;
            this.state = State.LineStart;
          }
          break;
        }
      }
    }
    // A whole packet with no dot to remove (the common case) goes on as it came, with no new view.
    if (pos > runStart) out?.write(runStart === 0 && pos === buf.length ? buf : buf.subarray(runStart, pos));
    return -1;
  }
}
