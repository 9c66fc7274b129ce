/**
 * `smtpcap creds`: every AUTH attempt of every session, with who tried, what they sent and how
 * the server answered. Passwords are the point of this report and are shown; bearer tokens are
 * summarised unless `showSecrets` (a token is a live credential far more often than a password
 * in a lab capture, and it is long).
 */
import type { AuthAttempt, SessionRecord } from '../smtp/records.js';
import type { Endpoint } from '../tcp/stream.js';
import { type Align, cellWidth, drawBoxTable } from './box-table.js';
import { createPalette } from './colour.js';
import { escapeForTerminal } from './escape.js';
import { formatFlow, plural, truncateEscaped } from './format.js';

export interface CredsOptions {
  colour: boolean;
  /** Show bearer tokens whole (JSON always has them). */
  showSecrets?: boolean;
}

export type AuthOutcome = 'success' | 'failure' | 'cancelled' | 'unknown';

/** One attempt with the session it belongs to: a row of the creds report. */
export interface CredentialRecord extends AuthAttempt {
  session: string;
  client: Endpoint;
  server: Endpoint;
  outcome: AuthOutcome;
}

/** Long values (tokens, NTLM responses) are cut in the table; the JSON has them whole. */
const CELL_MAX = 100;

export function outcomeOf(attempt: AuthAttempt): AuthOutcome {
  if (attempt.success) return 'success';
  if (attempt.cancelled) return 'cancelled';
  return attempt.reply === null ? 'unknown' : 'failure';
}

export function credentialRecords(sessions: SessionRecord<unknown>[]): CredentialRecord[] {
  return sessions.flatMap((s) =>
    s.auth.map((attempt) => ({
      session: s.id,
      client: s.client,
      server: s.server,
      ...attempt,
      outcome: outcomeOf(attempt),
    })),
  );
}

/** The attempts as one JSON array (secrets included: this is machine output for investigators). */
export function credsJson(sessions: SessionRecord<unknown>[]): string {
  return `${JSON.stringify(credentialRecords(sessions), null, 2)}\n`;
}

/** The user as the mechanism names it: `DOMAIN\user` for NTLM, `authzid→user` when PLAIN acts as someone else. */
function userOf(a: AuthAttempt): string {
  let user = a.username ?? '';
  if (a.domain) user = `${a.domain}\\${user}`;
  if (a.authzid && a.authzid !== a.username) user = `${a.authzid} → ${user}`;
  return truncateEscaped(user, CELL_MAX);
}

function secretOf(a: AuthAttempt, showSecrets: boolean): string {
  const lines: string[] = [];
  if (a.password !== undefined) lines.push(`password ${truncateEscaped(a.password, CELL_MAX)}`);
  if (a.token !== undefined) {
    lines.push(`token ${truncateEscaped(showSecrets ? a.token : (a.tokenSummary ?? ''), CELL_MAX)}`);
  }
  if (a.challenge !== undefined) lines.push(`challenge ${truncateEscaped(a.challenge, CELL_MAX)}`);
  if (a.response !== undefined && a.password === undefined)
    lines.push(`response ${truncateEscaped(a.response, CELL_MAX)}`);
  if (a.crack !== undefined) lines.push(`crack ${escapeForTerminal(a.crack)}`);
  if (a.workstation) lines.push(`workstation ${truncateEscaped(a.workstation, CELL_MAX)}`);
  return lines.join('\n');
}

export function renderCredsTable(sessions: SessionRecord<unknown>[], opts: CredsOptions): string {
  const palette = createPalette(opts.colour);
  const head = ['session', 'client → server', 'mechanism', 'user', 'credentials', 'outcome'].map((h) =>
    palette.bold(h),
  );
  const records = credentialRecords(sessions);
  const widths = head.map(cellWidth);
  const rows: string[][] = [];
  let succeeded = 0;
  for (const r of records) {
    const code = r.reply === null ? '' : ` ${r.reply.code}`;
    const paint = r.outcome === 'success' ? palette.ok : r.outcome === 'unknown' ? palette.warn : palette.bad;
    if (r.outcome === 'success') succeeded++;
    const row = [
      escapeForTerminal(r.session),
      formatFlow(r.client, r.server),
      escapeForTerminal(r.mechanism),
      userOf(r),
      secretOf(r, opts.showSecrets === true),
      paint(`${r.outcome}${code}`),
    ];
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i], cellWidth(cell));
    });
    rows.push(row);
  }
  // Drawn by our box table: cli-table3 overflows its stack past a few thousand rows.
  const table = [
    ...drawBoxTable(
      head,
      rows,
      widths,
      head.map((): Align => 'left'),
    ),
  ].join('');
  return `${table}${plural(records.length, 'attempt')}, ${succeeded} succeeded\n`;
}
