/**
 * Text of bytes off the wire for the JSON records: UTF-8 when the bytes are valid UTF-8
 * (SMTPUTF8 addresses, replies in any language), else the lossy UTF-8 reading plus the exact
 * bytes in hex, so the JSON stays valid and nothing is lost.
 */
import { isUtf8 } from 'node:buffer';

export interface WireText {
  text: string;
  /** The bytes in hex, only when they are not valid UTF-8. */
  hex?: string;
}

export function wireText(bytes: Buffer): WireText {
  if (isUtf8(bytes)) return { text: bytes.toString('utf8') };
  return { text: bytes.toString('utf8'), hex: bytes.toString('hex') };
}

/** Re-reads a string decoded one char per byte (latin1, as the line readers do) as wire text. */
export function fromLatin1(text: string): WireText {
  // ASCII (the common case) reads the same either way.
  if (/^[\x00-\x7f]*$/.test(text)) return { text };
  return wireText(Buffer.from(text, 'latin1'));
}
