/**
 * The summary table: one row per transaction, one row for a session that has none (with the
 * reason in the status), then a one-line footer with the counts.
 */
import Table from 'cli-table3';
import type { MessageRecord } from '../mail/message-record.js';
import type {
  AuthAttempt,
  Recipient,
  SessionRecord,
  Transaction,
  TransactionStatus,
} from '../smtp/records.js';
import { createPalette, type Palette } from './colour.js';
import { escapeForTerminal } from './escape.js';
import { compactTimestamp, formatFlow, formatSender, plural, truncateEscaped } from './format.js';

export interface SessionsTableOptions {
  colour: boolean;
  /** Show AUTH passwords in the auth column (hidden by default: tables get pasted into tickets). */
  showSecrets?: boolean;
}

/** Subjects are cut to keep rows on one screen; the JSON output has them whole. */
const SUBJECT_MAX = 40;
/** Addresses longer than this are hostile or broken; the JSON output has them whole. */
const ADDRESS_MAX = 64;

type Row = Table.Cell[];

function statusPaint(palette: Palette, status: TransactionStatus): (text: string) => string {
  switch (status) {
    case 'delivered':
      return palette.ok;
    case 'rejected':
      return palette.bad;
    case 'aborted':
    case 'incomplete':
      return palette.warn;
  }
}

/** Why a session carried no transaction, in a word or two. */
export function sessionOutcome(session: SessionRecord<MessageRecord>): string {
  if (session.greeting !== null && session.greeting.code >= 400) return `refused ${session.greeting.code}`;
  if (session.tls.started || session.tls.implicit) return 'tls';
  if (session.helo?.reply && session.helo.reply.code >= 400) return `helo refused ${session.helo.reply.code}`;
  return 'no mail';
}

function formatRecipient(rcpt: Recipient, palette: Palette): string {
  const address = truncateEscaped(rcpt.address, ADDRESS_MAX);
  if (rcpt.accepted) return address;
  if (rcpt.reply === null) return palette.warn(`? ${address}`);
  return palette.bad(`✗ ${address} (${rcpt.reply.code})`);
}

function formatAuth(attempts: AuthAttempt[], showSecrets: boolean): string {
  return attempts
    .map((a) => {
      const mark = a.success ? '✓' : '✗';
      const user = a.username === undefined ? '' : ` ${truncateEscaped(a.username, ADDRESS_MAX)}`;
      const secret =
        showSecrets && a.password !== undefined ? `:${truncateEscaped(a.password, ADDRESS_MAX)}` : '';
      return `${mark} ${escapeForTerminal(a.mechanism)}${user}${secret}`;
    })
    .join('\n');
}

function transactionRow(
  session: SessionRecord<MessageRecord>,
  tx: Transaction<MessageRecord>,
  palette: Palette,
  auth: string | null,
): Row {
  const row: Row = [
    escapeForTerminal(session.id),
    compactTimestamp(tx.start),
    formatFlow(session.client, session.server),
  ];
  if (auth !== null) row.push(auth);
  row.push(
    tx.mailFrom === null ? '' : truncateEscaped(formatSender(tx.mailFrom.address), ADDRESS_MAX),
    tx.rcptTo.map((r) => formatRecipient(r, palette)).join('\n'),
    { content: tx.data === null ? '' : String(tx.data.size), hAlign: 'right' },
    statusPaint(palette, tx.status)(tx.status),
    tx.message?.subject == null ? '' : truncateEscaped(tx.message.subject, SUBJECT_MAX),
  );
  return row;
}

function sessionRow(session: SessionRecord<MessageRecord>, palette: Palette, auth: string | null): Row {
  const row: Row = [
    escapeForTerminal(session.id),
    compactTimestamp(session.start),
    formatFlow(session.client, session.server),
  ];
  if (auth !== null) row.push(auth);
  row.push('', '', '', palette.dim(sessionOutcome(session)), '');
  return row;
}

export function renderSessionsTable(
  sessions: SessionRecord<MessageRecord>[],
  opts: SessionsTableOptions,
): string {
  const palette = createPalette(opts.colour);
  // The auth column appears only when some session authenticated: most captures have none.
  const withAuth = sessions.some((s) => s.auth.length > 0);
  const head = ['session', 'start', 'client → server'];
  if (withAuth) head.push('auth');
  head.push('mail from', 'recipients', 'size', 'status', 'subject');
  // cli-table3's default style always emits colour codes: switch it off, colour cells ourselves.
  const table = new Table({ head: head.map((h) => palette.bold(h)), style: { head: [], border: [] } });

  const counts: Record<TransactionStatus, number> = { delivered: 0, rejected: 0, aborted: 0, incomplete: 0 };
  let transactions = 0;
  for (const session of sessions) {
    const auth = withAuth ? formatAuth(session.auth, opts.showSecrets === true) : null;
    if (session.transactions.length === 0) {
      table.push(sessionRow(session, palette, auth));
      continue;
    }
    for (const tx of session.transactions) {
      table.push(transactionRow(session, tx, palette, auth));
      counts[tx.status]++;
      transactions++;
    }
  }
  const footer =
    `${plural(sessions.length, 'session')}, ${plural(transactions, 'transaction')} ` +
    `(${counts.delivered} delivered, ${counts.rejected} rejected, ${counts.aborted} aborted, ` +
    `${counts.incomplete} incomplete)`;
  return `${table.toString()}\n${footer}\n`;
}
