/**
 * The dialogue of a session as the SMTP layer saw it, one event per line or block, for the
 * transcript (Wireshark's Follow TCP Stream, with SMTP knowledge of what each line is).
 */
import type { Direction } from '../tcp/stream.js';

export type DialogueKind =
  /** A client command line or a server reply line. */
  | 'line'
  /** A line of message content (DATA, or a BDAT chunk's bytes). */
  | 'body'
  /** A SASL exchange line after AUTH. */
  | 'sasl'
  /** Encrypted bytes after STARTTLS or on an implicit-TLS port: only their count is kept. */
  | 'tls'
  /** Bytes the capture does not hold. */
  | 'gap';

export interface DialogueEvent {
  dir: Direction;
  kind: DialogueKind;
  ts: string;
  packet: number;
  /**
   * The raw bytes of the line, including its line ending (empty for tls and gap): a view valid
   * only during the listener's call (most lines are not kept: a listener copies what it keeps).
   */
  bytes: Buffer;
  /** Byte count for tls and gap events (bytes.length for the others). */
  length: number;
}

export type DialogueListener = (sessionId: string, event: DialogueEvent) => void;
