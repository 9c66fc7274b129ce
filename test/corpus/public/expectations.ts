/**
 * Reads what other projects' test suites expect of a public capture (Zeek btest baselines,
 * Suricata-verify test.yaml, Arkime session JSON, httpreplay's pytest) and turns each into a
 * check over smtpcap's sessions. A check returns the list of disagreements, so a failure names
 * every field that differs at once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { SessionRecord, Transaction } from '../../../src/smtp/records.js';
import type { HeaderAddresses } from './header-sink.js';
import { parseYamlSubset, type YamlValue } from './yaml-subset.js';

export type Session = SessionRecord<HeaderAddresses>;
type Tx = Transaction<HeaderAddresses>;

export interface Check {
  /** Where the expectation comes from, relative to the capture's expected/ folder. */
  source: string;
  run(sessions: Session[]): string[];
}

/** Every check the expected/ folder of one capture yields (none when it names no envelope). */
export function checksFor(expectedDir: string): Check[] {
  const checks: Check[] = [];
  for (const path of walk(expectedDir)) {
    const source = relative(expectedDir, path);
    const name = basename(path);
    const text = (): string => readFileSync(path, 'utf8');
    if (name === 'smtp.log') checks.push(...zeekSmtpLogChecks(source, text()));
    else if (name === 'intel.log') checks.push(...zeekIntelChecks(source, text()));
    else if (name === 'output' && path.includes('address-limits'))
      checks.push(zeekAddressLimitCheck(source, path));
    else if (name.endsWith('.pcap.out') && path.includes('community_id'))
      checks.push(...zeekCommunityIdChecks(source, text()));
    else if (name === 'test.yaml') checks.push(...suricataChecks(source, text()));
    else if (name.endsWith('.test') && path.includes('arkime')) checks.push(...arkimeChecks(source, text()));
    else if (name === 'test_smtp.py') checks.push(...httpreplayChecks(source, text()));
  }
  return checks;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]));
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** `<a@b>` -> `a@b`: Suricata 8 keeps the brackets, Zeek and smtpcap do not. */
export function bareAddress(value: string): string {
  const trimmed = value.trim();
  return trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed.slice(1, -1) : trimmed;
}

/** The names the client gave in HELO / EHLO / LHLO, in order. */
export function heloNames(session: Session): string[] {
  return session.commands.filter((c) => /^(HELO|EHLO|LHLO)$/.test(c.verb)).map((c) => c.arg.trim());
}

/**
 * A session "has" a HELO name when the client sent it and the session record reports a HELO.
 * Both are required: a record with `helo: null` after the client said EHLO hides the name from
 * every consumer that reads `helo`, whatever the command list shows.
 */
function heloProblem(session: Session, expected: string, fold = false): string | null {
  const norm = (s: string): string => (fold ? s.toLowerCase() : s);
  const names = heloNames(session).map(norm);
  if (!names.includes(norm(expected)))
    return `${session.id}: no HELO/EHLO ${JSON.stringify(expected)} (sent ${JSON.stringify(names)})`;
  if (session.helo === null)
    return `${session.id}: client sent HELO/EHLO ${JSON.stringify(expected)} but session.helo is null`;
  return null;
}

function byClientPort(sessions: Session[], port: number, what: string): Session | string {
  const found = sessions.filter((s) => s.client.port === port);
  if (found.length !== 1) return `${what}: ${found.length} sessions with client port ${port}`;
  return found[0];
}

function sameSet(a: string[], b: string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

const show = (x: unknown): string => JSON.stringify(x);

// ---------------------------------------------------------------------------------------------
// Zeek

/** One row of a Zeek ASCII log, unset fields as undefined, sets split on the set separator. */
type ZeekRow = Record<string, string | undefined>;

export function readZeekLog(text: string): { rows: ZeekRow[]; setSeparator: string; empty: string } {
  let fields: string[] = [];
  let setSeparator = ',';
  let unset = '-';
  let empty = '(empty)';
  const rows: ZeekRow[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) {
      const [key, ...rest] = line.slice(1).split('\t');
      if (key === 'fields') fields = rest;
      else if (key === 'set_separator') setSeparator = rest[0];
      else if (key === 'unset_field') unset = rest[0];
      else if (key === 'empty_field') empty = rest[0];
      continue;
    }
    if (line.trim() === '') continue;
    const values = line.split('\t');
    const row: ZeekRow = {};
    fields.forEach((field, i) => {
      row[field] = values[i] === unset ? undefined : values[i];
    });
    rows.push(row);
  }
  return { rows, setSeparator, empty };
}

function zeekSmtpLogChecks(source: string, text: string): Check[] {
  const { rows, setSeparator, empty } = readZeekLog(text);
  const set = (value: string | undefined): string[] =>
    value === undefined || value === empty ? [] : value.split(setSeparator);
  return rows.map((row, i) => ({
    source: `${source} row ${i + 1} (Zeek smtp.log)`,
    run(sessions) {
      const session = byClientPort(sessions, Number(row['id.orig_p']), 'smtp.log');
      if (typeof session === 'string') return [session];
      const problems: string[] = [];
      if (session.server.port !== Number(row['id.resp_p']))
        problems.push(`server port ${session.server.port}`);
      if (row.helo !== undefined) {
        const p = heloProblem(session, row.helo);
        if (p) problems.push(p);
      }
      if (row.tls !== undefined && session.tls.started !== (row.tls === 'T')) {
        problems.push(`tls.started ${session.tls.started}, Zeek tls=${row.tls}`);
      }
      // trans_depth counts the session's transactions from 1; a row with no envelope is the
      // session's record of a connection that carried no mail (STARTTLS, refused, ...).
      const depth = Number(row.trans_depth);
      const tx: Tx | undefined = session.transactions[depth - 1];
      const rcpts = set(row.rcptto);
      if (row.mailfrom === undefined && rcpts.length === 0) {
        if (tx)
          problems.push(`transaction ${depth} exists (${show(tx.mailFrom?.address)}), Zeek logs no envelope`);
        return problems;
      }
      if (!tx) return [...problems, `no transaction ${depth}`];
      if (row.mailfrom !== undefined && tx.mailFrom?.address !== row.mailfrom) {
        problems.push(`T${depth} mailFrom ${show(tx.mailFrom?.address)}, Zeek ${show(row.mailfrom)}`);
      }
      // Zeek's rcptto is a set (unordered, no duplicates), every RCPT whatever its reply.
      const ours = tx.rcptTo.map((r) => r.address);
      if (!sameSet(ours, rcpts)) problems.push(`T${depth} rcptTo ${show(ours)}, Zeek ${show(rcpts)}`);
      return problems;
    },
  }));
}

/** Intel hits seen in the envelope (IN_MAIL_FROM, IN_RCPT_TO); header hits are the mail layer's. */
function zeekIntelChecks(source: string, text: string): Check[] {
  const rows = readZeekLog(text).rows.filter((r) =>
    /^SMTP::IN_(MAIL_FROM|RCPT_TO)$/.test(r['seen.where'] ?? ''),
  );
  return rows.map((row) => ({
    source: `${source} ${row['seen.where']} ${row['seen.indicator']} (Zeek intel.log)`,
    run(sessions) {
      const session = byClientPort(sessions, Number(row['id.orig_p']), 'intel.log');
      if (typeof session === 'string') return [session];
      const indicator = row['seen.indicator'] ?? '';
      const seen =
        row['seen.where'] === 'SMTP::IN_MAIL_FROM'
          ? session.transactions.some((t) => t.mailFrom?.address.toLowerCase() === indicator.toLowerCase())
          : session.transactions.some((t) =>
              t.rcptTo.some((r) => r.address.toLowerCase() === indicator.toLowerCase()),
            );
      return seen ? [] : [`${session.id}: ${indicator} not in the envelope`];
    },
  }));
}

/** The address-limits baseline prints |rcptto| after raising Zeek's cap to N: N means "at least N". */
function zeekAddressLimitCheck(source: string, outputPath: string): Check {
  const output = readFileSync(outputPath, 'utf8');
  const script = readFileSync(join(outputPath, '..', '_test_script.zeek'), 'utf8');
  const count = Number(/^rcptto, (\d+)$/m.exec(output)?.[1]);
  const cap = Number(/max_rcptto_addresses\s*=\s*(\d+)/.exec(script)?.[1]);
  return {
    source: `${source} (Zeek address limits: rcptto ${count}, cap ${cap})`,
    run(sessions) {
      const counts = sessions.flatMap((s) => s.transactions.map((t) => t.rcptTo.length));
      if (counts.length !== 1) return [`expected one transaction, got ${counts.length}`];
      const ok = count === cap ? counts[0] >= cap : counts[0] === count;
      return ok ? [] : [`${counts[0]} recipients, Zeek ${count === cap ? 'at least ' : ''}${count}`];
    },
  };
}

function zeekCommunityIdChecks(source: string, text: string): Check[] {
  const checks: Check[] = [];
  for (const m of text.matchAll(/orig_p=(\d+)\/tcp.*?\], (1:[A-Za-z0-9+/=]+)/g)) {
    const [, port, id] = m;
    checks.push({
      source: `${source} port ${port} (Zeek community_id)`,
      run(sessions) {
        const session = byClientPort(sessions, Number(port), 'community_id');
        if (typeof session === 'string') return [session];
        return session.communityId === id ? [] : [`communityId ${session.communityId}, Zeek ${id}`];
      },
    });
  }
  return checks;
}

// ---------------------------------------------------------------------------------------------
// Suricata-verify

interface SuricataFilter {
  count: number;
  match: Record<string, YamlValue>;
}

function asRecord(value: YamlValue | undefined): Record<string, YamlValue> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
}

/**
 * The EVE checks that name an envelope (smtp.mail_from, smtp.rcpt_to[i], smtp.helo). Read as:
 * - `event_type: smtp` (one event per Suricata transaction): exactly `count` of our
 *   transactions match, unless the test runs a blocking firewall (then Suricata stops seeing the
 *   flow and its counts say nothing about the capture).
 * - other event types (alert, fileinfo): a matching transaction exists; they fire at moments of
 *   Suricata's choosing, so their counts are not ours to reproduce.
 * - helo-only filters describe Suricata transactions without MAIL (a refused DATA, pre-8.0.7
 *   trailing QUIT transactions) that smtpcap does not make: a session with that HELO must exist.
 * Filters for older Suricata (`requires: lt-version`) are skipped; tx_id is Suricata's own
 * numbering (it counts MAIL-less transactions) and is not compared.
 */
function suricataChecks(source: string, text: string): Check[] {
  const doc = asRecord(parseYamlSubset(text));
  const checks = Array.isArray(doc?.checks) ? doc.checks : [];
  const blocking = checks.some((c) => {
    const stats = asRecord(asRecord(c)?.stats);
    return typeof stats?.['firewall.blocked'] === 'number' && stats['firewall.blocked'] > 0;
  });
  const result: Check[] = [];
  checks.forEach((entry, i) => {
    const filter = asRecord(asRecord(entry)?.filter);
    const match = asRecord(filter?.match);
    if (!filter || !match || typeof filter.count !== 'number') return;
    if (asRecord(filter.requires)?.['lt-version'] !== undefined) return;
    const f: SuricataFilter = { count: filter.count, match };
    const envelopeKeys = Object.keys(match).filter((k) => /^smtp\.(mail_from|rcpt_to\[\d+\])$/.test(k));
    const helo = typeof match['smtp.helo'] === 'string' ? match['smtp.helo'] : undefined;
    if (envelopeKeys.length === 0 && helo === undefined) return;
    const isSmtpEvent = match.event_type === 'smtp';
    if (f.count === 0 && (!isSmtpEvent || blocking || envelopeKeys.length === 0)) return;
    const label = `${source} check ${i + 1}: ${show(pick(match))} count ${f.count}${blocking ? ' (blocking firewall)' : ''}`;
    result.push({
      source: label,
      run(sessions) {
        const port = typeof match.src_port === 'number' ? match.src_port : undefined;
        const candidates = port === undefined ? sessions : sessions.filter((s) => s.client.port === port);
        if (envelopeKeys.length === 0 && helo !== undefined) {
          const problems = candidates.map((s) => heloProblem(s, suricataHelo(helo)));
          return problems.includes(null) ? [] : problems.filter((p) => p !== null);
        }
        const matching = candidates.flatMap((s) => s.transactions.filter((t) => suricataMatches(f, s, t)));
        const exact = isSmtpEvent && !blocking;
        if (exact ? matching.length === f.count : matching.length > 0) return [];
        const seen = candidates.flatMap((s) =>
          s.transactions.map(
            (t) => `${s.id}/T${t.index} ${t.mailFrom?.address} -> ${show(t.rcptTo.map((r) => r.address))}`,
          ),
        );
        return [
          `${matching.length} matching transactions (want ${exact ? '' : 'at least '}${f.count}); ours: ${seen.join('; ')}`,
        ];
      },
    });
  });
  return result;
}

/** The smtp.* part of a filter, for the check's name. */
function pick(match: Record<string, YamlValue>): Record<string, YamlValue> {
  const out: Record<string, YamlValue> = {};
  for (const [k, v] of Object.entries(match)) {
    if (k.startsWith('smtp.') || k === 'event_type' || k === 'not-has-key') {
      out[k] = typeof v === 'string' && v.length > 60 ? `${v.slice(0, 20)}...(${v.length} chars)` : v;
    }
  }
  return out;
}

/**
 * Suricata caps a line at 4096 bytes and keeps what fits, CR included when the cap falls between
 * CR and LF (sv-smtp-long-command). smtpcap reads the whole line, so the CR is not part of a name.
 */
function suricataHelo(value: string): string {
  return value.endsWith('\r') ? value.slice(0, -1) : value;
}

function suricataMatches(filter: SuricataFilter, session: Session, tx: Tx): boolean {
  const { match } = filter;
  for (const [key, value] of Object.entries(match)) {
    if (key === 'smtp.mail_from') {
      if (typeof value !== 'string' || tx.mailFrom?.address !== bareAddress(value)) return false;
    } else if (key.startsWith('smtp.rcpt_to[')) {
      const index = Number(/\[(\d+)\]/.exec(key)?.[1]);
      if (typeof value !== 'string' || tx.rcptTo[index]?.address !== bareAddress(value)) return false;
    } else if (key === 'smtp.helo') {
      if (typeof value !== 'string' || heloProblem(session, suricataHelo(value)) !== null) return false;
    }
  }
  const absent = match['not-has-key'];
  for (const key of Array.isArray(absent) ? absent : absent === undefined ? [] : [absent]) {
    if (key === 'smtp.mail_from' && tx.mailFrom !== null) return false;
    if (key === 'smtp.rcpt_to' && tx.rcptTo.length > 0) return false;
    const index = typeof key === 'string' ? /^smtp\.rcpt_to\[(\d+)\]$/.exec(key)?.[1] : undefined;
    if (index !== undefined && tx.rcptTo.length > Number(index)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Arkime

interface ArkimeSession {
  source?: { port?: number };
  destination?: { port?: number };
  protocol?: string[];
  network?: { community_id?: string; packets?: number };
  email?: { src?: string[]; dst?: string[]; smtpHello?: string[]; header?: string[]; subject?: string[] };
}

/**
 * Arkime's email.src is MAIL FROM plus the From header, email.dst RCPT TO plus To and Cc, all
 * lower-cased (its smtp parser feeds both into the same fields); smtpHello is the HELO name,
 * lower-cased. So ours = envelope + header addresses, compared as lower-cased sets.
 */
function arkimeChecks(source: string, text: string): Check[] {
  const doc = JSON.parse(text) as { sessions3?: { body: ArkimeSession }[] };
  // Arkime also saves a zero-packet copy of some flows (arkime_synthetic, port 54323): not a session.
  const smtp = (doc.sessions3 ?? [])
    .map((s) => s.body)
    .filter((b) => b.protocol?.includes('smtp') && b.network?.packets !== 0);
  return smtp.map((body) => ({
    source: `${source} client port ${body.source?.port} (Arkime session)`,
    run(sessions) {
      const session = byClientPort(sessions, body.source?.port ?? -1, 'Arkime session');
      if (typeof session === 'string') return [session];
      const problems: string[] = [];
      const communityId = body.network?.community_id;
      if (communityId && session.communityId !== communityId) {
        problems.push(`communityId ${session.communityId}, Arkime ${communityId}`);
      }
      for (const hello of body.email?.smtpHello ?? []) {
        const p = heloProblem(session, hello, true);
        if (p) problems.push(p);
      }
      // Arkime parsed message headers, so the client sent a message: some transaction has data.
      const sawMessage = (body.email?.header?.length ?? 0) > 0 || (body.email?.subject?.length ?? 0) > 0;
      if (sawMessage && !session.transactions.some((t) => t.data !== null)) {
        problems.push('Arkime parsed a message (headers, subject) but no transaction carries data');
      }
      const lower = (xs: string[]): string[] => xs.map((x) => x.toLowerCase());
      const src = lower(
        session.transactions.flatMap((t) => (t.mailFrom?.address ? [t.mailFrom.address] : [])),
      );
      const dst = lower(session.transactions.flatMap((t) => t.rcptTo.map((r) => r.address)));
      for (const t of session.transactions) {
        src.push(...(t.message?.from ?? []));
        dst.push(...(t.message?.to ?? []));
      }
      const arkSrc = lower(body.email?.src ?? []);
      const arkDst = lower(body.email?.dst ?? []);
      if (!sameSet(src, arkSrc))
        problems.push(`src (envelope + From) ${show([...new Set(src)])}, Arkime ${show(arkSrc)}`);
      if (!sameSet(dst, arkDst))
        problems.push(`dst (envelope + To/Cc) ${show([...new Set(dst)])}, Arkime ${show(arkDst)}`);
      return problems;
    },
  }));
}

// ---------------------------------------------------------------------------------------------
// httpreplay

/** test_read_smtp_from_to: `expected = [[mail_from...], [mail_to...]]` for the last session. */
function httpreplayChecks(source: string, text: string): Check[] {
  const body =
    /def test_read_smtp_from_to\(\):[\s\S]*?expected = \[\s*\[([^\]]*)\],\s*\[([^\]]*)\]\s*\]/.exec(text);
  if (!body) return [];
  const list = (s: string): string[] => [...s.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2]);
  const from = list(body[1]);
  const to = list(body[2]);
  return [
    {
      source: `${source} test_read_smtp_from_to (httpreplay)`,
      run(sessions) {
        const last = sessions.at(-1);
        if (!last) return ['no session'];
        const ourFrom = last.transactions.flatMap((t) => (t.mailFrom ? [t.mailFrom.address] : []));
        const ourTo = last.transactions.flatMap((t) => t.rcptTo.map((r) => r.address));
        const problems: string[] = [];
        if (show(ourFrom) !== show(from))
          problems.push(`mail_from ${show(ourFrom)}, httpreplay ${show(from)}`);
        if (show(ourTo) !== show(to)) problems.push(`mail_to ${show(ourTo)}, httpreplay ${show(to)}`);
        return problems;
      },
    },
  ];
}
