/**
 * The terminal boundary: everything taken from captured traffic passes through here before it
 * is printed, so hostile bytes (escape sequences, bidi overrides, invisible characters) are shown
 * as visible text and never reach the terminal raw.
 *
 * Escapes: `\\` (a backslash, doubled so every escape we print is unambiguous), `\t`, `\n`, `\r`,
 * `\e` (ESC), `\xNN` (other C0, DEL, and bytes that are not UTF-8), `\uXXXX` / `\u{XXXXX}`
 * (C1 controls, format controls such as bidi overrides, separators, lone surrogates).
 */

/**
 * C0, DEL, C1, backslash, every format control (Cf: bidi, zero-width, BOM, tag characters), the
 * line/paragraph separators, lone surrogates, and the Hangul fillers (blank glyphs used to hide
 * text).
 */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\\\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115f\u1160\u3164\uffa0]/gu;

/** ZWNJ and ZWJ are Cf but needed to render some scripts and emoji; they cannot move the cursor. */
const ZWNJ = 0x200c;
const ZWJ = 0x200d;

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function escapeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  switch (cp) {
    case 0x09:
      return '\\t';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x1b:
      return '\\e';
    case 0x5c:
      return '\\\\';
    case ZWNJ:
    case ZWJ:
      return ch;
  }
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex2(cp)}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\u{${cp.toString(16)}}`;
}

/** Text made safe to print: no control, format or invisible character survives raw. */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * Length of the well-formed UTF-8 sequence starting at `i` (Unicode table 3-7: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when the byte there does not start one.
 */
function utf8SequenceLength(bytes: Buffer, i: number): number {
  const b0 = bytes[i];
  const n = bytes.length;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => j < n && bytes[j] >= lo && bytes[j] <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b0 === 0xe0) return cont(i + 1, 0xa0) && cont(i + 2) ? 3 : 0;
  if (b0 === 0xed) return cont(i + 1, 0x80, 0x9f) && cont(i + 2) ? 3 : 0;
  if (b0 >= 0xe1 && b0 <= 0xef) return cont(i + 1) && cont(i + 2) ? 3 : 0;
  if (b0 === 0xf0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b0 === 0xf4) return cont(i + 1, 0x80, 0x8f) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  return 0;
}

/**
 * Bytes decoded as UTF-8 leniently and escaped: each byte that is not part of a well-formed
 * sequence is shown as `\xNN` (rather than U+FFFD, which would hide what was sent).
 */
export function escapeBytes(bytes: Buffer): string {
  let out = '';
  let start = 0;
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    if (bytes[i] < 0x80) {
      i++;
      continue;
    }
    const len = utf8SequenceLength(bytes, i);
    if (len > 0) {
      i += len;
      continue;
    }
    if (i > start) out += escapeForTerminal(bytes.toString('utf8', start, i));
    out += `\\x${hex2(bytes[i])}`;
    i++;
    start = i;
  }
  if (start < n) out += escapeForTerminal(bytes.toString('utf8', start, n));
  return out;
}
