/**
 * Reads what mailparser would give for a message (top-level headers, attachment filenames, the
 * text for indicators) without running it, for the common shape: every part our scanner and
 * mailsplit agree on, inline text plain in UTF-8 or ASCII without a transfer encoding, no HTML,
 * no anomaly. mailparser costs an event-loop turn per chunk and streams per part; here the same
 * functions it calls on each header block (mailsplit's MimeNode, its own processHeaders) run once,
 * synchronously. Anything else returns null and the message goes through mailparser, so the
 * record is the same either way.
 */
import { MimeNode } from '@zone-eu/mailsplit';
import { type HeaderLines, type Headers, MailParser } from 'mailparser';
import type { HeaderBlock } from './mime-scanner.js';

export interface FastRead {
  headers: Headers;
  headerLines: HeaderLines;
  /** Filename by part path, for the parts mailparser treats as attachments. */
  filenames: Map<string, string | null>;
  /** The text mailparser would put together from the inline text parts, or undefined. */
  text: string | undefined;
}

/** mailparser's header decoding, which it runs on each header block it meets (not in its types). */
interface HeaderDecoder {
  processHeaders(lines: HeaderLines): Headers;
}

let decoder: HeaderDecoder | null = null;

/** One parser serves every message: processHeaders keeps no state between calls. */
export function headerDecoder(): HeaderDecoder {
  decoder ??= new MailParser() as unknown as HeaderDecoder;
  return decoder;
}

/** mailparser's text types (message/delivery-status among them, as it is configured here). */
const TEXT_TYPES = ['text/plain', 'text/html', 'message/delivery-status'];
/** Charsets mailparser reads as UTF-8 without a decoder (after removing all but [a-z0-9]). */
const PLAIN_CHARSETS = new Set(['ascii', 'usascii', 'utf8']);
/** Part encodings both our scanner and mailsplit pass through unchanged. */
const DECODING = new Set(['base64', 'quoted-printable']);
/** mailsplit's header size limit and the least a header line counts for against it. */
const MAX_HEAD_SIZE = 1024 * 1024;
const HEADER_LINE_MIN_COST = 64;

export interface FastReadInput {
  blocks: HeaderBlock[];
  /** Decoded bytes of each inline text part, by path. */
  texts: Map<string, Buffer[]>;
  /** Leaf paths our scanner forwarded as text, in order; everything else it saw as attachments. */
  forwarded: Set<string>;
  /** mailparser's child node limit. */
  maxChildNodes: number;
}

export function readWithoutParser(input: FastReadInput): FastRead | null {
  const { blocks } = input;
  if (blocks.length === 0 || blocks.length > input.maxChildNodes) return null;
  const filenames = new Map<string, string | null>();
  const textParts: string[] = [];
  let root: MimeNode | null = null;
  for (const block of blocks) {
    const node = new MimeNode(false);
    let cost = 0;
    for (const line of block.lines) {
      node.addHeaderChunk(line);
      cost += Math.max(line.length, HEADER_LINE_MIN_COST);
    }
    if (cost > MAX_HEAD_SIZE) return null;
    node.parseHeaders();
    const isRoot = root === null;
    if (isRoot) root = node;
    if (block.kind === 'multipart') {
      if (
        !node.multipart ||
        !node._boundary ||
        block.boundary === null ||
        !node._boundary.equals(block.boundary)
      )
        return null;
      continue;
    }
    if (block.kind !== 'leaf' || node.multipart) return null;
    const path = block.path || '1';
    // mailparser's createNode: its content type, disposition and attachment rule.
    const contentType = node.contentType || (isRoot ? 'text/plain' : '');
    const textType = TEXT_TYPES.includes(contentType);
    let disposition = node.disposition;
    if (disposition && disposition !== 'attachment' && disposition !== 'inline') disposition = 'attachment';
    const inline = disposition ? disposition === 'inline' : textType;
    const attachment = !textType || !inline;
    if (attachment === input.forwarded.has(path)) return null;
    if (attachment) {
      filenames.set(path, node.filename || null);
      continue;
    }
    const charset = (node.charset || 'utf-8').toLowerCase().replace(/[^a-z0-9]+/g, '');
    if (contentType !== 'text/plain' || node.flowed || !PLAIN_CHARSETS.has(charset)) return null;
    if (DECODING.has(node.encoding || '') || DECODING.has(block.encoding ?? '')) return null;
    const chunks = input.texts.get(path) ?? [];
    // mailparser also turns CRLF into LF here; the text only feeds the indicators, whose
    // matches stop at a CR as at a LF, so that pass over every byte is skipped.
    const content = Buffer.concat(chunks).toString();
    if (content) textParts.push(content);
  }
  if (root === null || !root.headers) return null;
  const headerLines = root.headers.getList();
  return {
    headers: headerDecoder().processHeaders(headerLines),
    headerLines,
    filenames,
    text: textParts.length > 0 ? textParts.join('\n') : undefined,
  };
}
