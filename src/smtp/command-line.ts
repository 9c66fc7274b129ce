import type { Params } from './records.js';

export interface CommandLine {
  verb: string;
  arg: string;
}

/** Splits a command line (without its line ending) into an upper-cased verb and the argument as sent. */
export function parseCommandLine(line: string): CommandLine {
  const trimmed = line.replace(/^[ \t]+/, '');
  const space = trimmed.search(/[ \t]/);
  if (space < 0) return { verb: trimmed.toUpperCase(), arg: '' };
  return { verb: trimmed.slice(0, space).toUpperCase(), arg: trimmed.slice(space + 1) };
}

export interface PathArgument {
  address: string;
  params: Params;
  /** Bytes after the path that are neither spaces nor parameters (e.g. `<>>>>`), or null. */
  junk: string | null;
  /** False when no path could be found at all. */
  valid: boolean;
}

/**
 * Parses the argument of MAIL (`FROM:<path> params`) or RCPT (`TO:<path> params`), leniently:
 * any case, spaces around the colon, a path with or without angle brackets. Quoted local parts may
 * hold `>`, spaces and commas.
 */
export function parsePathArgument(arg: string, keyword: 'FROM' | 'TO'): PathArgument {
  const match = new RegExp(`^\\s*${keyword}\\s*:\\s*`, 'i').exec(arg);
  const rest = match ? arg.slice(match[0].length) : arg.trim();
  let address: string;
  let after: string;
  if (rest.startsWith('<')) {
    const close = closingBracket(rest);
    if (close < 0) return { address: rest.slice(1), params: {}, junk: null, valid: false };
    address = stripSourceRoute(rest.slice(1, close));
    after = rest.slice(close + 1);
  } else {
    const end = rest.search(/\s/);
    address = end < 0 ? rest : rest.slice(0, end);
    after = end < 0 ? '' : rest.slice(end);
  }
  let junk: string | null = null;
  const junkMatch = /^[^\s]+/.exec(after);
  if (junkMatch) {
    junk = junkMatch[0];
    after = after.slice(junk.length);
  }
  return { address, params: parseParams(after), junk, valid: match !== null || rest.length > 0 };
}

/** Index of the `>` closing a path that starts with `<`, skipping quoted strings. */
function closingBracket(text: string): number {
  let quoted = false;
  for (let i = 1; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '>') return i;
  }
  return -1;
}

/** `@relay1,@relay2:user@host` (an RFC 5321 source route) names the mailbox `user@host`. */
function stripSourceRoute(path: string): string {
  if (!path.startsWith('@')) return path;
  const colon = path.indexOf(':');
  return colon < 0 ? path : path.slice(colon + 1);
}

/** ESMTP parameters: keyword upper-cased; value as sent, or true for a bare keyword. */
export function parseParams(text: string): Params {
  const params: Params = {};
  for (const word of text.split(/\s+/)) {
    if (!word) continue;
    const eq = word.indexOf('=');
    if (eq < 0) params[word.toUpperCase()] = true;
    else params[word.slice(0, eq).toUpperCase()] = word.slice(eq + 1);
  }
  return params;
}
