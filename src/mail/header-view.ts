/**
 * The top-level header fields of a message record, from mailparser's decoding of the header
 * block: shared by the full sink and the headers-only one, so both say the same.
 */
import type { AddressObject, HeaderLines, Headers, HeaderValue } from 'mailparser';
import { formatAddressList, parseDate, parseReceived } from './header-values.js';
import type { MessageRecord, RawHeaders } from './message-record.js';

/** What a record holds besides the top-level headers. */
export type BodyFields = Pick<
  MessageRecord,
  'parts' | 'attachments' | 'urls' | 'emails' | 'domains' | 'anomalies'
>;

/** The fields HeaderView reads from the decoded headers (the rest it reads as sent, from the lines). */
export const DECODED_FIELDS = new Set([
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'subject',
  'message-id',
  'in-reply-to',
  'references',
  'user-agent',
  'x-mailer',
]);

/**
 * The top-level header block as mailparser decoded it: `headers` decoded (at least the
 * DECODED_FIELDS), `lines` as sent.
 */
export class HeaderView {
  constructor(
    private readonly headers: Headers | null,
    private readonly lines: HeaderLines,
  ) {}

  rawValues(name: string): string[] {
    const out: string[] = [];
    for (const { key, line } of this.lines) {
      if (key !== name) continue;
      const colon = line.indexOf(':');
      out.push(
        line
          .slice(colon + 1)
          .replace(/\r?\n[ \t]/g, ' ')
          .trim(),
      );
    }
    return out;
  }

  raw(name: string): string | null {
    return this.rawValues(name)[0] ?? null;
  }

  decoded(name: string): string | null {
    const value: HeaderValue | undefined = this.headers?.get(name);
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
    return null;
  }

  addresses(name: string): string[] {
    const value = this.headers?.get(name);
    if (value === undefined || typeof value === 'string' || value instanceof Date) return [];
    const list = Array.isArray(value) ? value : [value];
    return formatAddressList(
      list.filter((v): v is AddressObject => typeof v === 'object' && v !== null && 'html' in v),
    );
  }

  single(name: string): string | null {
    if (this.raw(name) === null) return null;
    const list = this.addresses(name);
    return list.length > 0 ? list.join(', ') : null;
  }

  references(): string[] {
    const value = this.headers?.get('references');
    if (typeof value === 'string') return [value];
    return Array.isArray(value) ? value.filter((r): r is string => typeof r === 'string') : [];
  }
}

/** The message object, its fields in the contract's order (the JSON output depends on it). */
export function buildRecord(h: HeaderView, body: BodyFields): MessageRecord {
  const dateRaw = h.raw('date');
  const returnPath = h.raw('return-path');
  const ip = h.raw('x-originating-ip');
  const raw: RawHeaders = {
    from: h.raw('from'),
    sender: h.raw('sender'),
    replyTo: h.raw('reply-to'),
    to: h.raw('to'),
    cc: h.raw('cc'),
    subject: h.raw('subject'),
  };
  return {
    date: dateRaw === null ? null : { raw: dateRaw, iso: parseDate(dateRaw) },
    from: h.single('from'),
    sender: h.single('sender'),
    replyTo: h.single('reply-to'),
    to: h.addresses('to'),
    cc: h.addresses('cc'),
    subject: raw.subject === null ? null : (h.decoded('subject') ?? ''),
    messageId: h.decoded('message-id'),
    inReplyTo: h.decoded('in-reply-to'),
    references: h.references(),
    userAgent: h.decoded('user-agent') ?? h.decoded('x-mailer'),
    xOriginatingIp: ip === null ? null : ip.replace(/^\[|\]$/g, ''),
    returnPath: returnPath === null ? null : (/<([^>]*)>/.exec(returnPath)?.[1] ?? returnPath),
    received: h.rawValues('received').map(parseReceived),
    parts: body.parts,
    attachments: body.attachments,
    urls: body.urls,
    emails: body.emails,
    domains: body.domains,
    anomalies: body.anomalies,
    authenticationResults: h.rawValues('authentication-results'),
    raw,
  };
}
