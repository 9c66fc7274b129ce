/**
 * What the server says it can do (the EHLO/LHLO reply's extension lines) and what a proxy says
 * about the real client (XCLIENT / XFORWARD attributes), parsed into records.
 */
import type { EhloCapabilities } from './records.js';

/** Parses the extension lines of an EHLO reply (the lines after the first). */
export function parseEhloExtensions(lines: string[]): EhloCapabilities {
  const caps: EhloCapabilities = {
    size: null,
    pipelining: false,
    chunking: false,
    starttls: false,
    auth: [],
    '8bitmime': false,
    binarymime: false,
    smtputf8: false,
    dsn: false,
    enhancedstatuscodes: false,
    other: [],
  };
  for (const line of lines) {
    const trimmed = line.trim();
    // `AUTH=LOGIN PLAIN` is the pre-RFC 4954 form some servers still send for old clients.
    const [keyword = '', ...args] = trimmed.split(/[\s=]+/);
    switch (keyword.toUpperCase()) {
      case 'SIZE': {
        const n = args.length === 0 ? 0 : Number(args[0]);
        caps.size = Number.isSafeInteger(n) && n >= 0 ? n : 0;
        break;
      }
      case 'PIPELINING':
        caps.pipelining = true;
        break;
      case 'CHUNKING':
        caps.chunking = true;
        break;
      case 'STARTTLS':
        caps.starttls = true;
        break;
      case 'AUTH':
        for (const mechanism of args) {
          const upper = mechanism.toUpperCase();
          if (upper !== '' && !caps.auth.includes(upper)) caps.auth.push(upper);
        }
        break;
      case '8BITMIME':
        caps['8bitmime'] = true;
        break;
      case 'BINARYMIME':
        caps.binarymime = true;
        break;
      case 'SMTPUTF8':
        caps.smtputf8 = true;
        break;
      case 'DSN':
        caps.dsn = true;
        break;
      case 'ENHANCEDSTATUSCODES':
        caps.enhancedstatuscodes = true;
        break;
      default:
        caps.other.push(line);
    }
  }
  return caps;
}

/**
 * XCLIENT / XFORWARD attributes (`NAME=mail.example ADDR=192.0.2.7 LOGIN=[UNAVAILABLE]`):
 * names upper-cased, values xtext-decoded (RFC 3461 §4: `+XX` is a hex-coded byte).
 */
export function parseProxyAttributes(arg: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const word of arg.split(/\s+/)) {
    if (!word) continue;
    const eq = word.indexOf('=');
    const name = (eq < 0 ? word : word.slice(0, eq)).toUpperCase();
    attributes[name] = eq < 0 ? '' : decodeXtext(word.slice(eq + 1));
  }
  return attributes;
}

function decodeXtext(text: string): string {
  if (!text.includes('+')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '+' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
