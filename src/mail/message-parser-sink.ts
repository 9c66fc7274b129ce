/**
 * The mail layer's MessageSink: turns one transaction's message bytes into a MessageRecord while
 * they stream. Our MimeScanner walks the structure synchronously (parts, decoded hashes,
 * anomalies); mailparser decodes the top-level headers, part filenames and the text bodies, and
 * sees only header blocks, boundary lines and inline text (attachment bodies never reach it).
 */
import {
  type AttachmentStream,
  type HeaderLines,
  type Headers,
  MailParser,
  type MessageText,
} from 'mailparser';
import type { MessageSink, MessageSinkFactory } from '../smtp/transaction-builder.js';
import { buildRecord, HeaderView } from './header-view.js';
import { HeadersOnlySink } from './headers-only-sink.js';
import { findIndicatorsInBodies } from './indicators.js';
import type { Attachment, MessageRecord, MimePart } from './message-record.js';
import { MimeScanner, type PartInfo, type PartWriter } from './mime-scanner.js';

export interface MessageLimits {
  /** Bytes of a message the MIME parser reads; the rest is flagged (`mime-size-limit`) and skipped. */
  maxBytes: number;
  /** Multipart nesting depth; a deeper multipart is kept as one opaque part (`mime-depth-limit`). */
  maxDepth: number;
  /** Leaf parts; parsing stops after this many (`mime-parts-limit`). */
  maxParts: number;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = {
  maxBytes: 64 * 1024 * 1024,
  maxDepth: 32,
  maxParts: 1000,
};

export const MESSAGE_ANOMALIES = {
  parserError: 'mime-parser-error',
} as const;

/** Bytes gathered before one write into mailparser: each write costs it a turn of the event loop. */
const FORWARD_BATCH = 64 * 1024;
/** Forward batches of ended messages, for the next ones (interleaved messages each hold one). */
const freeForwardBatches: Buffer[] = [];
const MAX_FREE_BATCHES = 16;

interface FilenameInfo {
  filename: string | null;
}

export interface MessageParserSinkOptions extends Partial<MessageLimits> {
  /** Receives each leaf part's decoded bytes as they are decoded (the extractor writes them out). */
  onPart?: (part: PartInfo) => PartWriter | null;
  /**
   * Read only the top-level header block (HeadersOnlySink: parts, attachments, indicators and
   * anomalies stay empty): for views that show headers and must stay near `--no-mime` speed.
   */
  headersOnly?: boolean;
}

/** The sink factory the SMTP layer calls when a transaction's data begins. */
export function createMessageParserSink(
  options: MessageParserSinkOptions = {},
): MessageSinkFactory<MessageRecord> {
  if (options.headersOnly) return () => new HeadersOnlySink();
  const limits = resolveLimits(options);
  return () => new MessageParserSink(limits, options.onPart);
}

export function resolveLimits(options: Partial<MessageLimits>): MessageLimits {
  return {
    maxBytes: options.maxBytes ?? DEFAULT_MESSAGE_LIMITS.maxBytes,
    maxDepth: options.maxDepth ?? DEFAULT_MESSAGE_LIMITS.maxDepth,
    maxParts: options.maxParts ?? DEFAULT_MESSAGE_LIMITS.maxParts,
  };
}

export class MessageParserSink implements MessageSink<MessageRecord> {
  private readonly scanner: MimeScanner;
  private readonly parser: MailParser;
  private readonly done: Promise<void>;
  /** Taken from the pool at the first forwarded byte and returned at the end. */
  private batch: Buffer | null = null;
  private batchLength = 0;
  private headers: Headers | null = null;
  private headerLines: HeaderLines = [];
  private text: MessageText | null = null;
  private readonly filenames = new Map<string, FilenameInfo>();
  private parserFailed = false;

  constructor(limits: MessageLimits, onPart?: (part: PartInfo) => PartWriter | null) {
    this.parser = new MailParser({
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
      checksumAlgo: false,
      // Embedded messages stay one part (hashed as the attached .eml), like our scanner keeps them.
      ignoreEmbedded: true,
      // Our scanner enforces the part limit; mailparser must not fail first and lose the text.
      maxChildNodes: limits.maxParts + 16,
    });
    this.scanner = new MimeScanner({ ...limits, forward: (bytes) => this.forward(bytes), onPart });
    this.parser.on('headers', (headers) => {
      this.headers = headers;
    });
    this.parser.on('headerLines', (lines) => {
      this.headerLines = lines;
    });
    this.parser.on('data', (data: AttachmentStream | MessageText) => {
      if (data.type === 'text') {
        this.text = data;
        return;
      }
      this.filenames.set(data.partId ?? '1', { filename: data.filename ?? null });
      // The body is elided before mailparser, so this drains at once; release lets it go on.
      data.content.on('end', () => data.release?.());
      data.content.resume();
    });
    this.done = new Promise<void>((resolve) => {
      this.parser.on('end', resolve);
      this.parser.on('error', () => {
        this.parserFailed = true;
        resolve();
      });
    });
  }

  write(bytes: Buffer): void {
    this.scanner.write(bytes);
  }

  gap(length: number): void {
    this.scanner.gap(length);
  }

  async end(): Promise<MessageRecord> {
    this.scanner.end();
    this.flushBatch();
    this.releaseBatch();
    this.parser.end();
    await this.done;
    return this.record();
  }

  private forward(bytes: Buffer): void {
    if (this.parserFailed) return;
    if (this.batchLength + bytes.length > FORWARD_BATCH) {
      this.flushBatch();
      if (bytes.length >= FORWARD_BATCH) {
        this.parser.write(Buffer.from(bytes));
        return;
      }
    }
    if (this.batch === null) this.batch = freeForwardBatches.pop() ?? Buffer.allocUnsafe(FORWARD_BATCH);
    bytes.copy(this.batch, this.batchLength);
    this.batchLength += bytes.length;
  }

  private flushBatch(): void {
    if (this.batch === null || this.batchLength === 0) return;
    // The parser keeps what it is given until it gets to it: it gets a copy of just the bytes
    // (most messages forward a few KiB, from the shared pool), and the batch is used again.
    this.parser.write(Buffer.from(this.batch.subarray(0, this.batchLength)));
    this.batchLength = 0;
  }

  private releaseBatch(): void {
    if (this.batch !== null && freeForwardBatches.length < MAX_FREE_BATCHES)
      freeForwardBatches.push(this.batch);
    this.batch = null;
  }

  private record(): MessageRecord {
    const parts: MimePart[] = [];
    const attachments: Attachment[] = [];
    for (const part of this.scanner.parts) {
      const filename = this.filenames.get(part.path)?.filename ?? part.filename;
      parts.push({
        path: part.path,
        contentType: part.contentType,
        charset: part.charset,
        encoding: part.encoding,
        disposition: part.disposition,
        filename,
        size: part.size,
        md5: part.md5,
        sha1: part.sha1,
        sha256: part.sha256,
      });
      if (!part.forwarded) {
        attachments.push({
          path: part.path,
          filename,
          contentType: part.contentType,
          size: part.size,
          md5: part.md5,
          sha1: part.sha1,
          sha256: part.sha256,
        });
      }
    }
    const anomalies = [...this.scanner.anomalies];
    if (this.parserFailed) anomalies.push(MESSAGE_ANOMALIES.parserError);
    const indicators = findIndicatorsInBodies(this.text?.text, this.text?.html);
    return buildRecord(new HeaderView(this.headers, this.headerLines), {
      parts,
      attachments,
      urls: indicators.urls,
      emails: indicators.emails,
      domains: indicators.domains,
      anomalies,
    });
  }
}
