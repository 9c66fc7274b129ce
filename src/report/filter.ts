import type { MessageRecord } from '../mail/message-record.js';
import type { SessionRecord, Transaction } from '../smtp/records.js';

/** The selection options every subcommand shares (--session, --from, --to, --subject, --since, --until). */
export interface SelectionOptions {
  session?: string[];
  from?: string;
  to?: string;
  subject?: string;
  since?: string;
  until?: string;
}

type Session = SessionRecord<MessageRecord>;
type Tx = Transaction<MessageRecord>;

export interface Selection {
  /** A session is shown when its id is selected and, with transaction filters, one transaction matches. */
  session(session: Session): boolean;
  transaction(session: Session, transaction: Tx): boolean;
  /**
   * The session as reports show it: with transaction filters, only the transactions that match
   * (each keeps its index); otherwise the session itself.
   */
  narrow(session: Session): Session;
}

/** `/regex/flags` is a regular expression; anything else a case-insensitive substring. */
export function textMatcher(pattern: string): (text: string) => boolean {
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  if (regex) {
    const compiled = new RegExp(regex[1], regex[2]);
    return (text) => compiled.test(text);
  }
  const needle = pattern.toLowerCase();
  return (text) => text.toLowerCase().includes(needle);
}

const DATE_TIME = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d)?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/i;

/**
 * Nanoseconds since the epoch of an ISO 8601 time; throws on junk. Capture times are UTC
 * everywhere in our output, so a date-time without a zone is UTC too (not the local time
 * Date.parse would assume), a space may stand for the T (as the table prints times), and every
 * fraction digit counts: capture times have up to nine.
 */
export function parseTime(text: string): bigint {
  const trimmed = text.trim();
  const parts = DATE_TIME.exec(trimmed);
  const ms = parts ? Date.parse(`${parts[1]}T${parts[2]}${parts[4] ?? 'Z'}`) : Date.parse(trimmed);
  if (Number.isNaN(ms)) throw new RangeError(`not a time: ${text}`);
  const fraction = parts?.[3] ?? '';
  return BigInt(ms) * 1_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9));
}

export function compileSelection(options: SelectionOptions): Selection {
  const ids = options.session?.length ? new Set(options.session.map((id) => id.toUpperCase())) : null;
  const tests: ((tx: Tx) => boolean)[] = [];
  if (options.from !== undefined) {
    const match = textMatcher(options.from);
    tests.push((tx) => tx.mailFrom !== null && match(tx.mailFrom.address));
  }
  if (options.to !== undefined) {
    const match = textMatcher(options.to);
    tests.push((tx) => tx.rcptTo.some((r) => match(r.address)));
  }
  if (options.subject !== undefined) {
    const match = textMatcher(options.subject);
    tests.push((tx) => tx.message?.subject != null && match(tx.message.subject));
  }
  if (options.since !== undefined) {
    const since = parseTime(options.since);
    tests.push((tx) => parseTime(tx.start) >= since);
  }
  if (options.until !== undefined) {
    const until = parseTime(options.until);
    tests.push((tx) => parseTime(tx.start) <= until);
  }
  const transaction = (session: Session, tx: Tx): boolean =>
    (ids === null || ids.has(session.id)) && tests.every((test) => test(tx));
  return {
    transaction,
    session: (session) =>
      (ids === null || ids.has(session.id)) &&
      (tests.length === 0 || session.transactions.some((tx) => transaction(session, tx))),
    narrow: (session) =>
      tests.length === 0
        ? session
        : { ...session, transactions: session.transactions.filter((tx) => transaction(session, tx)) },
  };
}
