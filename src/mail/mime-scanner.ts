/**
 * Our own streaming MIME walker, synchronous and byte-exact: mailparser gives neither per-part
 * hashes of the decoded bytes of every part nor any word on a missing close boundary, and it
 * decodes attachment bodies we would then decode again. The scanner follows the boundaries the
 * way mailparser's splitter does (so part paths are the same), decodes and hashes every leaf
 * part, flags structural anomalies, and forwards to mailparser only what it needs: every header
 * block and boundary line, and the bodies of inline text parts.
 */
import { createHash } from 'node:crypto';
import { type BatchHolder, BatchPool } from './batch-pool.js';
import { parseStructured } from './header-values.js';
import { createTransferDecoder, type TransferDecoder } from './transfer-decoders.js';

export interface PartInfo {
  /** IMAP-style position: "1" for a single-part message, "2.1" for a nested one. */
  path: string;
  contentType: string;
  charset: string | null;
  encoding: string | null;
  disposition: string | null;
  /** From the part's own headers (RFC 2231 decoded, RFC 2047 not); mailparser's decoding wins later. */
  filename: string | null;
}

export interface ScannedPart extends PartInfo {
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  /** The body went to mailparser (inline text); everything else mailparser sees as an attachment. */
  forwarded: boolean;
}

export interface PartWriter {
  write(bytes: Buffer): void;
  end(): void;
}

export interface MimeScannerOptions {
  maxBytes: number;
  maxDepth: number;
  maxParts: number;
  /** Raw bytes mailparser should see, in order (views: copy what you keep). */
  forward: (bytes: Buffer) => void;
  /** Receives each leaf part's decoded bytes, e.g. to write attachments to disk. */
  onPart?: (part: PartInfo) => PartWriter | null;
  /** Receives each header block as it ends (the sink's own header decoding reads them). */
  onHeaderBlock?: (block: HeaderBlock) => void;
  /**
   * Receives the body of each part forwarded as text still encoded, as mailparser's decoder gets
   * it (without the line break that belongs to the next delimiter); views: copy what you keep.
   */
  onTextPart?: (part: PartInfo) => PartWriter | null;
}

export interface HeaderBlock {
  /** The part's path ("" for the message's own block when it is a multipart). */
  path: string;
  /** The block's lines as sent, without the blank line that ends it. */
  lines: Buffer[];
  /** What the scanner made of the part: a leaf, a multipart (with its boundary), or nothing. */
  kind: 'leaf' | 'multipart' | 'none';
  boundary: Buffer | null;
  /** The transfer encoding the scanner decodes a leaf with. */
  encoding: string | null;
  /** The leaf's body is forwarded as inline text (see isInlineText). */
  forwarded: boolean;
}

export const MIME_ANOMALIES = {
  missingCloseBoundary: 'missing-close-boundary',
  innerBoundaryEqualsOuter: 'inner-boundary-equals-outer',
  multipartWithoutBoundary: 'multipart-without-boundary',
  depthLimit: 'mime-depth-limit',
  partsLimit: 'mime-parts-limit',
  sizeLimit: 'mime-size-limit',
  headerTooLong: 'mime-header-too-long',
  headersCap: 'mime-headers-cap',
  gap: 'gap-in-message',
} as const;

/** Types mailparser keeps as message text when inline; everything else is an attachment to it. */
const TEXT_TYPES = new Set(['text/plain', 'text/html', 'message/delivery-status']);
const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
/** What a delimiter line may carry besides its boundary: "--", "--", blanks (as mailsplit), CRs, LF. */
const DELIMITER_OVERHEAD = 2 + 2 + 998 + 4;
/** Largest header block of one part we keep for parsing; the rest is flagged and ignored. */
const MAX_HEADER_BYTES = 256 * 1024;
/** Bytes of one unfinished header line held while its end is awaited (`mime-header-too-long` past it). */
const MAX_HELD_HEADER_LINE = 64 * 1024;
/**
 * Header bytes all the scanners of a thread hold at once (`mime-headers-cap` past it): thousands
 * of messages may be in their header blocks together, each allowed MAX_HEADER_BYTES; 200
 * header-less messages after a hole held 70 MB before this.
 */
const MAX_ALL_HEADER_BYTES = 8 * 1024 * 1024;
let allHeaderBytes = 0;
const CRLF = Buffer.from('\r\n');
const CR_BYTE = Buffer.from([CR]);
const BARE_LF = Buffer.from('\n');

interface Frame {
  boundary: Buffer;
  path: string;
  children: number;
  digest: boolean;
}

enum Mode {
  Header,
  Leaf,
  /** Preamble or epilogue of a multipart: nothing kept. */
  Container,
  Stopped,
}

/**
 * Encoded body bytes gathered before one decoder write: decoding, hashing and their native calls
 * then cost per batch rather than per line or per packet.
 */
const BODY_BATCH = 32 * 1024;
/** Batch buffers of the parts being read (the parts of interleaved messages each hold one). */
const batches = new BatchPool(BODY_BATCH, 64);

class Leaf implements BatchHolder {
  lastUse = 0;
  private readonly md5 = createHash('md5');
  private readonly sha1 = createHash('sha1');
  private readonly sha256 = createHash('sha256');
  private size = 0;
  private readonly decoder: TransferDecoder;
  private batch: Buffer | null = null;
  private batchLength = 0;
  /** The line break after the last body line, held back: before a boundary it is the boundary's. */
  private pendingEol: Buffer | null = null;

  constructor(
    readonly info: PartInfo,
    readonly forwarded: boolean,
    private readonly writer: PartWriter | null,
    private readonly textWriter: PartWriter | null,
  ) {
    this.decoder = createTransferDecoder(info.encoding, (bytes) => this.decoded(bytes));
  }

  private decoded(bytes: Buffer): void {
    this.size += bytes.length;
    this.md5.update(bytes);
    this.sha1.update(bytes);
    this.sha256.update(bytes);
    this.writer?.write(bytes);
  }

  /** A batch of encoded bytes, to the text reader (if the part has one) and the decoder. */
  private decode(bytes: Buffer): void {
    this.textWriter?.write(bytes);
    this.decoder.write(bytes);
  }

  /** Encoded bytes[from, to) in order; they reach the decoder in batches (views of the input are copied). */
  private encoded(bytes: Buffer, from: number, to: number): void {
    let at = from;
    while (at < to) {
      if (this.batchLength === 0 && to - at >= BODY_BATCH) {
        // Big enough on its own: no copy, and slices bound the decoder's output buffer.
        const end = Math.min(to, at + 2 * BODY_BATCH);
        this.decode(bytes.subarray(at, end));
        at = end;
        continue;
      }
      if (this.batch === null) this.batch = batches.take(this);
      else batches.touch(this);
      const n = Math.min(to - at, BODY_BATCH - this.batchLength);
      bytes.copy(this.batch, this.batchLength, at, at + n);
      this.batchLength += n;
      at += n;
      if (this.batchLength === BODY_BATCH) this.drain();
    }
  }

  surrender(): void {
    this.drain();
    this.releaseBatch();
  }

  private releaseBatch(): void {
    if (this.batch !== null) batches.give(this, this.batch);
    this.batch = null;
  }

  private drain(): void {
    if (this.batch === null || this.batchLength === 0) return;
    const length = this.batchLength;
    this.batchLength = 0;
    this.decode(this.batch.subarray(0, length));
  }

  flushPendingEol(): void {
    if (this.pendingEol) this.encoded(this.pendingEol, 0, this.pendingEol.length);
    this.pendingEol = null;
  }

  /** Body bytes[from, to); a range ending in a line break keeps that break pending. */
  body(bytes: Buffer, from: number, to: number, endsLine: boolean): void {
    this.flushPendingEol();
    if (!endsLine) {
      this.encoded(bytes, from, to);
      return;
    }
    const crlf = to - from >= 2 && bytes[to - 2] === CR;
    this.encoded(bytes, from, to - (crlf ? 2 : 1));
    this.pendingEol = crlf ? CRLF : BARE_LF;
  }

  finish(keepPendingEol: boolean): ScannedPart {
    if (keepPendingEol) this.flushPendingEol();
    this.drain();
    this.releaseBatch();
    this.decoder.end();
    this.writer?.end();
    this.textWriter?.end();
    return {
      ...this.info,
      size: this.size,
      md5: this.md5.digest('hex'),
      sha1: this.sha1.digest('hex'),
      sha256: this.sha256.digest('hex'),
      forwarded: this.forwarded,
    };
  }
}

export class MimeScanner {
  readonly parts: ScannedPart[] = [];
  readonly anomalies = new Set<string>();
  private readonly frames: Frame[] = [];
  private mode = Mode.Header;
  private seen = 0;
  private leaf: Leaf | null = null;
  /** Path and parent of the part whose headers are being read. */
  private headerPath = '';
  private headerParent: Frame | null = null;
  private header: Buffer[] = [];
  private headerBytes = 0;
  /** Pieces of a line whose end has not arrived yet (copies). */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** The current line's start was already passed on, so it can no longer be a boundary. */
  private midLine = false;
  private maxBoundary = 0;
  private leavesStarted = 0;

  constructor(private readonly options: MimeScannerOptions) {}

  write(input: Buffer): void {
    if (this.mode === Mode.Stopped || input.length === 0) return;
    let bytes = input;
    const room = this.options.maxBytes - this.seen;
    if (bytes.length > room) bytes = bytes.subarray(0, Math.max(0, room));
    this.seen += bytes.length;
    this.scan(bytes);
    if (bytes.length < input.length) this.stop(MIME_ANOMALIES.sizeLimit);
  }

  gap(_length: number): void {
    // The bytes around a hole do not join into one line; the part's hashes cover what was seen.
    this.anomalies.add(MIME_ANOMALIES.gap);
    this.carry = [];
    this.carryBytes = 0;
    this.midLine = false;
    // A hole, not a boundary, follows the held line break: it is the body's.
    this.leaf?.flushPendingEol();
  }

  end(): void {
    if (this.mode !== Mode.Stopped && this.carryBytes > 0) {
      const line = this.takeCarry(null, 0);
      this.line(line, false);
    }
    if (this.mode === Mode.Stopped) return;
    if (this.mode === Mode.Header) this.endHeader();
    this.finishLeaf(true);
    if (this.frames.length > 0) this.anomalies.add(MIME_ANOMALIES.missingCloseBoundary);
    this.frames.length = 0;
    this.mode = Mode.Stopped;
  }

  private stop(code: string): void {
    this.anomalies.add(code);
    // What was read so far still gets its hashes; nothing after this point is looked at.
    this.finishLeaf(true);
    this.mode = Mode.Stopped;
    this.carry = [];
    this.carryBytes = 0;
    this.dropHeader();
  }

  private scan(bytes: Buffer): void {
    const length = bytes.length;
    let pos = 0;
    if (this.carryBytes > 0) {
      const lf = bytes.indexOf(LF);
      if (lf < 0) {
        this.holdPartial(bytes, 0);
        return;
      }
      this.line(this.takeCarry(bytes, lf + 1), true);
      pos = lf + 1;
    }
    while (pos < length && this.mode !== Mode.Stopped) {
      if (this.mode === Mode.Leaf && (this.midLine || bytes[pos] !== DASH || bytes[pos + 1] !== DASH)) {
        pos = this.bodyRun(bytes, pos);
        if (pos < 0) return;
        continue;
      }
      const lf = bytes.indexOf(LF, pos);
      if (lf < 0) break;
      this.line(bytes.subarray(pos, lf + 1), true);
      pos = lf + 1;
    }
    if (pos < length && this.mode !== Mode.Stopped) this.holdPartial(bytes, pos);
  }

  /**
   * Body from bytes[pos], which starts no delimiter: every line up to the next one that starts
   * with "--" goes to the leaf in one range, found with one search rather than one per line, so a
   * large part costs per chunk. Returns where scanning goes on, or -1 when the chunk is used up.
   */
  private bodyRun(bytes: Buffer, pos: number): number {
    const dashes = delimiterStart(bytes, pos);
    if (dashes >= 0) {
      this.bodyRange(bytes, pos, dashes + 1, true);
      this.midLine = false;
      return dashes + 1;
    }
    const length = bytes.length;
    const lineStart = bytes.lastIndexOf(LF) + 1;
    const ended = lineStart > pos;
    // The unfinished last line may start a delimiter: holdPartial keeps it if so.
    if (lineStart < length && (ended || !this.midLine) && bytes[lineStart] === DASH) {
      if (ended) this.bodyRange(bytes, pos, lineStart, true);
      this.midLine = false;
      this.holdPartial(bytes, lineStart);
      return -1;
    }
    // A CR at the end may be half of the CRLF before a delimiter: it waits for the next byte.
    const crLast = bytes[length - 1] === CR;
    const end = crLast ? length - 1 : length;
    if (end > pos) this.bodyRange(bytes, pos, end, lineStart === length);
    this.midLine = lineStart < length;
    if (crLast) {
      this.carry.push(CR_BYTE);
      this.carryBytes = 1;
    }
    return -1;
  }

  /** A line has no end yet: keep it while it could still be a boundary or a header. */
  private holdPartial(bytes: Buffer, pos: number): void {
    const piece = bytes.subarray(pos);
    const total = this.carryBytes + piece.length;
    const couldBeBoundary =
      !this.midLine &&
      this.byteAt(piece, 0) === DASH &&
      (total < 2 || this.byteAt(piece, 1) === DASH) &&
      total <= this.maxBoundary + DELIMITER_OVERHEAD;
    if (
      this.mode === Mode.Header &&
      (total > MAX_HELD_HEADER_LINE ||
        this.headerBytes + total > MAX_HEADER_BYTES ||
        allHeaderBytes + total > MAX_ALL_HEADER_BYTES)
    ) {
      // A header line with no end past these caps is not held (thousands of messages may be
      // open at once); the rest of it is skipped.
      this.anomalies.add(
        allHeaderBytes + total > MAX_ALL_HEADER_BYTES
          ? MIME_ANOMALIES.headersCap
          : MIME_ANOMALIES.headerTooLong,
      );
      this.carry = [];
      this.carryBytes = 0;
      this.midLine = true;
      return;
    }
    if (this.mode === Mode.Header || couldBeBoundary) {
      this.carry.push(Buffer.from(piece));
      this.carryBytes = total;
      return;
    }
    const held = this.takeCarry(piece, piece.length);
    this.midLine = true;
    // A CR at the end may be half of the CRLF before a boundary: it waits for the next byte.
    const crLast = held[held.length - 1] === CR;
    if (this.mode === Mode.Leaf) this.bodyRange(held, 0, crLast ? held.length - 1 : held.length, false);
    if (crLast) {
      this.carry.push(CR_BYTE);
      this.carryBytes = 1;
    }
  }

  /** Byte `index` of the held line followed by `piece`. */
  private byteAt(piece: Buffer, index: number): number {
    let i = index;
    for (const held of this.carry) {
      if (i < held.length) return held[i];
      i -= held.length;
    }
    return i < piece.length ? piece[i] : -1;
  }

  private takeCarry(bytes: Buffer | null, end: number): Buffer {
    const pieces = bytes ? [...this.carry, bytes.subarray(0, end)] : this.carry;
    const line = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
    this.carry = [];
    this.carryBytes = 0;
    return line;
  }

  private bodyRange(bytes: Buffer, from: number, to: number, endsLine: boolean): void {
    const leaf = this.leaf;
    if (!leaf) return;
    leaf.body(bytes, from, to, endsLine);
    if (leaf.forwarded)
      this.options.forward(from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to));
  }

  /** One complete line (or the last, unterminated one when `terminated` is false). */
  private line(line: Buffer, terminated: boolean): void {
    const wasMidLine = this.midLine;
    this.midLine = false;
    if (!wasMidLine && this.boundary(line, terminated)) return;
    switch (this.mode) {
      case Mode.Header:
        this.headerLine(line);
        break;
      case Mode.Leaf:
        this.bodyRange(line, 0, line.length, terminated);
        break;
      default:
        break;
    }
  }

  private headerLine(line: Buffer): void {
    this.options.forward(line);
    const blank = line.length === 1 || (line.length === 2 && line[0] === CR);
    if (blank) {
      this.endHeader();
      return;
    }
    if (this.headerBytes + line.length > MAX_HEADER_BYTES) {
      this.anomalies.add(MIME_ANOMALIES.headerTooLong);
      return;
    }
    if (allHeaderBytes + line.length > MAX_ALL_HEADER_BYTES) {
      this.anomalies.add(MIME_ANOMALIES.headersCap);
      return;
    }
    this.header.push(Buffer.from(line));
    this.headerBytes += line.length;
    allHeaderBytes += line.length;
  }

  /** Lets go of the header lines held (counted in every scanner's shared cap). */
  private dropHeader(): Buffer[] {
    const lines = this.header;
    allHeaderBytes -= this.headerBytes;
    this.header = [];
    this.headerBytes = 0;
    return lines;
  }

  /** Checks a line against every open multipart, innermost first (as mailparser's splitter). */
  private boundary(line: Buffer, terminated: boolean): boolean {
    if (line.length < 3 || line[0] !== DASH || line[1] !== DASH) return false;
    for (let k = this.frames.length - 1; k >= 0; k--) {
      const kind = matchDelimiter(line, this.frames[k].boundary, terminated);
      if (kind === 0) continue;
      if (this.mode === Mode.Header) this.endHeader();
      // A line break before a delimiter is the delimiter's, so the pending one is dropped.
      this.finishLeaf(false);
      // Multiparts opened inside this one and never closed end here without their close line.
      if (this.frames.length - 1 > k) this.anomalies.add(MIME_ANOMALIES.missingCloseBoundary);
      this.frames.length = k + 1;
      this.options.forward(line);
      const frame = this.frames[k];
      if (kind === 1) {
        frame.children++;
        this.headerPath = frame.path ? `${frame.path}.${frame.children}` : String(frame.children);
        this.headerParent = frame;
        this.mode = Mode.Header;
      } else {
        this.frames.length = k;
        this.mode = Mode.Container;
      }
      return true;
    }
    return false;
  }

  private endHeader(): void {
    const lines = this.dropHeader();
    const text = Buffer.concat(lines).toString('utf8');
    const fields = readFields(text);
    const parent = this.headerParent;
    const type = parseStructured(fields.get('content-type') ?? '');
    const contentType = type.value.includes('/')
      ? type.value
      : parent?.digest
        ? 'message/rfc822'
        : 'text/plain';
    const encoding = (fields.get('content-transfer-encoding') ?? '').trim().toLowerCase() || null;
    const dispositionHeader = fields.get('content-disposition');
    const disposition = dispositionHeader === undefined ? null : parseStructured(dispositionHeader);
    const path = this.headerPath;

    if (contentType.startsWith('multipart/')) {
      const boundaryText = (type.params.get('boundary') ?? '').trimEnd();
      if (!boundaryText) {
        this.anomalies.add(MIME_ANOMALIES.multipartWithoutBoundary);
      } else if (this.frames.length >= this.options.maxDepth) {
        this.anomalies.add(MIME_ANOMALIES.depthLimit);
      } else {
        const boundary = Buffer.from(boundaryText, 'utf8');
        if (this.frames.some((f) => f.boundary.equals(boundary))) {
          this.anomalies.add(MIME_ANOMALIES.innerBoundaryEqualsOuter);
        }
        this.frames.push({ boundary, path, children: 0, digest: contentType === 'multipart/digest' });
        this.maxBoundary = Math.max(this.maxBoundary, boundary.length);
        this.mode = Mode.Container;
        this.options.onHeaderBlock?.({
          path,
          lines,
          kind: 'multipart',
          boundary,
          encoding: null,
          forwarded: false,
        });
        return;
      }
    }

    if (this.leavesStarted >= this.options.maxParts) {
      this.options.onHeaderBlock?.({ path, lines, kind: 'none', boundary: null, encoding, forwarded: false });
      this.stop(MIME_ANOMALIES.partsLimit);
      return;
    }
    this.leavesStarted++;
    const dispositionType = disposition?.value || null;
    const info: PartInfo = {
      path: path || '1',
      contentType,
      charset: type.params.get('charset')?.toLowerCase() ?? null,
      encoding,
      disposition: dispositionType,
      filename: disposition?.params.get('filename') ?? type.params.get('name') ?? null,
    };
    const forwarded = isInlineText(info);
    this.options.onHeaderBlock?.({ path, lines, kind: 'leaf', boundary: null, encoding, forwarded });
    this.leaf = new Leaf(
      info,
      forwarded,
      this.options.onPart?.(info) ?? null,
      forwarded ? (this.options.onTextPart?.(info) ?? null) : null,
    );
    this.mode = Mode.Leaf;
  }

  private finishLeaf(keepPendingEol: boolean): void {
    if (!this.leaf) return;
    this.parts.push(this.leaf.finish(keepPendingEol));
    this.leaf = null;
  }
}

/** mailparser's rule for a part it keeps as message text; every other leaf is an attachment to it. */
export function isInlineText(part: PartInfo): boolean {
  return TEXT_TYPES.has(part.contentType) && (part.disposition === null || part.disposition === 'inline');
}

/**
 * The index of the first "\n--" in bytes[from..], or -1: found from its "-" with memchr (indexOf
 * of one byte), which is several times as fast as searching for the three bytes, and base64 has
 * no "-" at all.
 */
function delimiterStart(bytes: Buffer, from: number): number {
  for (let i = bytes.indexOf(DASH, from + 1); i >= 0; i = bytes.indexOf(DASH, i + 1)) {
    if (bytes[i - 1] === LF && bytes[i + 1] === DASH) return i - 1;
  }
  return -1;
}

/** 1 for `--boundary`, 2 for `--boundary--`, 0 otherwise; blanks and CRs may precede the LF. */
function matchDelimiter(line: Buffer, boundary: Buffer, terminated: boolean): 0 | 1 | 2 {
  const n = boundary.length;
  if (line.length < n + 2 || line.length > n + DELIMITER_OVERHEAD) return 0;
  if (line.compare(boundary, 0, n, 2, 2 + n) !== 0) return 0;
  let i = n + 2;
  let kind: 1 | 2 = 1;
  if (line[i] === DASH) {
    if (line[i + 1] !== DASH) return 0;
    kind = 2;
    i += 2;
  }
  while (i < line.length && (line[i] === 0x20 || line[i] === 0x09)) i++;
  if (i === line.length) return terminated ? 0 : kind === 2 ? 2 : 0;
  while (i < line.length && line[i] === CR) i++;
  if (i < line.length && line[i] === LF) i++;
  return i === line.length ? kind : 0;
}

/** Unfolded header fields by lower-cased name; the first occurrence of a name wins. */
function readFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const field of text.split(/\r?\n(?![ \t])/)) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const name = field.slice(0, colon).trim().toLowerCase();
    if (!fields.has(name))
      fields.set(
        name,
        field
          .slice(colon + 1)
          .replace(/\r?\n[ \t]/g, ' ')
          .trim(),
      );
  }
  return fields;
}
