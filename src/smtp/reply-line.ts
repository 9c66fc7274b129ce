import type { Reply } from './records.js';
import { fromLatin1 } from './wire-text.js';

/** One server line split into its parts; `code` is -1 when the line has no three-digit code. */
export interface ReplyLine {
  code: number;
  /** True for `250-text`: more lines of the same reply follow. */
  continues: boolean;
  enhanced: string | null;
  text: string;
}

const ENHANCED_CODE = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/;

/** Splits `250-2.1.0 Ok` into code, continuation mark, enhanced status code and text. */
export function parseReplyLine(line: string): ReplyLine {
  const c0 = line.charCodeAt(0) - 48;
  const c1 = line.charCodeAt(1) - 48;
  const c2 = line.charCodeAt(2) - 48;
  const digits = c0 >= 0 && c0 <= 9 && c1 >= 0 && c1 <= 9 && c2 >= 0 && c2 <= 9;
  const sep = line.charAt(3);
  if (!digits || (sep !== '' && sep !== ' ' && sep !== '-')) {
    return { code: -1, continues: false, enhanced: null, text: line };
  }
  let text = line.slice(4);
  let enhanced: string | null = null;
  const match = ENHANCED_CODE.exec(text);
  if (match && Number(match[1]) === c0) {
    enhanced = `${match[1]}.${match[2]}.${match[3]}`;
    text = text.slice(match[0].length);
  }
  return { code: c0 * 100 + c1 * 10 + c2, continues: sep === '-', enhanced, text };
}

/** Builds the Reply record from the lines of one (possibly multi-line) reply. */
export function buildReply(lines: ReplyLine[], packet: number): Reply {
  const last = lines[lines.length - 1];
  const text = fromLatin1(lines.map((l) => l.text).join('\n'));
  const reply: Reply = {
    code: last.code,
    enhanced: lines[0].enhanced ?? last.enhanced,
    text: text.text,
    packet,
  };
  if (text.hex !== undefined) reply.textHex = text.hex;
  return reply;
}

export function isPositive(reply: Reply | null): boolean {
  return reply !== null && reply.code >= 200 && reply.code < 300;
}

export function isFailure(reply: Reply | null): boolean {
  return reply !== null && reply.code >= 400;
}

const QUEUE_ID_PATTERNS = [
  /queued as ([A-Za-z0-9]+)/i, // Postfix, Sendmail-likes
  /\bid=([A-Za-z0-9-]+)/, // Exim: "OK id=1abcde-000123-AB"
  /\b(?:Ok|Queued|Accepted)[^A-Za-z0-9]*(?:\(?[Mm]essage\)?\s+)?([A-Fa-f0-9]{8,}|[A-Za-z0-9]{10,})\b/,
];

/** The server's queue id from the reply that accepts a message, when the text names one. */
export function queueIdOf(reply: Reply): string | null {
  for (const pattern of QUEUE_ID_PATTERNS) {
    const match = pattern.exec(reply.text);
    if (match) return match[1];
  }
  return null;
}
