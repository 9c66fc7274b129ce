/**
 * Reads what mailparser would give for a message (top-level headers, attachment filenames, how to
 * read each inline text part) without running it, block by block as the scanner meets them: every
 * header block goes through the functions mailparser itself runs on it (mailsplit's MimeNode, its
 * own processHeaders), synchronously and once. mailparser costs an event-loop turn per chunk, a
 * stream per part and a string of every text body; its text only feeds the indicators, which the
 * sink finds in the text parts as they stream (indicators.ts), decoded as mailsplit decodes them.
 *
 * A block that mailparser would read otherwise than the scanner (its structure, or a text part
 * whose text only its own decoders give: format=flowed, a charset that is not ASCII-compatible)
 * marks the message as differing, and the sink then has mailparser read it, so the record is the
 * same either way.
 */
import type { HeaderLines, Headers } from 'mailparser';
import { DECODED_FIELDS } from './header-view.js';
import { mailparser, mailsplit } from './mail-libraries.js';
import type { HeaderBlock } from './mime-scanner.js';

export interface FastRead {
  headers: Headers;
  headerLines: HeaderLines;
}

/** How to read one inline text part as mailparser does. */
export interface TextReading {
  /** Whether mailparser puts it in the HTML (text/html) or the text (the other text types). */
  html: boolean;
  /** The transfer encoding as mailsplit reads it (it picks the decoder mailparser gets). */
  encoding: string;
}

/** mailparser's header decoding, which it runs on each header block it meets (not in its types). */
interface HeaderDecoder {
  processHeaders(lines: HeaderLines): Headers;
}

let decoder: HeaderDecoder | null = null;

function newHeaderDecoder(): HeaderDecoder {
  const parser = new (mailparser().MailParser)();
  // processHeaders renders each address list as HTML and as text besides parsing it; records
  // show only the parsed list (formatAddressList), so the renderings are left empty.
  parser.getAddressesHTML = () => '';
  parser.getAddressesText = () => '';
  return parser as unknown as HeaderDecoder;
}

/**
 * mailparser's decoding of a top-level header block, for the fields a record shows: it decodes
 * each line on its own, by its name, so leaving out the other lines (Received, DKIM-Signature...)
 * changes none of these and saves most of the work. One parser serves every message:
 * processHeaders keeps no state between calls.
 */
export function decodeHeaders(lines: HeaderLines): Headers {
  decoder ??= newHeaderDecoder();
  return decoder.processHeaders(lines.filter((line) => DECODED_FIELDS.has(line.key)));
}

/** mailparser's text types (message/delivery-status among them, as it is configured here). */
const TEXT_TYPES = ['text/plain', 'text/html', 'message/delivery-status'];
/**
 * Charsets (after removing all but [a-z0-9]) whose bytes below 0x80 are ASCII and whose other
 * bytes decode to non-ASCII characters (iconv-lite's single-byte tables, UTF-8): a match is ASCII,
 * so the indicators are the same whichever of these mailparser decodes with.
 */
const ASCII_COMPATIBLE = /^(?:(?:us)?ascii|utf8|iso8859\d{1,2}|windows125\d|cp125\d|latin\d|koi8[ru])$/;
/** mailsplit's header size limit and the least a header line counts for against it. */
const MAX_HEAD_SIZE = 1024 * 1024;
const HEADER_LINE_MIN_COST = 64;

export class FastReader {
  /** Filename by part path, for the parts mailparser treats as attachments. */
  readonly filenames = new Map<string, string | null>();
  /** Set once a block reads otherwise in mailparser, or needs what only mailparser does. */
  differs = false;
  /** The top-level header lines (not the node: its buffers are slices that pin pool memory). */
  private rootLines: HeaderLines | null = null;
  private rootSeen = false;
  private blocks = 0;

  /** mailparser's child node limit. */
  constructor(private readonly maxChildNodes: number) {}

  /**
   * Reads the next header block; for a leaf the scanner forwards as text, returns how to read its
   * text (our best reading when the message differs).
   */
  block(block: HeaderBlock): TextReading | null {
    if (++this.blocks > this.maxChildNodes) this.differs = true;
    const node = new (mailsplit().MimeNode)(false);
    let cost = 0;
    for (const line of block.lines) {
      node.addHeaderChunk(line);
      cost += Math.max(line.length, HEADER_LINE_MIN_COST);
    }
    if (cost > MAX_HEAD_SIZE) this.differs = true;
    node.parseHeaders();
    const isRoot = !this.rootSeen;
    if (isRoot) {
      this.rootSeen = true;
      this.rootLines = node.headers ? node.headers.getList() : null;
    }
    if (block.kind === 'multipart') {
      if (
        !node.multipart ||
        !node._boundary ||
        block.boundary === null ||
        !node._boundary.equals(block.boundary)
      )
        this.differs = true;
      return null;
    }
    if (block.kind !== 'leaf' || node.multipart) this.differs = true;
    const path = block.path || '1';
    // mailparser's createNode: its content type, disposition and attachment rule.
    const contentType = node.contentType || (isRoot ? 'text/plain' : '');
    const textType = TEXT_TYPES.includes(contentType);
    let disposition = node.disposition;
    if (disposition && disposition !== 'attachment' && disposition !== 'inline') disposition = 'attachment';
    const inline = disposition ? disposition === 'inline' : textType;
    const attachment = !textType || !inline;
    if (attachment === block.forwarded) this.differs = true;
    if (attachment) this.filenames.set(path, node.filename || null);
    if (!block.forwarded) return null;
    // mailparser's text decoding: the flowed format and charsets other than these need its own.
    const charset = (node.charset || 'utf-8').toLowerCase().replace(/[^a-z0-9]+/g, '');
    if (node.flowed || !ASCII_COMPATIBLE.test(charset)) this.differs = true;
    return { html: contentType === 'text/html', encoding: node.encoding || '' };
  }

  /** The top-level headers, once every block is read; null when there is no header block. */
  finish(): FastRead | null {
    const headerLines = this.rootLines;
    if (headerLines === null) return null;
    return { headers: decodeHeaders(headerLines), headerLines };
  }
}
