/**
 * The summary table: one row per transaction, one row for a session that has none (with the
 * reason in the status), then a one-line footer with the counts.
 */
import type { MessageRecord } from '../mail/message-record.js';
import type {
  AuthAttempt,
  Recipient,
  SessionRecord,
  Transaction,
  TransactionStatus,
} from '../smtp/records.js';
import { type BoxRow, renderBoxTable } from './box-table.js';
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

type Row = BoxRow;

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
    { text: tx.data === null ? '' : String(tx.data.size), align: 'right' },
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
  const table = new SessionsTable(opts);
  for (const session of sessions) table.add(session);
  return table.toString();
}

/**
 * Builds the table a session at a time, keeping only its rows (a few hundred bytes per
 * transaction), never the session records.
 */
export class SessionsTable {
  private readonly palette: Palette;
  private readonly rows: { row: Row; auth: string | null }[] = [];
  private readonly counts: Record<TransactionStatus, number> = {
    delivered: 0,
    rejected: 0,
    aborted: 0,
    incomplete: 0,
  };
  private sessions = 0;
  private transactions = 0;
  /** The auth column appears only when some session authenticated: most captures have none. */
  private withAuth = false;

  constructor(private readonly opts: SessionsTableOptions) {
    this.palette = createPalette(opts.colour);
  }

  add(session: SessionRecord<MessageRecord>): void {
    this.sessions++;
    const auth = session.auth.length > 0 ? formatAuth(session.auth, this.opts.showSecrets === true) : null;
    if (auth !== null) this.withAuth = true;
    if (session.transactions.length === 0) {
      this.rows.push({ row: sessionRow(session, this.palette, null), auth });
      return;
    }
    for (const tx of session.transactions) {
      this.rows.push({ row: transactionRow(session, tx, this.palette, null), auth });
      this.counts[tx.status]++;
      this.transactions++;
    }
  }

  toString(): string {
    const head = ['session', 'start', 'client → server'];
    if (this.withAuth) head.push('auth');
    head.push('mail from', 'recipients', 'size', 'status', 'subject');
    // The auth column goes after client → server (the third column).
    const rows = this.rows.map(({ row, auth }) =>
      this.withAuth ? [...row.slice(0, 3), auth ?? '', ...row.slice(3)] : row,
    );
    const counts = this.counts;
    const footer =
      `${plural(this.sessions, 'session')}, ${plural(this.transactions, 'transaction')} ` +
      `(${counts.delivered} delivered, ${counts.rejected} rejected, ${counts.aborted} aborted, ` +
      `${counts.incomplete} incomplete)`;
    return `${renderBoxTable(
      head.map((h) => this.palette.bold(h)),
      rows,
    )}${footer}\n`;
  }
}
