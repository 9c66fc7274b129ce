/**
 * A message sink that keeps only what the Arkime comparison needs: the addresses in a message's
 * From, To and Cc headers. Arkime's email.src / email.dst merge the envelope with those headers,
 * so the envelope alone cannot be compared with them. Kept here (not the mail layer) so this
 * suite does not depend on src/mail, which is still being built.
 */
import type { MessageSink, MessageSinkFactory } from '../../../src/smtp/transaction-builder.js';

export interface HeaderAddresses {
  /** Lower-cased addresses of the From headers. */
  from: string[];
  /** Lower-cased addresses of the To and Cc headers. */
  to: string[];
}

/** Header blocks larger than this are not real headers (and the corpus has none). */
const MAX_HEADER_BYTES = 256 * 1024;

export const headerAddressSink: MessageSinkFactory<HeaderAddresses> = () => new HeaderSink();

class HeaderSink implements MessageSink<HeaderAddresses> {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private done = false;

  write(bytes: Buffer): void {
    if (this.done) return;
    // The caller may reuse its buffer: keep a copy.
    this.chunks.push(Buffer.from(bytes));
    this.length += bytes.length;
    if (this.length > MAX_HEADER_BYTES || /\r?\n\r?\n/.test(bytes.toString('latin1'))) this.done = true;
  }

  gap(): void {
    this.done = true;
  }

  end(): HeaderAddresses {
    const text = Buffer.concat(this.chunks).toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    return headerAddresses(end < 0 ? text : text.slice(0, end));
  }
}

export function headerAddresses(headerBlock: string): HeaderAddresses {
  const result: HeaderAddresses = { from: [], to: [] };
  // Unfold continuation lines, then look at each header.
  for (const line of headerBlock.replace(/\r?\n[ \t]/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const target = name === 'from' ? result.from : name === 'to' || name === 'cc' ? result.to : null;
    if (!target) continue;
    for (const address of line.slice(colon + 1).match(ADDRESS) ?? []) target.push(address.toLowerCase());
  }
  return result;
}

const ADDRESS = /[^\s<>(),;:"'[\]]+@[^\s<>(),;:"'[\]]+/g;
