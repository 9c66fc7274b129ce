/**
 * Counts over many sessions (`smtpcap stats`): computeStats is pure data, renderStats prints it
 * as tables with every value from the capture escaped.
 */
import type { MessageRecord } from '../mail/message-record.js';
import type { Reply, SessionRecord, SessionState, TransactionStatus } from '../smtp/records.js';
import { createPalette } from './colour.js';
import { formatSender, truncateEscaped } from './format.js';
import { newSmallTable } from './small-table.js';

export interface Ranked<K> {
  value: K;
  count: number;
}

export interface Stats {
  sessions: number;
  states: Record<SessionState, number>;
  transactions: Record<TransactionStatus | 'total', number>;
  /** Transactions whose message data began, and the sum of their `data.size`. */
  messages: { count: number; bytes: number };
  /** Every reply seen (greeting, each command's first reply, each reply after message data), by code. */
  replyCodes: Ranked<number>[];
  /** MAIL FROM addresses as sent (`<>` for the null sender). */
  topSenders: Ranked<string>[];
  /** Every RCPT TO address as sent, accepted or not. */
  topRecipients: Ranked<string>[];
  /** Server IP addresses. */
  topServers: Ranked<string>[];
  /** Session anomaly codes (smtp/tcp layers). */
  anomalies: Ranked<string>[];
  /** Message anomaly codes (mail layer). */
  messageAnomalies: Ranked<string>[];
  tls: { offered: number; started: number; implicit: number };
  auth: {
    sessions: number;
    attempts: number;
    succeeded: number;
    failed: number;
    mechanisms: Ranked<string>[];
  };
}

export interface StatsOptions {
  /** Length of the top-N lists (default 10). */
  top?: number;
}

class Counter<K> {
  private readonly map = new Map<K, number>();
  add(key: K): void {
    this.map.set(key, (this.map.get(key) ?? 0) + 1);
  }
  /** Most frequent first; ties by key so the output is stable across runs. */
  ranked(limit = Number.POSITIVE_INFINITY): Ranked<K>[] {
    return [...this.map]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
      .slice(0, limit);
  }
  /** By key ascending (for reply codes, where the order of codes reads best). */
  byKey(): Ranked<K>[] {
    return [...this.map]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  }
}

export function computeStats(sessions: SessionRecord<MessageRecord>[], opts: StatsOptions = {}): Stats {
  const stats = new StatsAccumulator();
  for (const session of sessions) stats.add(session);
  return stats.result(opts);
}

/** Counts sessions one at a time, so `smtpcap stats` never holds the records themselves. */
export class StatsAccumulator {
  private sessions = 0;
  private readonly states: Record<SessionState, number> = {
    complete: 0,
    truncated: 0,
    midstream: 0,
    reset: 0,
  };
  private readonly transactions: Stats['transactions'] = {
    total: 0,
    delivered: 0,
    rejected: 0,
    aborted: 0,
    incomplete: 0,
  };
  private readonly messages = { count: 0, bytes: 0 };
  private readonly codes = new Counter<number>();
  private readonly senders = new Counter<string>();
  private readonly recipients = new Counter<string>();
  private readonly servers = new Counter<string>();
  private readonly anomalies = new Counter<string>();
  private readonly messageAnomalies = new Counter<string>();
  private readonly mechanisms = new Counter<string>();
  private readonly tls = { offered: 0, started: 0, implicit: 0 };
  private readonly auth = { sessions: 0, attempts: 0, succeeded: 0, failed: 0 };

  add(s: SessionRecord<MessageRecord>): void {
    const addReply = (reply: Reply | null): void => {
      if (reply !== null) this.codes.add(reply.code);
    };
    this.sessions++;
    this.states[s.state]++;
    this.servers.add(s.server.ip);
    addReply(s.greeting);
    for (const c of s.commands) addReply(c.reply);
    for (const a of s.anomalies) this.anomalies.add(a.code);
    if (s.tls.offered) this.tls.offered++;
    if (s.tls.started) this.tls.started++;
    if (s.tls.implicit) this.tls.implicit++;
    if (s.auth.length > 0) this.auth.sessions++;
    for (const a of s.auth) {
      this.auth.attempts++;
      if (a.success) this.auth.succeeded++;
      else this.auth.failed++;
      this.mechanisms.add(a.mechanism);
    }
    for (const tx of s.transactions) {
      this.transactions.total++;
      this.transactions[tx.status]++;
      if (tx.mailFrom !== null) this.senders.add(formatSender(tx.mailFrom.address));
      for (const r of tx.rcptTo) this.recipients.add(r.address);
      if (tx.data !== null) {
        this.messages.count++;
        this.messages.bytes += tx.data.size;
        // DATA's 354 is in commands; the reply after the message is only here.
        addReply(tx.data.reply);
      }
      for (const code of tx.message?.anomalies ?? []) this.messageAnomalies.add(code);
    }
  }

  result(opts: StatsOptions = {}): Stats {
    const top = opts.top ?? 10;
    return {
      sessions: this.sessions,
      states: { ...this.states },
      transactions: { ...this.transactions },
      messages: { ...this.messages },
      replyCodes: this.codes.byKey(),
      topSenders: this.senders.ranked(top),
      topRecipients: this.recipients.ranked(top),
      topServers: this.servers.ranked(top),
      anomalies: this.anomalies.ranked(),
      messageAnomalies: this.messageAnomalies.ranked(),
      tls: { ...this.tls },
      auth: { ...this.auth, mechanisms: this.mechanisms.ranked() },
    };
  }
}

/** Values from the capture (addresses, codes) can be anything: escape and cap them. */
const VALUE_MAX = 64;

export function renderStats(stats: Stats, opts: { colour: boolean }): string {
  const palette = createPalette(opts.colour);
  const newTable = (head: string[]) => newSmallTable(head, palette);

  const overview = newTable([]);
  const t = stats.transactions;
  const states = stats.states;
  overview.push(
    ['sessions', String(stats.sessions)],
    [
      '  by state',
      `${states.complete} complete, ${states.truncated} truncated, ${states.midstream} midstream, ` +
        `${states.reset} reset`,
    ],
    ['transactions', String(t.total)],
    [
      '  by status',
      `${t.delivered} delivered, ${t.rejected} rejected, ${t.aborted} aborted, ${t.incomplete} incomplete`,
    ],
    ['messages', String(stats.messages.count)],
    ['message bytes', String(stats.messages.bytes)],
    [
      'TLS sessions',
      `${stats.tls.offered} offered, ${stats.tls.started} started, ${stats.tls.implicit} implicit`,
    ],
    [
      'AUTH',
      `${stats.auth.attempts} attempts in ${stats.auth.sessions} sessions: ` +
        `${stats.auth.succeeded} succeeded, ${stats.auth.failed} failed`,
    ],
  );
  if (stats.auth.mechanisms.length > 0) {
    overview.push([
      '  mechanisms',
      stats.auth.mechanisms.map((m) => `${truncateEscaped(m.value, VALUE_MAX)} ${m.count}`).join(', '),
    ]);
  }

  const sections: string[] = [`${palette.bold('Overview')}\n${overview.toString()}`];
  const ranked = <K extends string | number>(title: string, column: string, rows: Ranked<K>[]): void => {
    if (rows.length === 0) {
      sections.push(`${palette.bold(title)}\n${palette.dim('(none)')}`);
      return;
    }
    const table = newTable([column, 'count']);
    for (const row of rows) {
      table.push([
        truncateEscaped(String(row.value), VALUE_MAX),
        { content: String(row.count), hAlign: 'right' },
      ]);
    }
    sections.push(`${palette.bold(title)}\n${table.toString()}`);
  };
  ranked('Reply codes', 'code', stats.replyCodes);
  ranked('Top senders', 'mail from', stats.topSenders);
  ranked('Top recipients', 'rcpt to', stats.topRecipients);
  ranked('Top servers', 'server', stats.topServers);
  ranked('Anomalies', 'code', stats.anomalies);
  if (stats.messageAnomalies.length > 0) ranked('Message anomalies', 'code', stats.messageAnomalies);
  return `${sections.join('\n\n')}\n`;
}
