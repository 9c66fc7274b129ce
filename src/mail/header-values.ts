/**
 * Header value parsing mailparser does not expose in the shape we need: structured values of a
 * part's own headers (read by our MIME scanner, synchronously), Received hops, dates without
 * mailparser's "now" substitute, and address lists as flat strings.
 */
import type { AddressObject, EmailAddress } from 'mailparser';
import type { ReceivedHop } from './message-record.js';

export interface StructuredValue {
  /** Lower-cased main value ("multipart/mixed"), "" when absent. */
  value: string;
  /** Parameters by lower-cased name, RFC 2231 continuations joined and charsets decoded. */
  params: Map<string, string>;
}

/** Decodes bytes in a named charset; an unknown label falls back to UTF-8 rather than failing. */
export function decodeCharset(bytes: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset.trim() || 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function percentDecode(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      out.push(c);
    } else {
      out.push(...Buffer.from(text[i], 'utf8'));
    }
  }
  return Buffer.from(out);
}

/** Splits `a; b="x;y"; c` at semicolons outside quoted strings. */
function splitParams(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) {
      pieces.push(text.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}

function unquote(raw: string): string {
  const text = raw.trim();
  if (!text.startsWith('"')) return text;
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) out += text[++i];
    else if (c === '"') break;
    else out += c;
  }
  return out;
}

/**
 * Parses `type/sub; name=value; name*0*=utf-8''%E2%82%AC; name*1="x"` with odd spacing around
 * `=` and `;`, quoted or bare values, and RFC 2231 continuations and charsets.
 */
export function parseStructured(header: string): StructuredValue {
  const [head, ...rest] = splitParams(header.replace(/\r?\n[ \t]/g, ' '));
  const params = new Map<string, string>();
  const sections = new Map<string, { index: number; extended: boolean; text: string }[]>();
  for (const piece of rest) {
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    const name = piece.slice(0, eq).trim().toLowerCase();
    if (!name) continue;
    const value = unquote(piece.slice(eq + 1));
    const m = /^([^*]+)\*(?:(\d+)\*?|)$/.exec(name);
    if (!m) {
      if (!params.has(name)) params.set(name, value);
      continue;
    }
    const base = m[1];
    const list = sections.get(base) ?? [];
    list.push({ index: m[2] === undefined ? 0 : Number(m[2]), extended: name.endsWith('*'), text: value });
    sections.set(base, list);
  }
  for (const [base, list] of sections) {
    list.sort((a, b) => a.index - b.index);
    let charset = 'utf-8';
    const chunks: Buffer[] = [];
    for (const [i, section] of list.entries()) {
      let text = section.text;
      if (section.extended && i === 0) {
        // charset'language'value: only the first section names them.
        const m = /^([^']*)'[^']*'(.*)$/s.exec(text);
        if (m) {
          charset = m[1] || 'utf-8';
          text = m[2];
        }
      }
      chunks.push(section.extended ? percentDecode(text) : Buffer.from(text, 'utf8'));
    }
    // An RFC 2231 value is the better-specified one, so it wins over a plain parameter.
    params.set(base, decodeCharset(Buffer.concat(chunks), charset));
  }
  return { value: head.trim().toLowerCase(), params };
}

/** ISO time of an RFC 5322 date, or null; comments such as "(UTC)" are dropped first. */
export function parseDate(raw: string): string | null {
  const text = raw.replace(/\([^()]*\)/g, ' ').trim();
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

const ADDRESS_SPECIALS = /[()<>[\]:;@\\,."]/;

function formatMailbox(entry: EmailAddress): string {
  const address = entry.address ?? '';
  if (!entry.name) return address;
  const name = ADDRESS_SPECIALS.test(entry.name) ? `"${entry.name.replace(/(["\\])/g, '\\$1')}"` : entry.name;
  return address ? `${name} <${address}>` : name;
}

/**
 * One string per mailbox: `Name <addr>` or `addr`. Group members are listed in place of the
 * group; an empty group (`undisclosed-recipients:;`) stays visible as `name:;`.
 */
export function formatAddressList(value: AddressObject | AddressObject[] | undefined): string[] {
  const out: string[] = [];
  for (const object of value === undefined ? [] : Array.isArray(value) ? value : [value]) {
    for (const entry of object.value) {
      if (entry.group) {
        if (entry.group.length === 0) out.push(`${entry.name}:;`);
        for (const member of entry.group) out.push(formatMailbox(member));
      } else if (entry.address || entry.name) {
        out.push(formatMailbox(entry));
      }
    }
  }
  return out;
}

/** A Received header's clauses are words each followed by a value and its comments. */
const RECEIVED_CLAUSES = new Set(['from', 'by', 'via', 'with', 'id', 'for']);
/** One definition of a blank for both branches: a word must always advance past its start. */
const BLANK = /\s/;

function tokenizeReceived(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (BLANK.test(c)) {
      i++;
    } else if (c === '(') {
      // A comment, possibly nested, stays one token so "(host [1.2.3.4])" sticks to its clause.
      let depth = 0;
      const start = i;
      for (; i < text.length; i++) {
        if (text[i] === '\\') i++;
        else if (text[i] === '(') depth++;
        else if (text[i] === ')' && --depth === 0) break;
      }
      tokens.push(text.slice(start, ++i));
    } else {
      const start = i;
      while (i < text.length && text[i] !== '(' && !BLANK.test(text[i])) i++;
      tokens.push(text.slice(start, i));
    }
  }
  return tokens;
}

/** Splits a Received header into its hop: from/by/with/id values (with their comments) and time. */
export function parseReceived(raw: string): ReceivedHop {
  const text = raw.replace(/\r?\n[ \t]*/g, ' ');
  const semicolon = text.lastIndexOf(';');
  const clauses = semicolon < 0 ? text : text.slice(0, semicolon);
  const rawTime = semicolon < 0 ? '' : text.slice(semicolon + 1).trim();
  const hop: ReceivedHop = { from: null, by: null, with: null, id: null, time: null };
  const tokens = tokenizeReceived(clauses);
  for (let i = 0; i < tokens.length; i++) {
    const word = tokens[i].toLowerCase();
    if (!RECEIVED_CLAUSES.has(word) || i + 1 >= tokens.length || tokens[i + 1].startsWith('(')) continue;
    const parts = [tokens[++i]];
    while (i + 1 < tokens.length && tokens[i + 1].startsWith('(')) parts.push(tokens[++i]);
    const value = parts.join(' ');
    if ((word === 'from' || word === 'by' || word === 'with' || word === 'id') && hop[word] === null) {
      hop[word] = value;
    }
  }
  hop.time = rawTime ? (parseDate(rawTime) ?? rawTime) : null;
  return hop;
}
