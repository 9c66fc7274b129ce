/**
 * Streaming Content-Transfer-Encoding decoders. Each takes raw body bytes in pieces of any size
 * and hands decoded bytes to `out`; `end()` flushes what a piece boundary held back.
 */

/** Receives decoded bytes: a view valid only during the call (decoders reuse their buffers). */
export type ByteOutput = (bytes: Buffer) => void;

export interface TransferDecoder {
  write(bytes: Buffer): void;
  end(): void;
}

/** 7bit, 8bit, binary and anything unknown: the bytes are the content. */
export class IdentityDecoder implements TransferDecoder {
  constructor(private readonly out: ByteOutput) {}
  write(bytes: Buffer): void {
    if (bytes.length > 0) this.out(bytes);
  }
  end(): void {}
}

const CR = 0x0d;
const LF = 0x0a;

/** Base64 alphabet: each character's 6-bit value, -1 for everything a decoder skips. */
const BASE64_VALUE = new Int8Array(256).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries())
  BASE64_VALUE[c.charCodeAt(0)] = i;

/** Pieces shorter than this are decoded in JS: a string and a native call cost more than the loop. */
const SMALL_PIECE = 64;
const EQ_SIGN = 0x3d;
const DASH = 0x2d;
const UNDERSCORE = 0x5f;

/**
 * Base64 that skips line breaks, whitespace, padding and junk (as RFC 2045 says a decoder must):
 * the output is the decoding of every alphabet character of the stream in order, quantum by
 * quantum, a final 2 or 3 characters giving 1 or 2 bytes.
 *
 * With `restartAtPadding`, "=" ends the unfinished quantum instead (its 2 or 3 characters give 1
 * or 2 bytes) and the next character starts a new one: libbase64's reading, which mailparser
 * decodes text with, for the text that must read as it does.
 */
export class Base64Decoder implements TransferDecoder {
  /** Values of the characters of the unfinished quantum. */
  private readonly quantum = new Uint8Array(4);
  private carry = 0;
  /** Distance between line feeds last seen: lets countBreaks check the next one without a search. */
  private lineStep = 0;

  constructor(
    private readonly out: ByteOutput,
    private readonly restartAtPadding = false,
  ) {}

  write(bytes: Buffer): void {
    const n = bytes.length;
    if (n === 0) return;
    const output = reserveOutput(((this.carry + n) >> 2) * 3 + 3);
    let o = 0;
    if (n < SMALL_PIECE) {
      o = this.byByte(bytes, 0, n, output, 0);
    } else {
      let i = 0;
      // The unfinished quantum is finished from the head, so the rest starts on a quantum.
      if (this.carry > 0) {
        i = this.quantumEnd(bytes);
        o = this.byByte(bytes, 0, i, output, 0);
      }
      if (i < n) o = this.bulk(bytes, i, output, o);
    }
    if (o > 0) this.out(output.subarray(0, o));
  }

  /** The index just past the byte that finishes the unfinished quantum (the length when none does). */
  private quantumEnd(bytes: Buffer): number {
    let need = 4 - this.carry;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i];
      if (BASE64_VALUE[c] >= 0) {
        if (--need === 0) return i + 1;
      } else if (c === EQ_SIGN && this.restartAtPadding) {
        return i + 1;
      }
    }
    return bytes.length;
  }

  /** Feeds bytes[from, to) into the quantum, decoding each one that ends at output[o]; returns the new output length. */
  private byByte(bytes: Buffer, from: number, to: number, output: Buffer, o: number): number {
    const q = this.quantum;
    let carry = this.carry;
    let at = o;
    for (let i = from; i < to; i++) {
      const v = BASE64_VALUE[bytes[i]];
      if (v < 0) {
        if (bytes[i] === EQ_SIGN && this.restartAtPadding && carry > 0) {
          at = this.partialQuantum(carry, output, at);
          carry = 0;
        }
        continue;
      }
      q[carry++] = v;
      if (carry === 4) {
        output[at++] = (q[0] << 2) | (q[1] >> 4);
        output[at++] = ((q[1] & 15) << 4) | (q[2] >> 2);
        output[at++] = ((q[2] & 3) << 6) | q[3];
        carry = 0;
      }
    }
    this.carry = carry;
    return at;
  }

  /**
   * bytes[from..], starting on a quantum. Node's decoder skips every byte outside the alphabet as
   * we do, except "=" (it stops) and "-" / "_" (it reads the URL alphabet): with none of those
   * before the closing padding, the alphabet characters are counted (bytes minus line breaks),
   * those of a last unfinished quantum are cut off and carried, and Node decodes the rest. Junk
   * the count missed makes Node write fewer bytes than the count says, and the piece is then
   * decoded byte by byte, so the result never depends on the guess.
   */
  private bulk(bytes: Buffer, from: number, output: Buffer, o: number): number {
    const n = bytes.length;
    let end = n;
    const eq = bytes.indexOf(EQ_SIGN, from);
    if (eq >= 0) {
      if (!onlyPaddingFrom(bytes, eq)) return this.byByte(bytes, from, n, output, o);
      end = eq;
    }
    if (bytes.indexOf(DASH, from) >= 0 || bytes.indexOf(UNDERSCORE, from) >= 0) {
      return this.byByte(bytes, from, n, output, o);
    }
    const valid = end - from - this.countBreaks(bytes, from, end);
    const rest = valid & 3;
    // Cut before the last `rest` alphabet characters; they start the next quantum.
    let cut = end;
    for (let k = rest; k > 0 && cut > from; ) if (BASE64_VALUE[bytes[--cut]] >= 0) k--;
    const whole = valid - rest;
    let at = o;
    if (whole > 0) {
      const written = cut > from ? output.write(bytes.toString('latin1', from, cut), o, 'base64') : 0;
      if (written !== (whole >> 2) * 3) return this.byByte(bytes, from, n, output, o);
      at += written;
    }
    if (cut < end) this.byByte(bytes, cut, end, output, at);
    if (end < n && this.restartAtPadding && this.carry > 0) {
      at = this.partialQuantum(this.carry, output, at);
      this.carry = 0;
    }
    return at;
  }

  /** Writes the 1 or 2 bytes an unfinished quantum of `carry` characters carries at output[o]. */
  private partialQuantum(carry: number, output: Buffer, o: number): number {
    const q = this.quantum;
    let at = o;
    if (carry >= 2) output[at++] = (q[0] << 2) | (q[1] >> 4);
    if (carry === 3) output[at++] = ((q[1] & 15) << 4) | (q[2] >> 2);
    return at;
  }

  /** CR and LF bytes in bytes[from, to), assuming CRLF or LF line ends (a miss only costs speed). */
  private countBreaks(bytes: Buffer, from: number, to: number): number {
    let n = 0;
    let step = this.lineStep;
    let i = bytes.indexOf(LF, from);
    while (i >= 0 && i < to) {
      n += i > from && bytes[i - 1] === CR ? 2 : 1;
      // Lines of one length are the rule: one read confirms the next line feed.
      if (step > 0 && i + step < to && bytes[i + step] === LF) {
        i += step;
        continue;
      }
      const next = bytes.indexOf(LF, i + 1);
      if (next > 0) step = next - i;
      i = next;
    }
    this.lineStep = step;
    return n;
  }

  end(): void {
    // A final quantum of 2 or 3 characters still carries 1 or 2 bytes; a lone one carries none.
    const output = reserveOutput(2);
    const n = this.partialQuantum(this.carry, output, 0);
    this.carry = 0;
    if (n > 0) this.out(output.subarray(0, n));
  }
}

/** Only "=" and line breaks from `at` to the end: the padding closes the data. */
function onlyPaddingFrom(bytes: Buffer, at: number): boolean {
  for (let i = at; i < bytes.length; i++) {
    const c = bytes[i];
    if (c !== EQ_SIGN && c !== CR && c !== LF) return false;
  }
  return true;
}

/**
 * One output buffer for every decoder: a decoder fills it and hands a view to its consumer, which
 * uses or copies it before returning (decoding is synchronous, so no two writes overlap).
 */
let sharedOutput = Buffer.allocUnsafe(64 * 1024);

function reserveOutput(size: number): Buffer {
  if (sharedOutput.length < size) sharedOutput = Buffer.allocUnsafe(Math.max(size, sharedOutput.length * 2));
  return sharedOutput;
}

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
}

// Quoted-printable decoder states (plain numbers: the loop runs once per byte).
const TEXT = 0;
/** After "=". */
const AFTER_EQ = 1;
/** After "=" and one hex digit. */
const AFTER_EQ_HEX = 2;
/** After "=" CR: a soft line break if LF follows. */
const AFTER_EQ_CR = 3;
/** After a CR of the text. */
const AFTER_CR = 4;

const EQ = 0x3d;
const SP = 0x20;
const TAB = 0x09;
/** Bytes that quoted-printable passes on as they are wherever they stand: all but blanks, "=" and line breaks. */
const PLAIN = new Uint8Array(256).fill(1);
for (const c of [SP, TAB, EQ, CR, LF]) PLAIN[c] = 0;
/** Whitespace held at a piece's end while waiting to see whether it ends a line; beyond this it is text. */
const MAX_HELD_WHITESPACE = 1024;

/**
 * Quoted-printable (RFC 2045 6.7): `=XX` octets, `=` line-end soft breaks, trailing whitespace of
 * a line dropped; a malformed `=` is kept literally, as most readers do. Hard line breaks are kept
 * as sent (CRLF or a bare LF). Bytes are copied as they come and a line's trailing blanks are
 * taken back at its end, so ordinary text costs one comparison chain per byte.
 */
export class QuotedPrintableDecoder implements TransferDecoder {
  private state = TEXT;
  private firstHex = 0;
  /** Blanks that ended the previous piece: trailing unless text follows on their line. */
  private held: Buffer = Buffer.alloc(0);

  constructor(private readonly out: ByteOutput) {}

  write(bytes: Buffer): void {
    const dst = reserveOutput(bytes.length + this.held.length + 3);
    this.held.copy(dst, 0);
    let n = this.held.length;
    let ws = n;
    let state = this.state;
    let first = this.firstHex;
    const length = bytes.length;
    for (let i = 0; i < length; i++) {
      const c = bytes[i];
      if (state === TEXT) {
        if (PLAIN[c] === 1) {
          dst[n++] = c;
          ws = 0;
        } else if (c === SP || c === TAB) {
          dst[n++] = c;
          ws++;
        } else if (c === EQ) {
          ws = 0;
          // "=XX" whole in this piece, the common escape, is decoded at once.
          if (i + 2 < length && HEX[bytes[i + 1]] >= 0 && HEX[bytes[i + 2]] >= 0) {
            dst[n++] = (HEX[bytes[i + 1]] << 4) | HEX[bytes[i + 2]];
            i += 2;
          } else {
            state = AFTER_EQ;
          }
        } else if (c === CR) {
          state = AFTER_CR;
        } else {
          n -= ws;
          ws = 0;
          dst[n++] = LF;
        }
      } else if (state === AFTER_EQ) {
        if (HEX[c] >= 0) {
          first = c;
          state = AFTER_EQ_HEX;
        } else if (c === CR) {
          state = AFTER_EQ_CR;
        } else if (c === LF) {
          state = TEXT;
        } else if (c !== SP && c !== TAB) {
          // Blanks between "=" and the line end are transport padding of a soft break; anything
          // else makes the "=" a literal, and c is read again as text.
          dst[n++] = EQ;
          state = TEXT;
          i--;
        }
      } else if (state === AFTER_EQ_HEX) {
        state = TEXT;
        if (HEX[c] >= 0) {
          dst[n++] = (HEX[first] << 4) | HEX[c];
        } else {
          dst[n++] = EQ;
          dst[n++] = first;
          i--;
        }
      } else if (state === AFTER_EQ_CR) {
        state = TEXT;
        if (c !== LF) {
          dst[n++] = EQ;
          dst[n++] = CR;
          i--;
        }
      } else {
        state = TEXT;
        if (c === LF) {
          n -= ws;
          dst[n++] = CR;
          dst[n++] = LF;
        } else {
          dst[n++] = CR;
          i--;
        }
        ws = 0;
      }
    }
    this.state = state;
    this.firstHex = first;
    if (ws > MAX_HELD_WHITESPACE) ws = 0;
    this.held = ws > 0 ? Buffer.from(dst.subarray(n - ws, n)) : EMPTY;
    n -= ws;
    if (n > 0) this.out(dst.subarray(0, n));
  }

  end(): void {
    // Blanks at the very end trail the last line, so they are dropped like any trailing blank.
    const tail: number[] = [];
    if (this.state === AFTER_EQ_HEX) tail.push(EQ, this.firstHex);
    else if (this.state === AFTER_CR) tail.push(CR);
    else if (this.state === AFTER_EQ_CR) tail.push(EQ, CR);
    this.state = TEXT;
    this.held = EMPTY;
    if (tail.length > 0) this.out(Buffer.from(tail));
  }
}

const EMPTY = Buffer.alloc(0);

/** "=" held by the soft-break stage of LibqpDecoder: none, "=", or "=" CR. */
const NO_EQ = 0;
const EQ_HELD = 1;
const EQ_CR_HELD = 2;

/**
 * Quoted-printable as libqp (which mailparser decodes text with) reads it, for the text that must
 * read as mailparser's: unlike QuotedPrintableDecoder it drops blanks before a lone CR too, keeps
 * blanks after a malformed "=", and decodes "=4=\n1" to "A", because it works in three passes
 * over the whole body: (1) blanks before a CR, a LF or the end are dropped; (2) "=" before a LF,
 * a CRLF or the end is dropped with the line break; (3) "=" and two hex digits give their octet,
 * any other "=" stays. Here each pass is a stage fed by the one before, holding what it cannot
 * decide yet: (1) a run of blanks, (2) "=" or "=" CR, (3) "=" or "=" and a digit.
 */
export class LibqpDecoder implements TransferDecoder {
  /** Stage 1: the blanks that may still end a line; beyond MAX_HELD_WHITESPACE they are dropped. */
  private readonly blanks = Buffer.alloc(MAX_HELD_WHITESPACE);
  private blankCount = 0;
  private softState = NO_EQ;
  private hexState = TEXT;
  private firstHex = 0;
  private output: Buffer = EMPTY;
  private n = 0;

  constructor(private readonly out: ByteOutput) {}

  write(bytes: Buffer): void {
    // Each input byte gives at most one output byte besides what stages held from before.
    const output = reserveOutput(bytes.length + this.blankCount + 4);
    this.output = output;
    this.n = 0;
    const length = bytes.length;
    for (let i = 0; i < length; i++) {
      let c = bytes[i];
      if (PLAIN[c] === 1 && this.blankCount === 0 && this.softState === NO_EQ && this.hexState === TEXT) {
        // A run of ordinary text with nothing held passes every stage unchanged.
        let n = this.n;
        do {
          output[n++] = c;
          c = bytes[++i];
        } while (i < length && PLAIN[c] === 1);
        this.n = n;
        if (i === length) break;
      }
      if (
        c === EQ &&
        i + 2 < length &&
        HEX[bytes[i + 1]] >= 0 &&
        HEX[bytes[i + 2]] >= 0 &&
        this.blankCount === 0 &&
        this.softState === NO_EQ &&
        this.hexState === TEXT
      ) {
        // "=XX" whole in this piece with nothing held: the stages would pass on its octet.
        output[this.n++] = (HEX[bytes[i + 1]] << 4) | HEX[bytes[i + 2]];
        i += 2;
        continue;
      }
      if (c === SP || c === TAB) {
        if (this.blankCount < MAX_HELD_WHITESPACE) this.blanks[this.blankCount++] = c;
        continue;
      }
      if (c !== CR && c !== LF) for (let k = 0; k < this.blankCount; k++) this.soft(this.blanks[k]);
      this.blankCount = 0;
      this.soft(c);
    }
    this.flush();
  }

  end(): void {
    this.output = reserveOutput(4);
    this.n = 0;
    // Blanks at the end trail the last line; a "=" at the end is a soft break.
    this.blankCount = 0;
    if (this.softState === EQ_CR_HELD) {
      this.hex(EQ);
      this.hex(CR);
    }
    this.softState = NO_EQ;
    if (this.hexState !== TEXT) this.output[this.n++] = EQ;
    if (this.hexState === AFTER_EQ_HEX) this.output[this.n++] = this.firstHex;
    this.hexState = TEXT;
    this.flush();
  }

  private flush(): void {
    if (this.n > 0) this.out(this.output.subarray(0, this.n));
  }

  /** Stage 2: soft line breaks. */
  private soft(c: number): void {
    if (this.softState === NO_EQ) {
      if (c === EQ) this.softState = EQ_HELD;
      else this.hex(c);
    } else if (this.softState === EQ_HELD) {
      if (c === LF) this.softState = NO_EQ;
      else if (c === CR) this.softState = EQ_CR_HELD;
      else {
        this.hex(EQ);
        // A second "=" is held in turn.
        if (c !== EQ) {
          this.softState = NO_EQ;
          this.hex(c);
        }
      }
    } else {
      this.softState = NO_EQ;
      if (c !== LF) {
        this.hex(EQ);
        this.hex(CR);
        this.soft(c);
      }
    }
  }

  /** Stage 3: "=XX" octets. */
  private hex(c: number): void {
    if (this.hexState === TEXT) {
      if (c === EQ) this.hexState = AFTER_EQ;
      else this.output[this.n++] = c;
    } else if (this.hexState === AFTER_EQ) {
      if (HEX[c] >= 0) {
        this.firstHex = c;
        this.hexState = AFTER_EQ_HEX;
      } else {
        this.output[this.n++] = EQ;
        this.hexState = TEXT;
        this.hex(c);
      }
    } else {
      this.hexState = TEXT;
      if (HEX[c] >= 0) {
        this.output[this.n++] = (HEX[this.firstHex] << 4) | HEX[c];
      } else {
        this.output[this.n++] = EQ;
        this.output[this.n++] = this.firstHex;
        this.hex(c);
      }
    }
  }
}

export function createTransferDecoder(encoding: string | null, out: ByteOutput): TransferDecoder {
  switch (encoding) {
    case 'base64':
      return new Base64Decoder(out);
    case 'quoted-printable':
      return new QuotedPrintableDecoder(out);
    default:
      return new IdentityDecoder(out);
  }
}

/**
 * The decoder mailsplit gives mailparser for a part's transfer encoding (as mailsplit reads the
 * header), reading as libbase64 and libqp do: for text that must read as mailparser's.
 */
export function createMailsplitDecoder(encoding: string, out: ByteOutput): TransferDecoder {
  switch (encoding) {
    case 'base64':
      return new Base64Decoder(out, true);
    case 'quoted-printable':
      return new LibqpDecoder(out);
    default:
      return new IdentityDecoder(out);
  }
}
