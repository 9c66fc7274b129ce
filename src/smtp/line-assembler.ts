const LF = 0x0a;
const CR = 0x0d;
/** Shared by every assembler that holds no line: thousands of sessions may be open at once. */
const EMPTY = Buffer.alloc(0);

/**
 * Collects one line at a time from stream chunks, holding a partial line across chunks as a
 * list of copied parts (joined once, when the line ends). Bytes past `cap` are counted and
 * dropped, so a line with no end cannot grow memory.
 */
export class LineAssembler {
  private parts: Buffer[] = [];
  private held = 0;
  /** The line just completed by feed() (taken with takeLine), including its line ending. */
  private line: Buffer = EMPTY;
  /** Bytes of the line just completed that were dropped past the cap. */
  dropped = 0;
  private dropping = 0;

  constructor(private readonly cap: number) {}

  /** True while a partial line is held. */
  get pending(): boolean {
    return this.held > 0 || this.dropping > 0;
  }

  /**
   * Consumes bytes from buf[start, end) up to and including the next LF. Returns the index after
   * that LF, the line ready for takeLine(); or -1 when the range ended first (the rest is held).
   */
  feed(buf: Buffer, start: number, end: number): number {
    const lf = buf.indexOf(LF, start);
    const stop = lf < 0 || lf >= end ? end : lf + 1;
    const room = this.cap - this.held;
    const take = Math.min(stop - start, Math.max(room, 0));
    if (take > 0) {
      // Always a copy: a view would keep the whole capture chunk (1 MiB) alive for as long as
      // the line is referenced, and lines are few and short next to the message bytes.
      this.parts.push(Buffer.from(buf.subarray(start, start + take)));
      this.held += take;
    }
    this.dropping += stop - start - take;
    if (stop === end && (lf < 0 || lf >= end)) return -1;
    this.line = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.held);
    this.dropped = this.dropping;
    this.parts = [];
    this.held = 0;
    this.dropping = 0;
    return stop;
  }

  /** The line feed() just completed; the assembler lets go of it (it may be 64 KiB long). */
  takeLine(): Buffer {
    const line = this.line;
    this.line = EMPTY;
    return line;
  }

  /** Hands out whatever partial line is held (at a gap or the end of the stream) and clears it. */
  flush(): Buffer | null {
    if (!this.pending) return null;
    const partial = Buffer.concat(this.parts, this.held);
    this.dropped = this.dropping;
    this.parts = [];
    this.held = 0;
    this.dropping = 0;
    return partial;
  }
}

/** Length of the line ending at the end of `line`: 2 for CRLF, 1 for a bare LF, 0 for none. */
export function lineEndingLength(line: Buffer): number {
  const n = line.length;
  if (n === 0 || line[n - 1] !== LF) return 0;
  return n >= 2 && line[n - 2] === CR ? 2 : 1;
}

/** The line's text without its ending, decoded as latin1 so every byte maps to one char. */
export function lineText(line: Buffer): string {
  return line.toString('latin1', 0, line.length - lineEndingLength(line));
}
