/**
 * One session's dialogue as Wireshark's Follow TCP Stream shows it: a header, then one line per
 * event, client in red and server in blue. Every byte from the capture is escaped.
 */
import type { MessageRecord } from '../mail/message-record.js';
import type { DialogueEvent } from '../smtp/dialogue.js';
import type { SessionRecord, TlsInfo } from '../smtp/records.js';
import { Direction } from '../tcp/stream.js';
import { createPalette, type Paint, type Palette } from './colour.js';
import { escapeBytes, escapeForTerminal } from './escape.js';
import { compactTimestamp, formatFlow, timeOfDay } from './format.js';

export interface TranscriptOptions {
  colour: boolean;
  /** Show at most this many body lines per message, then one elision line; undefined = all. */
  bodyLines?: number;
  /** Show SASL responses and AUTH initial responses (hidden by default: they carry passwords). */
  showSecrets?: boolean;
}

const CR = 0x0d;
const LF = 0x0a;

function tlsSummary(tls: TlsInfo): string {
  if (!tls.offered && !tls.started && !tls.implicit) return 'not offered';
  if (!tls.started && !tls.implicit) return 'offered, not started';
  const facts = [tls.implicit ? 'implicit' : 'started'];
  if (tls.at !== null) facts.push(`at ${compactTimestamp(tls.at)}`);
  if (tls.version !== null) facts.push(escapeForTerminal(tls.version));
  if (tls.sni !== null) facts.push(`sni ${escapeForTerminal(tls.sni)}`);
  if (tls.cipher !== null) facts.push(`cipher ${escapeForTerminal(tls.cipher)}`);
  if (tls.certificate !== null) {
    const c = tls.certificate;
    facts.push(
      `cert subject "${escapeForTerminal(c.subject)}" issuer "${escapeForTerminal(c.issuer)}" ` +
        `valid ${escapeForTerminal(c.notBefore)} .. ${escapeForTerminal(c.notAfter)}`,
    );
  }
  return facts.join(', ');
}

function header(session: SessionRecord<MessageRecord>, palette: Palette): string[] {
  const state =
    session.missingSide === null ? session.state : `${session.state} (${session.missingSide} side missing)`;
  const lines = [
    `${palette.bold(`Session ${escapeForTerminal(session.id)}`)}  ${formatFlow(session.client, session.server)}`,
    `  start ${compactTimestamp(session.start)}  end ${compactTimestamp(session.end)}  ` +
      `(${session.durationMs} ms)  state ${escapeForTerminal(state)}`,
    `  TLS: ${tlsSummary(session.tls)}`,
  ];
  if (session.anomalies.length > 0) {
    const codes = [...new Set(session.anomalies.map((a) => a.code))].map(escapeForTerminal).join(', ');
    lines.push(palette.warn(`  anomalies: ${codes}`));
  }
  return lines;
}

/** The line's text and how its ending is shown: nothing for CRLF, `\n` for a bare LF. */
function splitEnding(bytes: Buffer): { text: string; ending: string } {
  const n = bytes.length;
  if (n >= 2 && bytes[n - 2] === CR && bytes[n - 1] === LF) {
    return { text: escapeBytes(bytes.subarray(0, n - 2)), ending: '' };
  }
  if (n >= 1 && bytes[n - 1] === LF) return { text: escapeBytes(bytes.subarray(0, n - 1)), ending: '\\n' };
  // A line cut short by the end of the stream.
  return { text: escapeBytes(bytes), ending: ' [no line end]' };
}

const AUTH_WITH_RESPONSE = /^(\s*AUTH[ \t]+\S+[ \t]+)\S/i;

/**
 * A client line that carries credentials, with them replaced by a mark: a SASL response, or
 * the initial response on an AUTH line. Null when the line carries none.
 */
function maskedSecret(event: DialogueEvent): Buffer | null {
  if (event.dir !== Direction.ClientToServer) return null;
  if (event.kind === 'sasl') return Buffer.from(`[SASL response: ${event.bytes.length} bytes hidden]\r\n`);
  if (event.kind !== 'line') return null;
  const text = event.bytes.toString('latin1');
  const match = AUTH_WITH_RESPONSE.exec(text);
  if (!match) return null;
  const ending = text.endsWith('\r\n') ? '\r\n' : text.endsWith('\n') ? '\n' : '';
  return Buffer.from(`${match[1]}[hidden]${ending}`, 'latin1');
}

/** A client command line other than BDAT starts a new message for the elision count. */
function startsNewMessage(event: DialogueEvent): boolean {
  if (event.dir !== Direction.ClientToServer || event.kind !== 'line') return false;
  const verb = event.bytes.subarray(0, 5).toString('latin1').toUpperCase();
  return !verb.startsWith('BDAT');
}

/** The events with each `body` event cut into its lines (a store may join a packet's lines into one). */
function* eachLine(events: DialogueEvent[]): Generator<DialogueEvent> {
  for (const event of events) {
    if (event.kind !== 'body') {
      yield event;
      continue;
    }
    const bytes = event.bytes;
    let start = 0;
    while (start < bytes.length) {
      const lf = bytes.indexOf(0x0a, start);
      const end = lf < 0 ? bytes.length : lf + 1;
      yield { ...event, bytes: bytes.subarray(start, end), length: end - start };
      start = end;
    }
    if (bytes.length === 0) yield event;
  }
}

/** Lines of text handed on in pieces of about 64 KiB: a long session is never one string. */
class LineBatcher {
  private pending: string[] = [];
  private size = 0;

  constructor(private readonly write: (text: string) => void) {}

  push(line: string): void {
    this.pending.push(line);
    this.size += line.length + 1;
    if (this.size >= 64 * 1024) this.end();
  }

  end(): void {
    if (this.pending.length === 0) return;
    this.write(`${this.pending.join('\n')}\n`);
    this.pending = [];
    this.size = 0;
  }
}

export function renderTranscript(
  session: SessionRecord<MessageRecord>,
  events: DialogueEvent[],
  opts: TranscriptOptions,
  omitted: { lines: number; bytes: number } = { lines: 0, bytes: 0 },
): string {
  const pieces: string[] = [];
  writeTranscript(session, events, opts, omitted, (text) => pieces.push(text));
  return pieces.join('');
}

/** renderTranscript's text, handed to `write` in pieces as it is made. */
export function writeTranscript(
  session: SessionRecord<MessageRecord>,
  events: DialogueEvent[],
  opts: TranscriptOptions,
  omitted: { lines: number; bytes: number },
  write: (text: string) => void,
): void {
  const palette = createPalette(opts.colour);
  const limit = opts.bodyLines === undefined ? Number.POSITIVE_INFINITY : Math.max(0, opts.bodyLines);
  const out = new LineBatcher(write);
  for (const line of header(session, palette)) out.push(line);
  out.push('');

  let bodyShown = 0;
  let elidedLines = 0;
  let elidedBytes = 0;
  let elidedAt = '';
  let elidedMarker = '';
  const flushElided = (): void => {
    if (elidedLines === 0) return;
    out.push(
      `${palette.dim(elidedAt)} ${elidedMarker} ` +
        palette.dim(`… ${elidedLines} more line${elidedLines === 1 ? '' : 's'} (${elidedBytes} bytes) …`),
    );
    elidedLines = 0;
    elidedBytes = 0;
  };

  for (const event of eachLine(events)) {
    const fromClient = event.dir === Direction.ClientToServer;
    const colour: Paint = fromClient ? palette.client : palette.server;
    const side = fromClient ? 'C' : 'S';
    const time = timeOfDay(event.ts);

    if (event.kind === 'body') {
      if (bodyShown >= limit) {
        if (elidedLines === 0) {
          elidedAt = time;
          elidedMarker = colour(`${side}|`);
        }
        elidedLines++;
        elidedBytes += event.bytes.length;
        continue;
      }
      bodyShown++;
    } else if (startsNewMessage(event)) {
      bodyShown = 0;
    }
    flushElided();

    // Body lines are marked `|` so message content is never mistaken for a command.
    const marker = colour(`${side}${event.kind === 'body' ? '|' : ':'}`);
    let line: string;
    switch (event.kind) {
      case 'tls':
        line = palette.dim(`[TLS: ${event.length} bytes]`);
        break;
      case 'gap':
        line = palette.warn(`[GAP: ${event.length} bytes missing]`);
        break;
      default: {
        const bytes = (!opts.showSecrets && maskedSecret(event)) || event.bytes;
        const { text, ending } = splitEnding(bytes);
        line = colour(text) + palette.dim(ending);
      }
    }
    out.push(`${palette.dim(time)} ${marker} ${line}`);
  }
  flushElided();
  if (omitted.lines > 0)
    out.push(
      palette.warn(
        `… ${omitted.lines} more line${omitted.lines === 1 ? '' : 's'} (${omitted.bytes} bytes) not kept: ` +
          'the transcript holds at most 8 MiB of dialogue at once …',
      ),
    );
  out.end();
}
