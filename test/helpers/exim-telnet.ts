import type { DialogueStep } from './frames.js';

/**
 * The seed of this project: an analyst's telnet session to an Exim server, typed line by line.
 * The demo capture fixtures/exim-telnet.pcap is built from it (scripts/make-demo-capture.ts).
 */
export const EXIM_MESSAGE =
  'From: user@client.thm\r\n' +
  'To: strategos@server.thm\r\n' +
  'Subject: Meeting notes\r\n' +
  '\r\n' +
  'Hello Strategos,\r\n' +
  '..the notes are attached in the usual place.\r\n' +
  'Regards\r\n';

export const EXIM_TELNET_STEPS: DialogueStep[] = [
  { from: 'server', data: '220 server.thm ESMTP Exim 4.95 Ubuntu Tue, 10 Jan 2023 09:14:03 +0000\r\n' },
  { from: 'client', data: 'HELO client.thm\r\n' },
  { from: 'server', data: '250 server.thm Hello client.thm [10.10.45.12]\r\n' },
  { from: 'client', data: 'MAIL FROM: <user@client.thm>\r\n' },
  { from: 'server', data: '250 OK\r\n' },
  { from: 'client', data: 'RCPT TO: <strategos@server.thm>\r\n' },
  { from: 'server', data: '250 Accepted\r\n' },
  { from: 'client', data: 'DATA\r\n' },
  { from: 'server', data: '354 Enter message, ending with "." on a line by itself\r\n' },
  // Typed a line at a time; the stuffed dot shows dot-unstuffing at work.
  ...EXIM_MESSAGE.replace('..the', '...the')
    .split(/(?<=\r\n)/)
    .map((line): DialogueStep => ({ from: 'client', data: line })),
  { from: 'client', data: '.\r\n' },
  { from: 'server', data: '250 OK id=1pFDyV-0004Hk-2C\r\n' },
  { from: 'client', data: 'QUIT\r\n' },
  { from: 'server', data: '221 server.thm closing connection\r\n' },
];

export const EXIM_CLIENT = { ip: '10.10.45.12', port: 41736 };
export const EXIM_SERVER = { ip: '10.10.171.90', port: 25 };
