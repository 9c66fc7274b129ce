/**
 * The mail layer's MessageSink: turns one transaction's message bytes into a MessageRecord while
 * they stream. Our MimeScanner walks the structure synchronously (parts, decoded hashes,
 * anomalies). The top-level headers, part filenames and the text the indicators are found in are
 * mailparser's reading: FastReader (fast-path.ts) runs the functions mailparser would call on each
 * header block, and the inline text parts are decoded as mailsplit would and scanned as they
 * stream. A message mailparser would read otherwise (see FastReader) goes through mailparser
 * itself, which gets header blocks, boundary lines and inline text (attachment bodies never reach
 * it); until that is ruled out those bytes are held, up to HOLD_LIMIT.
 */
import type { AttachmentStream, HeaderLines, Headers, MailParser, MessageText } from 'mailparser';
import type { MessageSink, MessageSinkFactory } from '../smtp/transaction-builder.js';
import { keptCopy } from '../tcp/kept-bytes.js';
import { type BatchHolder, BatchPool } from './batch-pool.js';
import { FastReader, type TextReading } from './fast-path.js';
import { buildRecord, HeaderView } from './header-view.js';
import { HeadersOnlySink } from './headers-only-sink.js';
import { BodyTextScanner, findIndicatorsInBodies, IndicatorCollector } from './indicators.js';
import { mailparser } from './mail-libraries.js';
import type { Attachment, MessageRecord, MimePart } from './message-record.js';
import { MIME_ANOMALIES, MimeScanner, type PartInfo, type PartWriter } from './mime-scanner.js';
import { createMailsplitDecoder } from './transfer-decoders.js';

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

/** Anomalies of a message that is only cut short (see MessageParserSink.readsAlike). */
const CUT_SHORT = new Set<string>([MIME_ANOMALIES.missingCloseBoundary, MIME_ANOMALIES.sizeLimit]);

export const MESSAGE_ANOMALIES = {
  parserError: 'mime-parser-error',
} as const;

/** Bytes gathered before one write into mailparser: each write costs it a turn of the event loop. */
const FORWARD_BATCH = 64 * 1024;
/** Forward batches of the messages being read (interleaved messages each hold one). */
const forwardBatches = new BatchPool(FORWARD_BATCH, 64);
/**
 * Forwarded bytes a message holds while mailparser may still be needed. Past it a message that
 * reads the same so far is read without mailparser to the end (its bytes are not kept: a message
 * of any size costs a bounded amount of memory); one that does not goes to mailparser at once.
 */
const HOLD_LIMIT = 128 * 1024;
/**
 * Bytes all the messages of a thread hold together while mailparser may still be needed: past
 * it a message that would hold more is read without mailparser, as one past HOLD_LIMIT is.
 */
const MAX_ALL_HELD = 8 * 1024 * 1024;
let allHeld = 0;

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

export class MessageParserSink implements MessageSink<MessageRecord>, BatchHolder {
  lastUse = 0;
  private readonly scanner: MimeScanner;
  /** Started only for a message mailparser reads otherwise than FastReader (or an odd big one). */
  private parser: MailParser | null = null;
  private done: Promise<void> = Promise.resolve();
  /** Taken from the pool at the first forwarded byte; given back at the end, or earlier to the pool (BatchPool). */
  private batch: Buffer | null = null;
  private batchLength = 0;
  /** Forwarded bytes (copies) held while mailparser may still be needed. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readonly reader: FastReader;
  /** Past HOLD_LIMIT with nothing differing: read without mailparser whatever comes. */
  private committed = false;
  /** How to read the text of the leaf whose header block came last. */
  private textReading: TextReading | null = null;
  private readonly indicators = new IndicatorCollector();
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
    this.reader = new FastReader(this.maxChildNodes());
    this.scanner = new MimeScanner({
      ...limits,
      forward: (bytes) => this.forward(bytes),
      onPart,
      onHeaderBlock: (block) => {
        if (this.parser !== null) return;
        this.textReading = this.reader.block(block);
        if (this.reader.differs && !this.committed) this.startParser();
      },
      onTextPart: () => this.textPart(),
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
    if (this.parser === null && (this.committed || this.readsAlike())) {
      const fast = this.reader.finish();
      if (fast || this.committed) {
        this.releaseHeld();
        this.headers = fast?.headers ?? null;
        this.headerLines = fast?.headerLines ?? [];
        for (const [path, filename] of this.reader.filenames) this.filenames.set(path, { filename });
        return this.record();
      }
    }
    const parser = this.startParser();
    parser.end();
    await this.done;
    return this.record();
  }

  /**
   * Whether mailsplit splits the message as our scanner did, as far as its anomalies tell: a
   * message cut short (by the capture or the size limit) is a prefix both read alike (checked
   * against mailparser on cut messages); after any other anomaly mailparser reads it.
   */
  private readsAlike(): boolean {
    for (const anomaly of this.scanner.anomalies) if (!CUT_SHORT.has(anomaly)) return false;
    return true;
  }

  private maxChildNodes(): number {
    // Our scanner enforces the part limit; mailparser must not fail first and lose the text.
    return this.limits.maxParts + 16;
  }

  /** The indicator reading of an inline text part, while mailparser is not reading the message. */
  private textPart(): PartWriter | null {
    const reading = this.textReading;
    if (reading === null || this.parser !== null) return null;
    const scanner = new BodyTextScanner(this.indicators, reading.html);
    const decoder = createMailsplitDecoder(reading.encoding, (bytes) => scanner.write(bytes));
    return {
      write: (bytes) => decoder.write(bytes),
      end: () => {
        decoder.end();
        scanner.end();
      },
    };
  }

  private startParser(): MailParser {
    if (this.parser) return this.parser;
    const parser = new (mailparser().MailParser)({
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
    this.releaseHeld();
    return parser;
  }

  private forward(bytes: Buffer): void {
    if (this.parserFailed || this.committed) return;
    if (this.batchLength + bytes.length > FORWARD_BATCH) {
      this.flushBatch();
      if (bytes.length >= FORWARD_BATCH) {
        this.deliver(bytes);
        return;
      }
    }
    if (this.batch === null) this.batch = forwardBatches.take(this);
    else forwardBatches.touch(this);
    bytes.copy(this.batch, this.batchLength);
    this.batchLength += bytes.length;
  }

  private flushBatch(): void {
    if (this.batch === null || this.batchLength === 0) return;
    const bytes = this.batch.subarray(0, this.batchLength);
    this.batchLength = 0;
    this.deliver(bytes);
  }

  /**
   * Forwarded bytes (a view valid during the call) to mailparser, or held for it while it may
   * still be needed. Both keep a copy: the parser keeps what it is given until it gets to it,
   * and batches are used again. Bytes that pass HOLD_LIMIT are never copied.
   */
  private deliver(bytes: Buffer): void {
    if (this.parser !== null) {
      this.parser.write(keptCopy(bytes));
      return;
    }
    if (this.committed) return;
    if (this.heldBytes + bytes.length > HOLD_LIMIT || allHeld + bytes.length > MAX_ALL_HELD) {
      // Nothing differs so far (mailparser would be reading the message otherwise).
      this.committed = true;
      this.releaseHeld();
      return;
    }
    this.held.push(keptCopy(bytes));
    this.heldBytes += bytes.length;
    allHeld += bytes.length;
  }

  private releaseHeld(): void {
    allHeld -= this.heldBytes;
    this.held = [];
    this.heldBytes = 0;
  }

  surrender(): void {
    this.flushBatch();
    this.releaseBatch();
  }

  private releaseBatch(): void {
    if (this.batch !== null) forwardBatches.give(this, this.batch);
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
    const indicators =
      this.parser === null ? this.indicators.result() : findIndicatorsInBodies(this.text, this.html);
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
