/**
 * mailparser and mailsplit, loaded when a message first needs them. Loading them costs about
 * 30 MB of resident memory (mailparser brings nodemailer, html-to-text, iconv-lite and
 * encoding-japanese along), a fifth of the peak budget: `sessions`, `json --no-mime` and captures
 * without mail never pay it. Both are read through require, which loads synchronously where they
 * are first needed, in the middle of a packet.
 */
import { createRequire } from 'node:module';

type Mailparser = typeof import('mailparser');
type Mailsplit = typeof import('@zone-eu/mailsplit');

const load = createRequire(import.meta.url);
let mailparserModule: Mailparser | null = null;
let mailsplitModule: Mailsplit | null = null;

export function mailparser(): Mailparser {
  mailparserModule ??= load('mailparser') as Mailparser;
  return mailparserModule;
}

export function mailsplit(): Mailsplit {
  mailsplitModule ??= load('@zone-eu/mailsplit') as Mailsplit;
  return mailsplitModule;
}
