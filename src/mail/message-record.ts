/**
 * What the mail layer makes of one message: the `message` object of the JSON contract
 * (DESIGN.md). Header values are decoded text; `raw` forms sit beside them where decoding can lose.
 */

export interface DateHeader {
  raw: string;
  /** ISO 8601 UTC, or null when the Date header does not parse. */
  iso: string | null;
}

export interface ReceivedHop {
  from: string | null;
  by: string | null;
  with: string | null;
  id: string | null;
  time: string | null;
}

export interface MimePart {
  /** Position in the MIME tree, e.g. "1.2". */
  path: string;
  contentType: string;
  charset: string | null;
  encoding: string | null;
  disposition: string | null;
  filename: string | null;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

export interface Attachment {
  /** The part's path in `parts` (an addition to DESIGN.md: links the two lists). */
  path: string;
  filename: string | null;
  contentType: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

export interface MessageRecord {
  date: DateHeader | null;
  from: string | null;
  sender: string | null;
  replyTo: string | null;
  to: string[];
  cc: string[];
  subject: string | null;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  userAgent: string | null;
  xOriginatingIp: string | null;
  returnPath: string | null;
  received: ReceivedHop[];
  parts: MimePart[];
  attachments: Attachment[];
  urls: string[];
  emails: string[];
  domains: string[];
  anomalies: string[];
  /** Additions to DESIGN.md's schema. Authentication-Results values, top first. */
  authenticationResults?: string[];
  /** Header values as sent (unfolded), beside the decoded ones; null when the header is absent. */
  raw?: RawHeaders;
}

export interface RawHeaders {
  from: string | null;
  sender: string | null;
  replyTo: string | null;
  to: string | null;
  cc: string | null;
  subject: string | null;
}
