/**
 * URLs, e-mail addresses and domains in message text, for IOC work: unique, in order of appearance.
 * Matching starts only at the anchors `://` and `@` (found with indexOf), so long text without them
 * costs a native scan, and no pattern ever runs from every position of a word.
 *
 * The order is that of one pass for URLs, then one for addresses, over all the plain text, then
 * the same over all the HTML (as if each were one string). Bodies may be fed in pieces cut after a
 * separator byte (see BodyTextScanner): no match reaches over one, so pieces scan like the whole.
 */

export interface Indicators {
  urls: string[];
  emails: string[];
  domains: string[];
}

const SCHEMES = new Set(['http', 'https', 'ftp']);
/** Characters a URL runs through after its scheme (RFC 3986 unreserved, reserved and %). */
const URL_CHAR = /[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]/;
const URL_REST = new RegExp(`${URL_CHAR.source}+`, 'y');
/** Sentence punctuation that ends a URL in prose rather than belonging to it. */
const URL_TRAILER = /[.,;:!?)'"]+$/;
const LOCAL_CHAR = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]/;
const DOMAIN = /(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9-])/y;
/** An address's local part is at most 64 octets (RFC 5321). */
const MAX_LOCAL = 64;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

/**
 * Bytes that are in no URL and no local part (so in no scheme, domain or HTML entity either):
 * blanks, line breaks, `"<>[\]`, controls and every byte of a non-ASCII character.
 */
const SEPARATOR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const char = String.fromCharCode(c);
  SEPARATOR[c] = c >= 0x80 || !(URL_CHAR.test(char) || LOCAL_CHAR.test(char)) ? 1 : 0;
}

/** Undoes the HTML entities that commonly sit inside href values (`&amp;` between parameters). */
function unescapeHtml(html: string): string {
  return html.replace(/&(amp|lt|gt|quot|apos|#39);/g, (_m, name: string) => ENTITIES[name]);
}

function isSchemeChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a);
}

/** What one kind of body gave; URL and address domains apart, as their passes are apart. */
class Found {
  readonly urls = new Set<string>();
  readonly emails = new Set<string>();
  readonly urlDomains = new Set<string>();
  readonly emailDomains = new Set<string>();

  scan(text: string): void {
    this.findUrls(text);
    this.findEmails(text);
  }

  private findUrls(text: string): void {
    for (let at = text.indexOf('://'); at >= 0; at = text.indexOf('://', at + 3)) {
      let start = at;
      while (start > 0 && at - start < 5 && isSchemeChar(text.charCodeAt(start - 1))) start--;
      if (!SCHEMES.has(text.slice(start, at).toLowerCase())) continue;
      URL_REST.lastIndex = at + 3;
      const rest = URL_REST.exec(text);
      if (!rest) continue;
      const url = `${text.slice(start, at + 3)}${rest[0]}`.replace(URL_TRAILER, '');
      if (this.urls.has(url)) continue;
      this.urls.add(url);
      try {
        const host = new URL(url).hostname.toLowerCase();
        if (host) this.urlDomains.add(host);
      } catch {
        // Not a URL the WHATWG parser accepts: keep the text, no domain.
      }
    }
  }

  private findEmails(text: string): void {
    for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
      let start = at;
      while (start > 0 && at - start < MAX_LOCAL && LOCAL_CHAR.test(text[start - 1])) start--;
      if (start === at) continue;
      DOMAIN.lastIndex = at + 1;
      const domain = DOMAIN.exec(text);
      if (!domain) continue;
      this.emails.add(text.slice(start, at + 1 + domain[0].length));
      this.emailDomains.add(domain[0].toLowerCase());
    }
  }
}

/** Indicators of one message's text and HTML bodies, fed in any number of pieces of each. */
export class IndicatorCollector {
  private readonly text = new Found();
  private readonly html = new Found();

  addText(text: string): void {
    this.text.scan(text);
  }

  addHtml(html: string): void {
    this.html.scan(unescapeHtml(html));
  }

  result(): Indicators {
    const { text, html } = this;
    return {
      urls: [...new Set([...text.urls, ...html.urls])],
      emails: [...new Set([...text.emails, ...html.emails])],
      domains: [
        ...new Set([...text.urlDomains, ...text.emailDomains, ...html.urlDomains, ...html.emailDomains]),
      ],
    };
  }
}

export function findIndicatorsInBodies(text: string | undefined, html: string | undefined): Indicators {
  const collector = new IndicatorCollector();
  if (text) collector.addText(text);
  if (html) collector.addHtml(html);
  return collector.result();
}

/** Longest piece held while waiting for a separator; a longer run is scanned as it is. */
const MAX_PIECE = 256 * 1024;
const AT = 0x40;
const SCHEME_MARK = Buffer.from('://');
const EMPTY = Buffer.alloc(0);

/**
 * One body's decoded bytes, in an ASCII-compatible charset, to a collector. Read as latin1: only
 * ASCII characters can be in a match, and they are the same bytes in every such charset, so the
 * matches are those of the body decoded as its charset says. Each write is scanned up to its last
 * separator and the rest waits for the next one (copied). Every match holds "://" or "@" (HTML
 * entities decode to neither), so a piece without them is not made a string at all.
 */
export class BodyTextScanner {
  private carry = EMPTY;

  constructor(
    private readonly collector: IndicatorCollector,
    private readonly html: boolean,
  ) {}

  write(bytes: Buffer): void {
    let cut = bytes.length;
    while (cut > 0 && SEPARATOR[bytes[cut - 1]] === 0) cut--;
    if (cut === 0 && this.carry.length + bytes.length <= MAX_PIECE) {
      this.carry = Buffer.concat([this.carry, bytes]);
      return;
    }
    // A run longer than MAX_PIECE without a separator is cut where it is (only a URL or address
    // that long could be split).
    if (cut === 0) cut = bytes.length;
    if (hasAnchor(this.carry, bytes, cut)) {
      const piece = this.carry.length > 0 ? Buffer.concat([this.carry, bytes.subarray(0, cut)]) : bytes;
      this.scan(piece.toString('latin1', 0, this.carry.length + cut));
    }
    this.carry = cut < bytes.length ? Buffer.from(bytes.subarray(cut)) : EMPTY;
  }

  end(): void {
    if (hasAnchor(EMPTY, this.carry, this.carry.length)) this.scan(this.carry.toString('latin1'));
    this.carry = EMPTY;
  }

  private scan(piece: string): void {
    if (this.html) this.collector.addHtml(piece);
    else this.collector.addText(piece);
  }
}

/** Whether `head` followed by bytes[0, end) holds "@" or "://". */
function hasAnchor(head: Buffer, bytes: Buffer, end: number): boolean {
  const at = bytes.indexOf(AT);
  if (at >= 0 && at < end) return true;
  const mark = bytes.indexOf(SCHEME_MARK);
  if (mark >= 0 && mark + SCHEME_MARK.length <= end) return true;
  if (head.length === 0) return false;
  if (head.includes(AT) || head.includes(SCHEME_MARK)) return true;
  return Buffer.concat([head.subarray(-2), bytes.subarray(0, Math.min(2, end))]).includes(SCHEME_MARK);
}
