/**
 * A light MessageSink for views that need only the top-level headers (the sessions table shows
 * the Subject): it keeps the header block, ignores the body (no MIME walk, no decoding, no
 * hashing beyond the SMTP layer's own), and decodes the block with the very code mailparser runs
 * for it, synchronously, so every header field equals the full sink's.
 *
 * The record it makes, field by field:
 * - date, from, sender, replyTo, to, cc, subject, messageId, inReplyTo, references, userAgent,
 *   xOriginatingIp, returnPath, received, authenticationResults, raw: as the full sink makes
 *   them, with two limits: the first MAX_HEADER_BYTES of the block are read, and a gap in the
 *   capture ends the block (the full sink reads on across it).
 * - parts, attachments, urls, emails, domains: empty: the body was not read, so they say
 *   nothing about it (not "no attachments").
 * - anomalies: empty: no MIME checks run; gaps in the message are still in `data.gaps`.
 */
import type { HeaderLines } from 'mailparser';
import type { MessageSink } from '../smtp/transaction-builder.js';
import { decodeHeaders } from './fast-path.js';
import { buildRecord, HeaderView } from './header-view.js';
import { mailsplit } from './mail-libraries.js';
import type { MessageRecord } from './message-record.js';

/** Largest top-level header block kept (as the MIME scanner's limit for one part). */
export const MAX_HEADER_BYTES = 256 * 1024;
const LF = 0x0a;
const CR = 0x0d;

export class HeadersOnlySink implements MessageSink<MessageRecord> {
  private readonly block: Buffer[] = [];
  private blockBytes = 0;
  /** The blank line (or the size limit) was reached: nothing more is looked at. */
  private done = false;
  /** The block so far ends inside a line (matters for spotting the blank line). */
  private midLine = false;
  /** The current line so far is a lone CR: a LF next makes it the blank line. */
  private lineIsCr = false;

  write(bytes: Buffer): void {
    if (this.done || bytes.length === 0) return;
    let pos = 0;
    while (pos < bytes.length) {
      const lf = bytes.indexOf(LF, pos);
      const end = lf < 0 ? bytes.length : lf + 1;
      const blank =
        lf >= 0 &&
        ((!this.midLine && (end - pos === 1 || (end - pos === 2 && bytes[pos] === CR))) ||
          (this.lineIsCr && end - pos === 1));
      if (lf < 0) {
        this.lineIsCr = !this.midLine && end - pos === 1 && bytes[pos] === CR;
        this.midLine = true;
      } else {
        this.midLine = false;
        this.lineIsCr = false;
      }
      if (!this.keep(bytes.subarray(pos, end)) || blank) {
        this.done = true;
        return;
      }
      pos = end;
    }
  }

  /** A gap ends what can be known of the header block. */
  gap(_length: number): void {
    this.done = true;
  }

  end(): MessageRecord {
    const lines = headerLines(Buffer.concat(this.block, this.blockBytes));
    const headers = decodeHeaders(lines);
    return buildRecord(new HeaderView(headers, lines), {
      parts: [],
      attachments: [],
      urls: [],
      emails: [],
      domains: [],
      anomalies: [],
    });
  }

  private keep(piece: Buffer): boolean {
    const room = MAX_HEADER_BYTES - this.blockBytes;
    const take = piece.length > room ? piece.subarray(0, room) : piece;
    this.block.push(Buffer.from(take));
    this.blockBytes += take.length;
    return take.length === piece.length;
  }
}

/** The block's lines as mailsplit makes them for mailparser (key lower-cased, line unfolded as sent). */
function headerLines(block: Buffer): HeaderLines {
  if (block.length === 0) return [];
  return new (mailsplit().Headers)(block).getList();
}
