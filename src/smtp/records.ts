/**
 * The records the SMTP layer builds: the JSON contract of DESIGN.md ("Output record"). Field
 * names are public API. `M` is what a message sink makes of a transaction's message (the mail
 * layer's parsed message); the SMTP layer itself never looks inside a message.
 */
import type { Endpoint } from '../tcp/stream.js';

export interface Reply {
  code: number;
  /** Enhanced status code ("2.1.5") or null. */
  enhanced: string | null;
  /** Text after the codes; lines of a multi-line reply joined with "\n". */
  text: string;
  /** Packet that carried the reply's last line. */
  packet: number;
}

export interface Command {
  ts: string;
  packet: number;
  /** Upper-cased verb. */
  verb: string;
  /** Argument as sent (after the verb and one space). */
  arg: string;
  /** The first reply to it, or null when none was seen. */
  reply: Reply | null;
}

export type Params = Record<string, string | true>;

export interface MailFrom {
  address: string;
  params: Params;
  /** The reply to MAIL (an addition to DESIGN.md's schema: a refused sender is the usual rejection). */
  reply: Reply | null;
}

export interface Recipient {
  address: string;
  params: Params;
  reply: Reply | null;
  accepted: boolean;
}

export interface Gap {
  offset: number;
  length: number;
}

export interface MessageData {
  method: 'DATA' | 'BDAT';
  size: number;
  sha256: string;
  reply: Reply | null;
  queueId: string | null;
  /** Byte count of each BDAT chunk. */
  chunks?: number[];
  gaps: Gap[];
  /** Present (true) when the capture began inside the message: bytes of unknown length are missing before offset 0. */
  startMissing?: boolean;
}

export type TransactionStatus = 'delivered' | 'rejected' | 'aborted' | 'incomplete';

export interface Transaction<M = never> {
  index: number;
  start: string;
  end: string;
  mailFrom: MailFrom | null;
  rcptTo: Recipient[];
  data: MessageData | null;
  status: TransactionStatus;
  message: M | null;
}

export interface AuthAttempt {
  mechanism: string;
  authzid?: string;
  username?: string;
  password?: string;
  challenge?: string;
  response?: string;
  reply: Reply | null;
  success: boolean;
}

export interface TlsInfo {
  /** The server listed STARTTLS in its EHLO reply. */
  offered: boolean;
  started: boolean;
  /** TLS from the first byte (port 465). */
  implicit: boolean;
  /** Timestamp at which TLS began, or null. */
  at: string | null;
  version: string | null;
  sni: string | null;
  cipher: string | null;
  certificate: { subject: string; issuer: string; notBefore: string; notAfter: string } | null;
}

export interface Anomaly {
  code: string;
  packet: number;
  detail: string;
}

export type SessionState = 'complete' | 'truncated' | 'midstream' | 'reset';

export interface Helo {
  verb: string;
  name: string;
  reply: Reply | null;
}

export interface SessionRecord<M = never> {
  id: string;
  communityId: string;
  client: Endpoint;
  server: Endpoint;
  start: string;
  end: string;
  durationMs: number;
  state: SessionState;
  missingSide: null | 'client' | 'server';
  greeting: Reply | null;
  helo: Helo | null;
  extensions: string[];
  tls: TlsInfo;
  auth: AuthAttempt[];
  transactions: Transaction<M>[];
  commands: Command[];
  anomalies: Anomaly[];
  bytes: { client: number; server: number };
  duplicates: { client: number; server: number };
  gaps: { client: number; server: number };
}
