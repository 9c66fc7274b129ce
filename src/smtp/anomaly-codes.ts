/**
 * Every anomaly code the SMTP layer (and the TCP layer below it) reports, with what it means.
 * One registry, so the README and `smtpcap stats` list the same names the JSON carries.
 */
export const ANOMALY_CODES = {
  'bare-lf': 'a line ended with LF alone instead of CRLF',
  'bare-cr': 'a CR not followed by LF inside a command line or a message',
  'line-too-long': 'a command or reply line longer than RFC 5321 allows (kept, not dropped)',
  'line-cap': 'a line longer than the line cap: the excess was counted and skipped',
  'command-before-greeting': 'the client spoke before the server greeted it',
  'reply-without-command': 'a server reply that answers no pending command',
  'reply-line-without-code': 'a server line that does not start with a three-digit code',
  'unknown-command': 'a command verb that no SMTP extension we know defines',
  'nested-mail': 'MAIL refused because a transaction was already open (the open one goes on)',
  'data-after-quit': 'the client sent bytes after QUIT',
  'invalid-bdat': 'a BDAT command whose size is missing, negative, too large or followed by junk',
  'invalid-path': 'a MAIL FROM or RCPT TO whose path does not parse',
  'trailing-junk-after-path': 'bytes after the closing > of a path that are not parameters',
  'starttls-injection':
    'plaintext sent after STARTTLS before the TLS handshake began (by the client before the 220, or by the server after it)',
  'plaintext-on-tls-port':
    'the server answered in plaintext on an implicit-TLS port (465): its replies were read as SMTP',
  'pipelining-after-last':
    'a command (or message bytes) sent before the reply to a command that must end a pipelined group (RFC 2920: EHLO, DATA, VRFY, EXPN, TURN, NOOP; STARTTLS, AUTH)',
  'too-many-recipients': 'more RCPT commands in one transaction than the listing cap: the rest were counted',
  'command-cap': 'more commands in one session than the listing cap: the rest were read but not listed',
  'midstream-data':
    'the capture began inside a message: the transaction has no envelope and its start is missing',
  'gap-in-data': 'bytes of a message are missing from the capture',
  'gap-in-commands': 'bytes of the command or reply stream are missing from the capture',
  'missing-reply':
    'the capture ended before the server answered a command that decides what the client bytes after it are',
  'anomaly-cap': 'more anomalies than the per-session cap: the rest were counted, not listed',
  'reply-cap': 'a multi-line reply of more than 1000 lines: the rest were read and counted, not kept',
  'transaction-cap':
    'more than 10,000 transactions in one session: the rest were followed and counted, not listed (messages not read)',
  'auth-cap': 'more than 1000 AUTH attempts in one session: the rest were followed and counted, not listed',
  'pending-cap': 'client bytes waiting for a server reply exceeded the cap; assumed the reply came',
  'overlap-conflict': 'a retransmitted TCP range carried different bytes; the first copy was kept',
  'reassembly-cap': 'out-of-order bytes held for a direction exceeded the cap; a gap was declared',
  'data-after-fin': 'bytes beyond the sequence number of a FIN: dropped',
  'syn-on-open-connection': 'a SYN with a new sequence number on an open connection: the old one was closed',
  'connection-cap':
    'more connection slots in use than the cap (a session reading a message takes several): the least recently active connection was closed',
  'smuggling-sequence':
    'a non-standard end-of-data sequence (<LF>.<CR><LF>, <CR><LF>.<LF>, <LF>.<LF>) inside DATA',
} as const;

export type AnomalyCode = keyof typeof ANOMALY_CODES;
