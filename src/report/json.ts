/**
 * JSON output. The records are already shaped as the contract (DESIGN.md, "Output record"), so
 * this only serializes them. JSON.stringify escapes lone surrogates (well-formed JSON.stringify,
 * ES2019), so the output is valid UTF-8 JSON whatever the traffic held.
 */
import type { InputSummary } from '../capture/raw-packet.js';
import type { MessageRecord } from '../mail/message-record.js';
import type { SessionRecord } from '../smtp/records.js';

export interface JsonDocument {
  tool: 'smtpcap';
  version: string;
  sessions: SessionRecord<MessageRecord>[];
  inputs: InputSummary[];
}

/** The whole document, pretty-printed with 2 spaces, ending with a newline. */
export function jsonDocument(
  inputs: InputSummary[],
  sessions: SessionRecord<MessageRecord>[],
  version: string,
): string {
  const writer = new JsonDocumentWriter(version);
  let text = writer.head();
  for (const session of sessions) text += writer.session(session);
  return text + writer.tail(inputs);
}

/** What JSON.stringify({ s: [x] }, null, 2) puts around x. */
const WRAPPED_HEAD = '{\n  "s": [\n';
const WRAPPED_TAIL = '\n  ]\n}';

/**
 * Writes the document a session at a time, so a capture of any size never has every record in
 * memory: the text equals JSON.stringify({ tool, version, sessions, inputs }, null, 2). The
 * inputs come last because their packet counts and warnings are known only at the end.
 */
export class JsonDocumentWriter {
  private count = 0;

  constructor(private readonly version: string) {}

  head(): string {
    return `{\n  "tool": "smtpcap",\n  "version": ${JSON.stringify(this.version)},\n  "sessions": [`;
  }

  /** The next session of the document. */
  session(session: SessionRecord<MessageRecord>): string {
    return this.place(sessionText(session));
  }

  /** A session's sessionText, placed next in the document. */
  place(text: string): string {
    return (this.count++ === 0 ? '\n' : ',\n') + text;
  }

  tail(inputs: InputSummary[]): string {
    const close = this.count === 0 ? ']' : '\n  ]';
    return `${close},\n  "inputs": ${indent(JSON.stringify(inputs, null, 2), '  ').trimStart()}\n}\n`;
  }
}

/**
 * A session as the document holds it, stringified where the document puts it (4 spaces deep),
 * so no second pass indents it; made in any order, placed in order (JsonDocumentWriter.place).
 */
export function sessionText(session: SessionRecord<MessageRecord>): string {
  const wrapped = JSON.stringify({ s: [session] }, null, 2);
  return wrapped.slice(WRAPPED_HEAD.length, wrapped.length - WRAPPED_TAIL.length);
}

/** Every line of `text` with `prefix` before it (JSON.stringify output has no raw newlines in strings). */
function indent(text: string, prefix: string): string {
  return prefix + text.replaceAll('\n', `\n${prefix}`);
}

/**
 * One session as one NDJSON line, ending with its newline (so callers write it as is, like every
 * other reporter's output). The JSON itself never holds a raw newline: strings escape it.
 */
export function ndjsonLine(session: SessionRecord<MessageRecord>): string {
  return `${JSON.stringify(session)}\n`;
}
