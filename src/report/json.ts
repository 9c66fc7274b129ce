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
  inputs: InputSummary[];
  sessions: SessionRecord<MessageRecord>[];
}

/** The whole document, pretty-printed with 2 spaces, ending with a newline. */
export function jsonDocument(
  inputs: InputSummary[],
  sessions: SessionRecord<MessageRecord>[],
  version: string,
): string {
  const doc: JsonDocument = { tool: 'smtpcap', version, inputs, sessions };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * One session as one NDJSON line, ending with its newline (so callers write it as is, like every
 * other reporter's output). The JSON itself never holds a raw newline: strings escape it.
 */
export function ndjsonLine(session: SessionRecord<MessageRecord>): string {
  return `${JSON.stringify(session)}\n`;
}
