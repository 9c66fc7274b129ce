/**
 * The mail layer's MessageSink: turns one transaction's message bytes into a MessageRecord while
 * they stream. Our MimeScanner walks the structure synchronously (parts, decoded hashes,
 * anomalies). The top-level headers, part filenames and text bodies are mailparser's reading:
 * for the common shape, the functions it would call run directly at the end (fast-path.ts);
 * otherwise mailparser itself gets header blocks, boundary lines and inline text (attachment
 * bodies never reach it). Until the fast path is ruled out those bytes are held, not parsed.
 */
import {
  type AttachmentStream,
  type HeaderLines,
  type Headers,
  MailParser,
  type MessageText,
} from 'mailparser';
import type { MessageSink, MessageSinkFactory } from '../smtp/transaction-builder.js';
import { readWithoutParser } from './fast-path.js';
import { buildRecord, HeaderView } from './header-view.js';
import { HeadersOnlySink } from './headers-only-sink.js';
import { findIndicatorsInBodies } from './indicators.js';
import type { Attachment, MessageRecord, MimePart } from './message-record.js';
import { type HeaderBlock, MimeScanner, type PartInfo, type PartWriter } from './mime-scanner.js';

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
/** Forwarded and text bytes a message may hold for the fast path before mailparser takes over. */
const HOLD_LIMIT = 128 * 1024;

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
  /** Started only for a message the fast path cannot read (see fast-path.ts), or a big one. */
  private parser: MailParser | null = null;
  private done: Promise<void> = Promise.resolve();
  /** Taken from the pool at the first forwarded byte and returned at the end. */
  private batch: Buffer | null = null;
  private batchLength = 0;
  /** Forwarded bytes (copies) held while the message may still be read without mailparser. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** What the fast path reads: header blocks and inline text, while no parser runs. */
  private blocks: HeaderBlock[] = [];
  private texts = new Map<string, Buffer[]>();
  private headers: Headers | null = null;
  private headerLines: HeaderLines = [];
  private text: string | undefined = undefined;
  private html: string | undefined = undefined;
  private readonly filenames = new Map<string, FilenameInfo>();
  private parserFailed = false;

  constructor(
    private readonly limits: MessageLimits,
    onPart?: (part: PartInfo) => PartWriter | null,
  ) {
    this.scanner = new MimeScanner({
      ...limits,
      forward: (bytes) => this.forward(bytes),
      onPart,
      onHeaderBlock: (block) => {
        if (this.parser === null) this.blocks.push(block);
      },
      onText: (path, bytes) => this.keepText(path, bytes),
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
    if (this.parser === null && this.scanner.anomalies.size === 0) {
      const fast = readWithoutParser({
        blocks: this.blocks,
        texts: this.texts,
        forwarded: new Set(this.scanner.parts.filter((p) => p.forwarded).map((p) => p.path)),
        maxChildNodes: this.maxChildNodes(),
      });
      if (fast) {
        this.headers = fast.headers;
        this.headerLines = fast.headerLines;
        for (const [path, filename] of fast.filenames) this.filenames.set(path, { filename });
        this.text = fast.text;
        return this.record();
      }
    }
    const parser = this.startParser();
    parser.end();
    await this.done;
    return this.record();
  }

  private maxChildNodes(): number {
    // Our scanner enforces the part limit; mailparser must not fail first and lose the text.
    return this.limits.maxParts + 16;
  }

  private startParser(): MailParser {
    if (this.parser) return this.parser;
    const parser = new MailParser({
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
      checksumAlgo: false,
      // Embedded messages stay one part (hashed as the attached .eml), like our scanner keeps them.
      ignoreEmbedded: true,
      maxChildNodes: this.maxChildNodes(),
    });
    this.parser = parser;
    parser.on('headers', (headers) => {
      this.headers = headers;
    });
    parser.on('headerLines', (lines) => {
      this.headerLines = lines;
    });
    parser.on('data', (data: AttachmentStream | MessageText) => {
      if (data.type === 'text') {
        this.text = data.text;
        this.html = data.html;
        return;
      }
      this.filenames.set(data.partId ?? '1', { filename: data.filename ?? null });
      // The body is elided before mailparser, so this drains at once; release lets it go on.
      data.content.on('end', () => data.release?.());
      data.content.resume();
    });
    this.done = new Promise<void>((resolve) => {
      parser.on('end', resolve);
      parser.on('error', () => {
        this.parserFailed = true;
        resolve();
      });
    });
    for (const piece of this.held) parser.write(piece);
    this.held = [];
    this.heldBytes = 0;
    this.blocks = [];
    this.texts.clear();
    return parser;
  }

  private keepText(path: string, bytes: Buffer): void {
    if (this.parser !== null) return;
    const list = this.texts.get(path);
    const copy = Buffer.from(bytes);
    if (list) list.push(copy);
    else this.texts.set(path, [copy]);
    this.heldBytes += copy.length;
    if (this.heldBytes > HOLD_LIMIT) this.startParser();
  }

  private forward(bytes: Buffer): void {
    if (this.parserFailed) return;
    if (this.batchLength + bytes.length > FORWARD_BATCH) {
      this.flushBatch();
      if (bytes.length >= FORWARD_BATCH) {
        this.deliver(Buffer.from(bytes));
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
    const copy = Buffer.from(this.batch.subarray(0, this.batchLength));
    this.batchLength = 0;
    this.deliver(copy);
  }

  /** Forwarded bytes to mailparser, or held for it while the fast path may still do. */
  private deliver(copy: Buffer): void {
    if (this.parser !== null) {
      this.parser.write(copy);
      return;
    }
    this.held.push(copy);
    this.heldBytes += copy.length;
    // A message with this much header and text is no common case: mailparser streams it.
    if (this.heldBytes > HOLD_LIMIT) this.startParser();
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
    const indicators = findIndicatorsInBodies(this.text, this.html);
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
