/**
 * URLs, e-mail addresses and domains in message text, for IOC work: unique, in order of appearance.
 * Matching starts only at the anchors `://` and `@` (found with indexOf), so long text without them
 * costs a native scan, and no pattern ever runs from every position of a word.
 */

export interface Indicators {
  urls: string[];
  emails: string[];
  domains: string[];
}

const SCHEMES = new Set(['http', 'https', 'ftp']);
/** Characters a URL runs through after its scheme (RFC 3986 unreserved, reserved and %). */
const URL_REST = /[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]+/y;
/** Sentence punctuation that ends a URL in prose rather than belonging to it. */
const URL_TRAILER = /[.,;:!?)'"]+$/;
const LOCAL_CHAR = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]/;
const DOMAIN = /(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9-])/y;
/** An address's local part is at most 64 octets (RFC 5321). */
const MAX_LOCAL = 64;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

/** Undoes the HTML entities that commonly sit inside href values (`&amp;` between parameters). */
function unescapeHtml(html: string): string {
  return html.replace(/&(amp|lt|gt|quot|apos|#39);/g, (_m, name: string) => ENTITIES[name]);
}

function isSchemeChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a);
}

function findUrls(text: string, urls: Set<string>, domains: Set<string>): void {
  for (let at = text.indexOf('://'); at >= 0; at = text.indexOf('://', at + 3)) {
    let start = at;
    while (start > 0 && at - start < 5 && isSchemeChar(text.charCodeAt(start - 1))) start--;
    if (!SCHEMES.has(text.slice(start, at).toLowerCase())) continue;
    URL_REST.lastIndex = at + 3;
    const rest = URL_REST.exec(text);
    if (!rest) continue;
    const url = `${text.slice(start, at + 3)}${rest[0]}`.replace(URL_TRAILER, '');
    if (urls.has(url)) continue;
    urls.add(url);
    try {
      const host = new URL(url).hostname.toLowerCase();
      if (host) domains.add(host);
    } catch {
      // Not a URL the WHATWG parser accepts: keep the text, no domain.
    }
  }
}

function findEmails(text: string, emails: Set<string>, domains: Set<string>): void {
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && at - start < MAX_LOCAL && LOCAL_CHAR.test(text[start - 1])) start--;
    if (start === at) continue;
    DOMAIN.lastIndex = at + 1;
    const domain = DOMAIN.exec(text);
    if (!domain) continue;
    emails.add(text.slice(start, at + 1 + domain[0].length));
    domains.add(domain[0].toLowerCase());
  }
}

export function findIndicators(texts: string[]): Indicators {
  const urls = new Set<string>();
  const emails = new Set<string>();
  const domains = new Set<string>();
  for (const text of texts) {
    findUrls(text, urls, domains);
    findEmails(text, emails, domains);
  }
  return { urls: [...urls], emails: [...emails], domains: [...domains] };
}

export function findIndicatorsInBodies(text: string | undefined, html: string | undefined): Indicators {
  const texts: string[] = [];
  if (text) texts.push(text);
  if (html) texts.push(unescapeHtml(html));
  return findIndicators(texts);
}
