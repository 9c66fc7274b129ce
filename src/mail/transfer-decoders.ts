/**
 * Streaming Content-Transfer-Encoding decoders. Each takes raw body bytes in pieces of any size
 * and hands decoded bytes to `out`; `end()` flushes what a piece boundary held back.
 */

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

/** Base64 alphabet lookup: 1 for a character that carries bits, 0 for everything skipped. */
const BASE64_CHAR = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')
  BASE64_CHAR[c.charCodeAt(0)] = 1;

/**
 * Base64 that skips line breaks, whitespace, padding and junk (as RFC 2045 says a decoder must),
 * decoding whole quanta as they arrive and carrying up to three characters to the next piece.
 */
export class Base64Decoder implements TransferDecoder {
  private scratch = Buffer.allocUnsafe(4096);
  private carry = 0;

  constructor(private readonly out: ByteOutput) {}

  write(bytes: Buffer): void {
    if (this.carry === 0 && this.fast(bytes)) return;
    const needed = this.carry + bytes.length;
    if (this.scratch.length < needed) {
      const bigger = Buffer.allocUnsafe(Math.max(needed, this.scratch.length * 2));
      this.scratch.copy(bigger, 0, 0, this.carry);
      this.scratch = bigger;
    }
    const scratch = this.scratch;
    let n = this.carry;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i];
      if (BASE64_CHAR[c] === 1) scratch[n++] = c;
    }
    const whole = n - (n % 4);
    if (whole > 0) this.out(Buffer.from(scratch.toString('latin1', 0, whole), 'base64'));
    // The few characters of an unfinished quantum move to the front for the next piece.
    scratch.copy(scratch, 0, whole, n);
    this.carry = n - whole;
  }

  /**
   * The common case, lines of the alphabet (padding only at the end): Node's own decoder skips
   * the line breaks, and only the count of carried characters needs a look at the bytes.
   */
  private fast(bytes: Buffer): boolean {
    const text = bytes.toString('latin1');
    const junk = NOT_BASE64_OR_BREAK.exec(text);
    let padding = 0;
    if (junk) {
      const tail = text.slice(junk.index);
      if (!ONLY_PADDING.test(tail)) return false;
      padding = tail.length - countByte(bytes, CR, junk.index) - countByte(bytes, LF, junk.index);
    }
    const valid = text.length - countByte(bytes, CR, 0) - countByte(bytes, LF, 0) - padding;
    const rest = valid % 4;
    if (rest === 0) {
      if (valid > 0) this.out(Buffer.from(text, 'base64'));
      return true;
    }
    // Cut before the last `rest` alphabet characters; they start the next quantum.
    let cut = text.length;
    for (let k = rest; k > 0; ) if (BASE64_CHAR[text.charCodeAt(--cut)] === 1) k--;
    if (cut > 0) this.out(Buffer.from(text.slice(0, cut), 'base64'));
    for (let i = cut; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (BASE64_CHAR[c] === 1) this.scratch[this.carry++] = c;
    }
    return true;
  }

  end(): void {
    // A final quantum of 2 or 3 characters still carries 1 or 2 bytes; a lone one carries none.
    if (this.carry >= 2) this.out(Buffer.from(this.scratch.toString('latin1', 0, this.carry), 'base64'));
    this.carry = 0;
  }
}

const NOT_BASE64_OR_BREAK = /[^A-Za-z0-9+/\r\n]/;
const ONLY_PADDING = /^[=\r\n]*$/;

function countByte(bytes: Buffer, byte: number, from: number): number {
  let n = 0;
  for (let i = bytes.indexOf(byte, from); i >= 0; i = bytes.indexOf(byte, i + 1)) n++;
  return n;
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
    const dst = Buffer.allocUnsafe(bytes.length + this.held.length + 3);
    this.held.copy(dst, 0);
    let n = this.held.length;
    let ws = n;
    let state = this.state;
    let first = this.firstHex;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i];
      if (state === TEXT) {
        if (c === SP || c === TAB) {
          dst[n++] = c;
          ws++;
        } else if (c === EQ) {
          ws = 0;
          state = AFTER_EQ;
        } else if (c === CR) {
          state = AFTER_CR;
        } else if (c === LF) {
          n -= ws;
          ws = 0;
          dst[n++] = LF;
        } else {
          dst[n++] = c;
          ws = 0;
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
