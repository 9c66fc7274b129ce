/**
 * The summary table: one row per transaction, one row for a session that has none (with the
 * reason in the status), then a one-line footer with the counts.
 */
import type { MessageRecord } from '../mail/message-record.js';
import {
  type AuthAttempt,
  type Recipient,
  type SessionRecord,
  sessionOrdinal,
  type Transaction,
  type TransactionStatus,
} from '../smtp/records.js';
import { type Align, cellWidth, drawBoxTable } from './box-table.js';
import { createPalette, type Palette } from './colour.js';
import { escapeForTerminal } from './escape.js';
import { compactTimestamp, formatEndpoint, formatSender, plural, truncateEscaped } from './format.js';

export interface SessionsTableOptions {
  colour: boolean;
  /** Show AUTH passwords in the auth column (hidden by default: tables get pasted into tickets). */
  showSecrets?: boolean;
}

/** Subjects are cut to keep rows on one screen; the JSON output has them whole. */
const SUBJECT_MAX = 40;
/** Addresses longer than this are hostile or broken; the JSON output has them whole. */
const ADDRESS_MAX = 64;

/**
 * A row as stored: the cells, with client and server apart (the arrow between them is not
 * Latin-1: a row of ASCII text then stays a one-byte string), then the auth cell.
 */
type Row = string[];

// Stored fields.
const CLIENT = 2;
const SERVER = 3;
const SIZE = 6;
const AUTH = 9;
/** The columns as drawn, by the stored fields they show; FLOW joins client and server. */
const FLOW = -1;
const COLUMNS = [0, 1, FLOW, AUTH, 4, 5, SIZE, 7, 8];
/** Joins a stored row's cells: never in a cell, whose text is escaped (escapeForTerminal). */
const SEP = '\x00';
/** Text handed to the writer at a time: one write per row would be 100,000 for a big capture. */
const CHUNK = 16 * 1024;

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
): Row {
  return [
    escapeForTerminal(session.id),
    compactTimestamp(tx.start),
    formatEndpoint(session.client),
    formatEndpoint(session.server),
    tx.mailFrom === null ? '' : truncateEscaped(formatSender(tx.mailFrom.address), ADDRESS_MAX),
    tx.rcptTo.map((r) => formatRecipient(r, palette)).join('\n'),
    tx.data === null ? '' : String(tx.data.size),
    statusPaint(palette, tx.status)(tx.status),
    tx.message?.subject == null ? '' : truncateEscaped(tx.message.subject, SUBJECT_MAX),
  ];
}

function sessionRow(session: SessionRecord<MessageRecord>, palette: Palette): Row {
  return [
    escapeForTerminal(session.id),
    compactTimestamp(session.start),
    formatEndpoint(session.client),
    formatEndpoint(session.server),
    '',
    '',
    '',
    palette.dim(sessionOutcome(session)),
    '',
  ];
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
 * Builds the table a session at a time, keeping only each row as one string and the column
 * widths (never the session records), then draws it a row at a time.
 */
export class SessionsTable {
  private readonly palette: Palette;
  /** Head cells, by column of COLUMNS. */
  private readonly head: string[];
  /** Each row's stored fields, joined by SEP. */
  private readonly rows = new RowStore();
  /** Widest cell of each column of COLUMNS so far, head included. */
  private readonly widths: number[];
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
    this.head = [
      'session',
      'start',
      'client → server',
      'auth',
      'mail from',
      'recipients',
      'size',
      'status',
      'subject',
    ].map((h) => this.palette.bold(h));
    this.widths = this.head.map(cellWidth);
  }

  /** A session's rows; sessions may come in any order: rows are drawn by session number (S1, S2, ...). */
  add(session: SessionRecord<MessageRecord>): void {
    this.sessions++;
    const place = /^S\d+$/.test(session.id) ? sessionOrdinal(session.id) : this.sessions;
    const auth = session.auth.length > 0 ? formatAuth(session.auth, this.opts.showSecrets === true) : null;
    if (auth !== null) this.withAuth = true;
    if (session.transactions.length === 0) {
      this.addRow(sessionRow(session, this.palette), auth, place);
      return;
    }
    for (const tx of session.transactions) {
      this.addRow(transactionRow(session, tx, this.palette), auth, place);
      this.counts[tx.status]++;
      this.transactions++;
    }
  }

  /** The table's text in pieces of about 64 KiB. */
  *chunks(): Generator<string> {
    const shown = COLUMNS.flatMap((field, column) => (field !== AUTH || this.withAuth ? [column] : []));
    let pending = '';
    for (const piece of drawBoxTable(
      shown.map((column) => this.head[column]),
      this.rowCells(shown),
      shown.map((column) => this.widths[column]),
      shown.map((column): Align => (COLUMNS[column] === SIZE ? 'right' : 'left')),
    )) {
      pending += piece;
      if (pending.length >= CHUNK) {
        yield pending;
        pending = '';
      }
    }
    const counts = this.counts;
    yield `${pending}${plural(this.sessions, 'session')}, ${plural(this.transactions, 'transaction')} ` +
      `(${counts.delivered} delivered, ${counts.rejected} rejected, ${counts.aborted} aborted, ` +
      `${counts.incomplete} incomplete)\n`;
  }

  toString(): string {
    return [...this.chunks()].join('');
  }

  /** The stored rows' cells, for the columns shown. */
  private *rowCells(shown: number[]): Generator<string[]> {
    for (const text of this.rows.texts()) {
      const fields = text.split(SEP);
      yield shown.map((column) => cellOf(fields, COLUMNS[column]));
    }
  }

  private addRow(row: Row, auth: string | null, place: number): void {
    row.push(auth ?? '');
    const widths = this.widths;
    for (let column = 0; column < COLUMNS.length; column++) {
      widths[column] = Math.max(widths[column], cellWidth(cellOf(row, COLUMNS[column])));
    }
    this.rows.add(row.join(SEP), place);
  }
}

/**
 * Texts kept as UTF-8 in blocks of 1 MiB, outside V8's heap: 100,000 rows as strings would be
 * 10 MB of heap, which V8 lets grow by a multiple before collecting; blocks are filled, never
 * copied. Round trips exactly: the texts hold no lone surrogate (escapeForTerminal escapes them).
 */
class RowStore {
  private static readonly BLOCK = 1024 * 1024;
  private readonly blocks: Buffer[] = [];
  private used = 0;
  /** Per row: its block, where it ends in the block, and its place (its session's number). */
  private readonly rowBlock: number[] = [];
  private readonly rowEnd: number[] = [];
  private readonly rowPlace: number[] = [];
  private inOrder = true;

  add(text: string, place: number): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    const need = 3 * text.length;
    let block = this.blocks[this.blocks.length - 1];
    if (block === undefined || this.used + need > block.length) {
      block = Buffer.allocUnsafeSlow(Math.max(need, RowStore.BLOCK));
      this.blocks.push(block);
      this.used = 0;
    }
    this.used += block.write(text, this.used);
    const last = this.rowPlace.length - 1;
    if (last >= 0 && place < this.rowPlace[last]) this.inOrder = false;
    this.rowBlock.push(this.blocks.length - 1);
    this.rowEnd.push(this.used);
    this.rowPlace.push(place);
  }

  /** The texts by place, rows of one place in the order they came. */
  *texts(): Generator<string> {
    const places = this.rowPlace;
    const count = places.length;
    const order = this.inOrder
      ? null
      : Uint32Array.from({ length: count }, (_, i) => i).sort((a, b) => places[a] - places[b] || a - b);
    for (let k = 0; k < count; k++) {
      const i = order === null ? k : order[k];
      const block = this.rowBlock[i];
      const start = i > 0 && this.rowBlock[i - 1] === block ? this.rowEnd[i - 1] : 0;
      yield this.blocks[block].toString('utf8', start, this.rowEnd[i]);
    }
  }
}

/** A stored row's cell for `field`; FLOW as formatFlow writes it. */
function cellOf(fields: string[], field: number): string {
  return field === FLOW ? `${fields[CLIENT]} → ${fields[SERVER]}` : fields[field];
}
