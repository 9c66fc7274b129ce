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
  /** The text's bytes in hex, present only when they are not valid UTF-8 (`text` is then lossy). */
  textHex?: string;
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
  /** The argument's bytes in hex, present only when they are not valid UTF-8 (`arg` is then lossy). */
  argHex?: string;
}

export type Params = Record<string, string | true>;

export interface MailFrom {
  address: string;
  /** The address bytes in hex, present only when they are not valid UTF-8 (`address` is then lossy). */
  addressHex?: string;
  params: Params;
  /** The reply to MAIL (an addition to DESIGN.md's schema: a refused sender is the usual rejection). */
  reply: Reply | null;
}

export interface Recipient {
  address: string;
  /** As MailFrom.addressHex. */
  addressHex?: string;
  params: Params;
  reply: Reply | null;
  accepted: boolean;
  /** LMTP only: this recipient's own reply after the message (RFC 2033 §4.2), null when not seen. */
  delivery?: Reply | null;
}

export interface Gap {
  offset: number;
  length: number;
}

export interface MessageData {
  method: 'DATA' | 'BDAT';
  size: number;
  /** SHA-256 of the bytes as sent (hex); null when the caller turned hashing off (hashMessages). */
  sha256: string | null;
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
  /** Present when RCPT commands past the listing cap were only counted: how many were left out. */
  rcptUnlisted?: number;
  data: MessageData | null;
  status: TransactionStatus;
  message: M | null;
}

export interface AuthAttempt {
  mechanism: string;
  /** Packet of the AUTH command. */
  packet?: number;
  authzid?: string;
  username?: string;
  password?: string;
  /** CRAM-MD5: the server's challenge (decoded); NTLM: the server challenge in hex. */
  challenge?: string;
  /** CRAM-MD5: the digest; other mechanisms: the response line as sent when it does not decode. */
  response?: string;
  /** NTLM: the domain and workstation of the type 3 message. */
  domain?: string;
  workstation?: string;
  /** XOAUTH2 / OAUTHBEARER: the bearer token (a secret, like a password). */
  token?: string;
  /** XOAUTH2 / OAUTHBEARER: what the token is without the token: scheme, length, a prefix. */
  tokenSummary?: string;
  /** The line a password cracker takes: hashcat 10200 / John for CRAM-MD5, hashcat 5500/5600 for NTLM. */
  crack?: string;
  /** The client cancelled the exchange with `*`. */
  cancelled?: boolean;
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
  /** Versions the ClientHello offered (supported_versions, else its legacy version), or null. */
  offeredVersions: string[] | null;
  /** The server offered STARTTLS, yet the client sent MAIL in plaintext. */
  plaintextMail: boolean;
}

/** The EHLO/LHLO reply's extensions, parsed (`extensions` keeps the lines as sent). */
export interface EhloCapabilities {
  /** SIZE: the advertised maximum (0 = no fixed limit), null when not advertised. */
  size: number | null;
  pipelining: boolean;
  chunking: boolean;
  starttls: boolean;
  /** AUTH mechanisms (from `AUTH a b` and the old `AUTH=a b` form), upper-cased, no duplicates. */
  auth: string[];
  '8bitmime': boolean;
  binarymime: boolean;
  smtputf8: boolean;
  dsn: boolean;
  enhancedstatuscodes: boolean;
  /** Every other extension line as sent. */
  other: string[];
}

/** An XCLIENT or XFORWARD command: the attributes it claims (xtext-decoded), and the reply. */
export interface ProxyClaim {
  verb: 'XCLIENT' | 'XFORWARD';
  packet: number;
  /** Upper-cased attribute name -> decoded value (NAME, ADDR, PORT, PROTO, HELO, LOGIN, ...). */
  attributes: Record<string, string>;
  reply: Reply | null;
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
  /** The accepted EHLO/LHLO reply's extensions, parsed; null when there was none. */
  ehlo: EhloCapabilities | null;
  /** XCLIENT / XFORWARD commands: the client identity a proxy claims. */
  xclient: ProxyClaim[];
  tls: TlsInfo;
  auth: AuthAttempt[];
  transactions: Transaction<M>[];
  commands: Command[];
  anomalies: Anomaly[];
  bytes: { client: number; server: number };
  duplicates: { client: number; server: number };
  gaps: { client: number; server: number };
}

/** The number in a session id `S<n>` (S1, S2, ... by first packet). */
export function sessionOrdinal(id: string): number {
  return Number(id.slice(1));
}
