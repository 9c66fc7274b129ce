import type { DialogueStep } from './frames.js';

export interface SmtpStepsOptions {
  /** The message as it goes on the wire, if it differs from `message` (dot-stuffed). */
  wire?: string;
  /** The server's reply to EHLO, every line with its CRLF. */
  ehloReply?: string;
}

/**
 * A plain SMTP session, one segment per step: greeting, EHLO, one DATA transaction carrying
 * `message` (which must end with CRLF), QUIT.
 */
export function smtpSteps(message: string, options: SmtpStepsOptions = {}): DialogueStep[] {
  return [
    { from: 'server', data: '220 mx.test ESMTP\r\n' },
    { from: 'client', data: 'EHLO c.test\r\n' },
    { from: 'server', data: options.ehloReply ?? '250-mx.test\r\n250 PIPELINING\r\n' },
    { from: 'client', data: 'MAIL FROM:<a@c.test>\r\n' },
    { from: 'server', data: '250 2.1.0 Ok\r\n' },
    { from: 'client', data: 'RCPT TO:<b@mx.test>\r\n' },
    { from: 'server', data: '250 2.1.5 Ok\r\n' },
    { from: 'client', data: 'DATA\r\n' },
    { from: 'server', data: '354 go ahead\r\n' },
    { from: 'client', data: `${options.wire ?? message}.\r\n` },
    { from: 'server', data: '250 2.0.0 Ok: queued as ABC123\r\n' },
    { from: 'client', data: 'QUIT\r\n' },
    { from: 'server', data: '221 2.0.0 Bye\r\n' },
  ];
}
