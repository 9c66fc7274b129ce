import { communityId } from '../tcp/community-id.js';
import {
  type CloseReason,
  type ConnectionInfo,
  Direction,
  type DirectionCounts,
  type PacketRef,
  type StreamHandler,
} from '../tcp/stream.js';
import type { AnomalyCode } from './anomaly-codes.js';
import { parseCommandLine, parsePathArgument } from './command-line.js';
import type { DialogueKind, DialogueListener } from './dialogue.js';
import { DotUnstuffer } from './dot-unstuffer.js';
import { parseEhloExtensions, parseProxyAttributes } from './extensions.js';
import { LineAssembler, lineEndingLength, lineText } from './line-assembler.js';
import type {
  Anomaly,
  Command,
  EhloCapabilities,
  Helo,
  MailFrom,
  Params,
  ProxyClaim,
  Recipient,
  Reply,
  SessionRecord,
  SessionState,
  TlsInfo,
} from './records.js';
import { buildReply, isFailure, isPositive, parseReplyLine, type ReplyLine } from './reply-line.js';
import { SaslExchange } from './sasl.js';
import { elapsedMs, isoTime } from './timestamp.js';
import { TlsHandshakeReader } from './tls-handshake.js';
import { type MessageSinkFactory, TransactionBuilder } from './transaction-builder.js';
import { fromLatin1 } from './wire-text.js';

/** Caps that keep one hostile session from growing memory without bound. */
export interface SmtpLimits {
  /** Longest command or reply line kept; the excess is counted and dropped. */
  maxLineBytes: number;
  /** Client bytes held while waiting for the reply that decides their meaning (DATA, AUTH, STARTTLS). */
  maxPendingBytes: number;
  /** Anomalies listed per session; the rest are counted. */
  maxAnomalies: number;
  /** Recipients listed per transaction; the rest are counted (`rcptUnlisted`). */
  maxRecipients: number;
  /** Commands listed per session; the rest are still read, but not listed (`command-cap`). */
  maxCommands: number;
  /** AUTH attempts listed per session; the rest are still followed, but not listed (`auth-cap`). */
  maxAuthAttempts: number;
  /**
   * Transactions listed per session; the rest are still followed (replies, state) but not listed,
   * and their message bytes are only counted (`transaction-cap`).
   */
  maxTransactions: number;
}

export const DEFAULT_SMTP_LIMITS: SmtpLimits = {
  maxLineBytes: 64 * 1024,
  maxPendingBytes: 1024 * 1024,
  maxAnomalies: 1000,
  maxRecipients: 1000,
  maxCommands: 10_000,
  maxAuthAttempts: 1000,
  maxTransactions: 10_000,
};

export interface SmtpSessionOptions<M> {
  id: string;
  info: ConnectionInfo;
  /** TLS from the first byte (port 465). */
  implicitTls: boolean;
  limits: SmtpLimits;
  messageSink?: MessageSinkFactory<M>;
  /** Compute each message's SHA-256 (data.sha256). */
  hashMessages: boolean;
  dialogue?: DialogueListener;
  /** Called once per session; `ready` settles when every message sink has finished. */
  onRecord: (record: SessionRecord<M>, ready: Promise<void> | null) => void;
}

const CR = 0x0d;
const LF = 0x0a;
const EMPTY_BYTES = Buffer.alloc(0);

/** RFC 5321 §4.5.3.1.4: a command line is at most 512 octets with its CRLF. */
const MAX_COMMAND_LINE = 512;
/** RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF. */
const MAX_REPLY_LINE = 512;
/** Lines of one multi-line reply kept (an EHLO reply has a few dozen); the rest are counted (`reply-cap`). */
const MAX_REPLY_LINES = 1000;

const KNOWN_VERBS = new Set([
  'HELO',
  'EHLO',
  'LHLO',
  'MAIL',
  'RCPT',
  'DATA',
  'BDAT',
  'RSET',
  'QUIT',
  'NOOP',
  'VRFY',
  'EXPN',
  'HELP',
  'ETRN',
  'TURN',
  'ATRN',
  'AUTH',
  'STARTTLS',
  'XCLIENT',
  'XFORWARD',
  'BURL',
  'SEND',
  'SOML',
  'SAML',
  'VERB',
  'ONEX',
  'XEXCH50',
  'X-EXPS',
  'X-LINK2STATE',
]);

enum ClientMode {
  Command,
  Data,
  Bdat,
  Tls,
}

type PendingKind =
  | 'helo'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'data-end'
  | 'bdat'
  | 'auth'
  | 'starttls'
  | 'rset'
  | 'quit'
  | 'xclient'
  /** LMTP: the reply for one more accepted recipient after the message (RFC 2033 §4.2). */
  | 'lmtp-delivery'
  | 'other';

/** A command (or the end of a message) waiting for its reply, with what the reply will decide. */
interface PendingReply<M> {
  kind: PendingKind;
  command: Command | null;
  tx: TransactionBuilder<M> | null;
  recipient?: Recipient;
  sasl?: SaslExchange;
  lastChunk?: boolean;
  /** MAIL: the transaction that was still open when it was sent (a refused nested MAIL leaves it open). */
  previous?: TransactionBuilder<M> | null;
  /** HELO/EHLO/LHLO: the record this command would make the session's `helo`. */
  helo?: Helo;
  /** Unlisted commands past the cap that this one entry stands for (each takes one reply). */
  repeat?: number;
  /** DATA: the client stream is already reading the message (no reply was waited for). */
  started?: boolean;
  /** RFC 2920 §3.1: a command after which the client must wait for the reply before sending more. */
  last?: boolean;
  /** XCLIENT / XFORWARD: the claim its reply completes. */
  claim?: ProxyClaim;
  /** A command was already reported as sent before this one's reply. */
  blamed?: boolean;
}

/** RFC 2920 §3.1 (EHLO, DATA, VRFY, EXPN, TURN, NOOP), RFC 3207 (STARTTLS), RFC 4954 (AUTH); QUIT has data-after-quit. */
const LAST_IN_GROUP = new Set(['EHLO', 'LHLO', 'DATA', 'VRFY', 'EXPN', 'TURN', 'NOOP', 'STARTTLS', 'AUTH']);

/** A TLS record as a server sends it first: handshake (0x16) or alert (0x15), major version 3. */
function looksLikeTlsRecord(bytes: Buffer, at: number): boolean {
  const type = bytes[at];
  return (type === 0x16 || type === 0x15) && (at + 1 >= bytes.length || bytes[at + 1] === 0x03);
}

/** Parameter values re-read as UTF-8 (lossy when not valid: the command's argHex keeps the bytes). */
function decodeParams(params: Params): Params {
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'string') params[key] = fromLatin1(value).text;
  }
  return params;
}

/** Client bytes (or a gap) held until the reply that decides how to read them. */
type HeldInput = { bytes: Buffer; at: PacketRef } | { gap: number; at: PacketRef };

/** The reassembler reuses its PacketRef: held input keeps its own copy. */
function copyRef(at: PacketRef): PacketRef {
  return { packet: at.packet, tsSec: at.tsSec, tsNsec: at.tsNsec };
}

/** Replies that decide what the client's next bytes are; the client stream waits for them. */
const GATING_KINDS = new Set<PendingKind>(['data', 'auth', 'starttls']);

/**
 * One SMTP connection: splits the client stream into commands, message content, SASL lines and
 * TLS; the server stream into replies; matches replies to commands in order (PIPELINING) and
 * builds the session record with its transactions.
 */
export class SmtpSession<M> implements StreamHandler {
  private readonly opts: SmtpSessionOptions<M>;
  // Made on each side's first bytes: a connection that never speaks costs no assembler.
  private clientLinesMade: LineAssembler | null = null;
  private serverLinesMade: LineAssembler | null = null;
  /** Message lines for the dialogue listener (the transcript); made only when there is one. */
  private bodyLinesMade: LineAssembler | null = null;
  private clientMode = ClientMode.Command;
  private serverTls = false;
  /** A gap just cut the command stream: the next line may be the tail of a lost one. */
  private clientAfterGap = false;
  private serverSkipToLineEnd = false;
  private unstufferMade: DotUnstuffer | null = null;
  private bdatRemaining = 0;
  private bdatLast = false;
  private dataTx: TransactionBuilder<M> | null = null;

  private readonly pending: PendingReply<M>[] = [];
  /** The command whose reply the client stream waits for, if any. */
  private gate: PendingReply<M> | null = null;
  private held: HeldInput[] = [];
  private heldBytes = 0;
  /** The AUTH whose exchange the client's next line belongs to, or null. */
  private saslItem: PendingReply<M> | null = null;

  private replyLines: ReplyLine[] = [];
  /** Continuation lines of the current reply read past MAX_REPLY_LINES and not kept. */
  private replyLinesDropped = 0;
  private greeting: Reply | null = null;
  /** The capture began mid-session: client lines are not trusted as commands until one parses. */
  private resyncing: boolean;
  /** Lines that may be the tail of a message, while resyncing. */
  private resyncTx: TransactionBuilder<M> | null = null;
  private repliesSeen = false;
  private greetingExpected: boolean;
  private serverSpoke = false;
  private quitSent = false;
  private quitAnomalyReported = false;

  private helo: Helo | null = null;
  private extensions: string[] = [];
  private ehlo: EhloCapabilities | null = null;
  private readonly xclient: ProxyClaim[] = [];
  /** The client spoke LHLO: after the message, one reply per accepted recipient. */
  private lmtp = false;
  private commandsUnlisted = 0;
  private authUnlisted = 0;
  private transactionsUnlisted = 0;
  /** The shared queue entry of each transaction's unlisted RCPTs (see overflowRecipient); made on the first. */
  private overflowItems: WeakMap<TransactionBuilder<M>, PendingReply<M>> | null = null;
  /** The newest pending command that must end a pipelined group, until its reply comes. */
  private lastItem: PendingReply<M> | null = null;
  /** Bare CRs in the current message, and whether the chunk before ended with a CR. */
  private dataBareCr = 0;
  private dataCrAtEnd = false;
  private readonly tls: TlsInfo;
  // Made when TLS starts: most sessions never need them (memory per open connection counts).
  private clientHandshakeMade: TlsHandshakeReader | null = null;
  private serverHandshakeMade: TlsHandshakeReader | null = null;
  /** STARTTLS was accepted and the server's first bytes after its 220 are still to come. */
  private serverTlsFirst = false;
  private readonly auth: SaslExchange[] = [];
  private readonly commands: Command[] = [];
  private readonly transactions: TransactionBuilder<M>[] = [];
  private current: TransactionBuilder<M> | null = null;
  private readonly anomalies: Anomaly[] = [];
  private unlistedAnomalies = 0;

  constructor(options: SmtpSessionOptions<M>) {
    this.opts = options;
    const { info } = options;
    this.greetingExpected = info.sawSyn || info.roleSource === 'syn-ack';
    this.resyncing = !this.greetingExpected && !options.implicitTls;
    this.tls = {
      offered: false,
      started: options.implicitTls,
      implicit: options.implicitTls,
      at: options.implicitTls ? this.ts(info.first) : null,
      version: null,
      sni: null,
      cipher: null,
      certificate: null,
      offeredVersions: null,
      plaintextMail: false,
    };
    if (options.implicitTls) {
      this.clientMode = ClientMode.Tls;
      this.serverTls = true;
      this.serverTlsFirst = true;
    }
  }

  private get clientLines(): LineAssembler {
    this.clientLinesMade ??= new LineAssembler(this.opts.limits.maxLineBytes);
    return this.clientLinesMade;
  }

  private get serverLines(): LineAssembler {
    this.serverLinesMade ??= new LineAssembler(this.opts.limits.maxLineBytes);
    return this.serverLinesMade;
  }

  private get bodyLines(): LineAssembler {
    this.bodyLinesMade ??= new LineAssembler(this.opts.limits.maxLineBytes);
    return this.bodyLinesMade;
  }

  private get unstuffer(): DotUnstuffer {
    this.unstufferMade ??= new DotUnstuffer();
    return this.unstufferMade;
  }

  private get clientHandshake(): TlsHandshakeReader {
    this.clientHandshakeMade ??= new TlsHandshakeReader('client', this.tls);
    return this.clientHandshakeMade;
  }

  private get serverHandshake(): TlsHandshakeReader {
    this.serverHandshakeMade ??= new TlsHandshakeReader('server', this.tls);
    return this.serverHandshakeMade;
  }

  // ---- StreamHandler ------------------------------------------------------------------------

  data(dir: Direction, bytes: Buffer, at: PacketRef): void {
    if (dir === Direction.ClientToServer) {
      if (this.gate) this.hold({ bytes: Buffer.from(bytes), at: copyRef(at) });
      else this.consumeClient(bytes, 0, at);
    } else {
      this.serverSpoke = true;
      this.consumeServer(bytes, at);
    }
  }

  gap(dir: Direction, length: number, at: PacketRef): void {
    if (dir === Direction.ClientToServer) {
      if (this.gate) this.hold({ gap: length, at: copyRef(at) });
      else this.clientGap(length, at);
    } else {
      this.emit(Direction.ServerToClient, 'gap', at, null, length);
      if (this.serverTls) return;
      this.serverLinesMade?.flush();
      this.replyLines = [];
      this.replyLinesDropped = 0;
      this.serverSkipToLineEnd = true;
      this.addAnomaly('gap-in-commands', at.packet, `${length} bytes of server replies missing`);
    }
  }

  anomaly(code: string, packet: number, detail: string): void {
    this.addAnomaly(code, packet, detail);
  }

  close(reason: CloseReason, counts: [DirectionCounts, DirectionCounts], at: PacketRef): void {
    // Each resolved gate may reveal the next command that waits for a reply never captured.
    while (this.gate) this.resolveGateWithoutReply('missing-reply', at);
    this.flushClientLine(at);
    this.flushServerLine(at);
    if (this.clientMode === ClientMode.Bdat && this.dataTx) this.flushBodyLines(at);
    const finishing = this.transactions.map((tx) => tx.finish()).filter((p) => p !== null);
    const transactions = this.transactions.map((tx, i) => {
      tx.record.index = i + 1;
      return tx.record;
    });
    if (this.commandsUnlisted > 0) {
      this.addAnomaly(
        'command-cap',
        at.packet,
        `${this.commandsUnlisted} further commands read but not listed`,
      );
    }
    if (this.transactionsUnlisted > 0)
      this.addAnomaly(
        'transaction-cap',
        at.packet,
        `${this.transactionsUnlisted} further transactions followed but not listed (their messages not read)`,
      );
    if (this.authUnlisted > 0)
      this.addAnomaly(
        'auth-cap',
        at.packet,
        `${this.authUnlisted} further AUTH attempts followed but not listed`,
      );
    if (this.unlistedAnomalies > 0) {
      this.anomalies.push({
        code: 'anomaly-cap',
        packet: at.packet,
        detail: `${this.unlistedAnomalies} further anomalies not listed`,
      });
    }
    const { info } = this.opts;
    const [client, server] = counts;
    const record: SessionRecord<M> = {
      id: this.opts.id,
      communityId: communityId(info.client, info.server),
      client: info.client,
      server: info.server,
      start: this.ts(info.first),
      end: this.ts(at),
      durationMs:
        Math.round(elapsedMs(info.first.tsSec, info.first.tsNsec, at.tsSec, at.tsNsec) * 1000) / 1000,
      state: this.state(reason, client, server),
      missingSide: client.packets === 0 ? 'client' : server.packets === 0 ? 'server' : null,
      greeting: this.greeting,
      helo: this.helo,
      extensions: this.extensions,
      ehlo: this.ehlo,
      xclient: this.xclient,
      tls: this.tls,
      auth: this.auth.map((exchange) => exchange.attempt),
      transactions,
      commands: this.commands,
      anomalies: this.anomalies,
      bytes: { client: client.delivered, server: server.delivered },
      duplicates: { client: client.duplicates, server: server.duplicates },
      gaps: { client: client.gaps, server: server.gaps },
    };
    this.opts.onRecord(record, finishing.length > 0 ? Promise.all(finishing).then(() => undefined) : null);
  }

  // ---- client stream ------------------------------------------------------------------------

  private consumeClient(buf: Buffer, start: number, at: PacketRef): void {
    let pos = start;
    while (pos < buf.length) {
      if (this.gate) {
        this.hold({ bytes: Buffer.from(buf.subarray(pos)), at: copyRef(at) });
        return;
      }
      switch (this.clientMode) {
        case ClientMode.Tls:
          this.emit(Direction.ClientToServer, 'tls', at, null, buf.length - pos);
          if (!this.clientHandshake.done) this.clientHandshake.push(buf.subarray(pos));
          return;
        case ClientMode.Data:
          pos = this.consumeData(buf, pos, at);
          break;
        case ClientMode.Bdat:
          pos = this.consumeBdat(buf, pos, at);
          break;
        case ClientMode.Command: {
          const next = this.clientLines.feed(buf, pos, buf.length);
          if (next < 0) return;
          pos = next;
          this.clientLine(this.clientLines.takeLine(), this.clientLines.dropped, at);
          break;
        }
      }
    }
  }

  private consumeData(buf: Buffer, start: number, at: PacketRef): number {
    const tx = this.dataTx;
    const end = this.unstuffer.push(buf, start, buf.length, tx);
    const stop = end < 0 ? buf.length : end;
    this.emitBody(buf, start, stop, at);
    this.countBareCr(buf, start, stop);
    if (end < 0) return buf.length;
    const form = this.unstuffer.endForm;
    if (form !== 'crlf.crlf') {
      this.addAnomaly('smuggling-sequence', at.packet, `message ended by ${form}`);
    }
    if (this.unstuffer.bareLineFeeds > 0) {
      this.addAnomaly(
        'bare-lf',
        at.packet,
        `${this.unstuffer.bareLineFeeds} message lines ended by a bare LF`,
      );
    }
    if (this.dataBareCr > 0) {
      this.addAnomaly('bare-cr', at.packet, `${this.dataBareCr} bare CRs in the message`);
    }
    this.dataBareCr = 0;
    this.dataCrAtEnd = false;
    this.clientMode = ClientMode.Command;
    if (tx) {
      tx.endData();
      tx.touch(this.ts(at));
    }
    this.pending.push({ kind: 'data-end', command: null, tx });
    this.dataTx = null;
    return end;
  }

  /** Counts CRs not followed by LF in message bytes (a CR at a chunk's end waits for the next). */
  private countBareCr(buf: Buffer, start: number, stop: number): void {
    if (this.dataCrAtEnd && start < stop && buf[start] !== LF) this.dataBareCr++;
    this.dataCrAtEnd = false;
    for (let i = buf.indexOf(CR, start); i >= 0 && i < stop; i = buf.indexOf(CR, i + 1)) {
      if (i + 1 < stop) {
        if (buf[i + 1] !== LF) this.dataBareCr++;
      } else this.dataCrAtEnd = true;
    }
  }

  private consumeBdat(buf: Buffer, start: number, at: PacketRef): number {
    const take = Math.min(this.bdatRemaining, buf.length - start);
    const chunk = buf.subarray(start, start + take);
    this.dataTx?.write(chunk);
    this.emitBody(buf, start, start + take, at);
    this.bdatRemaining -= take;
    if (this.bdatRemaining === 0) this.endBdatChunk(at);
    return start + take;
  }

  private endBdatChunk(at: PacketRef): void {
    this.flushBodyLines(at);
    this.clientMode = ClientMode.Command;
    if (this.bdatLast && this.dataTx) {
      this.dataTx.endData();
      this.dataTx.touch(this.ts(at));
    }
    this.dataTx = null;
  }

  private clientGap(length: number, at: PacketRef): void {
    this.emit(Direction.ClientToServer, 'gap', at, null, length);
    switch (this.clientMode) {
      case ClientMode.Tls:
        return;
      case ClientMode.Data:
        this.dataTx?.gap(length);
        this.unstuffer.resetAfterGap();
        this.bodyLinesMade?.flush();
        this.addAnomaly('gap-in-data', at.packet, `${length} bytes of the message missing`);
        return;
      case ClientMode.Bdat: {
        const inChunk = Math.min(length, this.bdatRemaining);
        this.dataTx?.gap(inChunk);
        this.bdatRemaining -= inChunk;
        this.addAnomaly('gap-in-data', at.packet, `${inChunk} bytes of a BDAT chunk missing`);
        if (this.bdatRemaining === 0) this.endBdatChunk(at);
        if (length > inChunk) this.commandGap(length - inChunk, at);
        return;
      }
      case ClientMode.Command:
        this.commandGap(length, at);
    }
  }

  private commandGap(length: number, at: PacketRef): void {
    this.clientLinesMade?.flush();
    this.clientAfterGap = true;
    this.addAnomaly('gap-in-commands', at.packet, `${length} bytes of client commands missing`);
  }

  private clientLine(line: Buffer, dropped: number, at: PacketRef): void {
    const text = lineText(line);
    const ending = lineEndingLength(line);
    if (ending === 1) this.addAnomaly('bare-lf', at.packet, 'command line ended by a bare LF');
    const cr = line.indexOf(CR);
    if (cr >= 0 && cr < line.length - ending)
      this.addAnomaly('bare-cr', at.packet, 'a CR without LF inside a command line');
    if (dropped > 0) this.addAnomaly('line-cap', at.packet, `${dropped} bytes of a command line dropped`);
    else if (line.length > MAX_COMMAND_LINE) {
      this.addAnomaly('line-too-long', at.packet, `command line of ${line.length} bytes`);
    }
    const authItem = this.saslItem;
    if (authItem) {
      this.emit(Direction.ClientToServer, 'sasl', at, line, line.length);
      this.saslItem = null;
      authItem.sasl?.response(text);
      // With the server's side in the capture, its next reply says what comes; without it,
      // the mechanism does (LOGIN sends two responses, PLAIN and CRAM-MD5 one).
      if (this.serverSpoke) this.gate = authItem;
      else if (authItem.sasl?.awaitingResponse) this.saslItem = authItem;
      return;
    }
    this.emit(Direction.ClientToServer, 'line', at, line, line.length);
    if (this.clientAfterGap) {
      this.clientAfterGap = false;
      // The hole may have ended on a line boundary or inside a line: a line that starts with a
      // known verb is a command, anything else is the tail of the line the hole cut.
      if (!KNOWN_VERBS.has(parseCommandLine(text).verb)) return;
    }
    if (this.quitSent && !this.quitAnomalyReported) {
      this.quitAnomalyReported = true;
      this.addAnomaly('data-after-quit', at.packet, 'client sent a command after QUIT');
    }
    if (this.greetingExpected && !this.serverSpoke && this.commands.length === 0) {
      this.addAnomaly('command-before-greeting', at.packet, 'client spoke before the server greeting');
    }
    const { verb, arg } = parseCommandLine(text);
    if (this.resyncing && this.resyncLine(line, text, verb, at)) return;
    const blocking = this.lastItem;
    if (blocking && !blocking.blamed && this.serverSpoke) {
      blocking.blamed = true;
      this.addAnomaly(
        'pipelining-after-last',
        at.packet,
        `${verb} sent before the reply to ${blocking.command?.verb ?? blocking.kind}, which must end a pipelined group`,
      );
    }
    const decoded = fromLatin1(arg);
    const command: Command = { ts: this.ts(at), packet: at.packet, verb, arg: decoded.text, reply: null };
    if (decoded.hex !== undefined) command.argHex = decoded.hex;
    if (this.commands.length < this.opts.limits.maxCommands) this.commands.push(command);
    else this.commandsUnlisted++;
    this.dispatchCommand(command, arg, at);
  }

  /**
   * A capture that starts mid-session may start inside a message. Until a line is a known
   * command, client lines are kept as the tail of a possible message; the end mark (a lone ".")
   * confirms it (a transaction whose start is missing), a command line discards it. Returns
   * true when the line was taken here.
   */
  private resyncLine(line: Buffer, text: string, verb: string, at: PacketRef): boolean {
    if (text === '.') {
      this.resyncing = false;
      const tx =
        this.resyncTx ??
        new TransactionBuilder<M>(0, this.ts(at), null, this.opts.messageSink, this.opts.hashMessages);
      this.resyncTx = null;
      tx.beginData('DATA');
      tx.startMissing = true;
      tx.endData();
      tx.touch(this.ts(at));
      this.transactions.push(tx);
      this.current = tx;
      this.pending.push({ kind: 'data-end', command: null, tx });
      this.addAnomaly(
        'midstream-data',
        at.packet,
        'the capture began inside a message: its start is missing',
      );
      return true;
    }
    if (KNOWN_VERBS.has(verb)) {
      this.resyncing = false;
      this.resyncTx = null;
      return false;
    }
    let tx = this.resyncTx;
    if (!tx) {
      tx = new TransactionBuilder<M>(0, this.ts(at), null, this.opts.messageSink, this.opts.hashMessages);
      tx.beginData('DATA');
      this.resyncTx = tx;
    }
    // Undo dot-stuffing as DATA would: a line that starts with "." lost one dot on the wire.
    tx.write(line[0] === 0x2e ? line.subarray(1) : line);
    return true;
  }

  /** `rawArg` is the argument one char per byte (latin1), so paths parse on the exact bytes. */
  private dispatchCommand(command: Command, rawArg: string, at: PacketRef): void {
    const { verb, arg } = command;
    switch (verb) {
      case 'HELO':
      case 'EHLO':
      case 'LHLO': {
        const helo: Helo = { verb, name: arg.trim(), reply: null };
        if (verb === 'LHLO') this.lmtp = true;
        // Until a greeting is accepted, the latest one tried is what the session shows.
        if (this.helo === null || !isPositive(this.helo.reply)) this.helo = helo;
        this.expect({ kind: 'helo', command, tx: this.current, helo });
        return;
      }
      case 'MAIL': {
        const path = parsePathArgument(rawArg, 'FROM');
        this.checkPath(path, at);
        if (this.tls.offered && !this.tls.started) this.tls.plaintextMail = true;
        // A refused MAIL opened nothing on the server, so it is not "open" for a nested-MAIL check.
        const open = this.current && !this.current.closed && !this.current.mailRefused;
        const previous = open ? this.current : null;
        const address = fromLatin1(path.address);
        const mailFrom: MailFrom = { address: address.text, params: decodeParams(path.params), reply: null };
        if (address.hex !== undefined) mailFrom.addressHex = address.hex;
        const tx = this.newTransaction(command.ts, mailFrom);
        this.expect({ kind: 'mail', command, tx, previous });
        return;
      }
      case 'RCPT': {
        const path = parsePathArgument(rawArg, 'TO');
        this.checkPath(path, at);
        const tx = this.openTransaction(command.ts);
        tx.touch(command.ts);
        if (tx.record.rcptTo.length >= this.opts.limits.maxRecipients) {
          this.overflowRecipient(tx, command, at);
          return;
        }
        const address = fromLatin1(path.address);
        const recipient: Recipient = {
          address: address.text,
          params: decodeParams(path.params),
          reply: null,
          accepted: false,
        };
        if (address.hex !== undefined) recipient.addressHex = address.hex;
        tx.addRecipient(recipient);
        this.expect({ kind: 'rcpt', command, tx, recipient });
        return;
      }
      case 'DATA':
        this.expect({ kind: 'data', command, tx: this.current });
        return;
      case 'BDAT':
        this.startBdat(command, at);
        return;
      case 'AUTH': {
        const [mechanism = '', initial] = arg.trim().split(/\s+/);
        const sasl = new SaslExchange(mechanism, initial ?? null, at.packet);
        if (this.auth.length < this.opts.limits.maxAuthAttempts) this.auth.push(sasl);
        else this.authUnlisted++;
        this.expect({ kind: 'auth', command, tx: null, sasl });
        return;
      }
      case 'STARTTLS':
        this.expect({ kind: 'starttls', command, tx: null });
        return;
      case 'RSET':
        this.endCurrent('rset');
        this.expect({ kind: 'rset', command, tx: null });
        return;
      case 'QUIT':
        this.endCurrent('quit');
        this.quitSent = true;
        this.expect({ kind: 'quit', command, tx: null });
        return;
      case 'XCLIENT':
      case 'XFORWARD': {
        const claim: ProxyClaim = {
          verb,
          packet: at.packet,
          attributes: parseProxyAttributes(arg),
          reply: null,
        };
        this.xclient.push(claim);
        this.expect({ kind: 'xclient', command, tx: null, claim });
        return;
      }
      default:
        if (!KNOWN_VERBS.has(verb))
          this.addAnomaly('unknown-command', at.packet, `unknown verb ${JSON.stringify(verb)}`);
        this.expect({ kind: 'other', command, tx: null });
    }
  }

  /**
   * A RCPT past the per-transaction cap is counted, not listed. Its reply must still be matched
   * in order, so it waits in the queue: as a shared placeholder when the command is not listed
   * either, so a flood of RCPTs costs one queue slot each and nothing more.
   */
  private overflowRecipient(tx: TransactionBuilder<M>, command: Command, at: PacketRef): void {
    const unlisted = (tx.record.rcptUnlisted ?? 0) + 1;
    tx.record.rcptUnlisted = unlisted;
    if (unlisted === 1) {
      this.addAnomaly(
        'too-many-recipients',
        at.packet,
        `more than ${this.opts.limits.maxRecipients} recipients in one transaction: the rest are counted`,
      );
    }
    const listed = this.commands[this.commands.length - 1] === command;
    if (listed) this.expect({ kind: 'rcpt', command, tx });
    else {
      this.overflowItems ??= new WeakMap();
      let item = this.overflowItems.get(tx);
      if (!item) {
        item = { kind: 'rcpt', command: null, tx };
        this.overflowItems.set(tx, item);
      }
      this.pending.push(item);
    }
  }

  private startBdat(command: Command, at: PacketRef): void {
    const match = /^\s*(\d{1,15})(\s+LAST)?\s*$/i.exec(command.arg);
    if (!match) {
      this.addAnomaly('invalid-bdat', at.packet, `BDAT argument ${JSON.stringify(command.arg)}`);
      this.expect({ kind: 'other', command, tx: null });
      return;
    }
    const size = Number(match[1]);
    const last = match[2] !== undefined;
    const tx = this.openTransaction(command.ts);
    const data = tx.beginData('BDAT');
    data.chunks?.push(size);
    this.expect({ kind: 'bdat', command, tx, lastChunk: last });
    this.dataTx = tx;
    this.bdatLast = last;
    this.bdatRemaining = size;
    this.clientMode = ClientMode.Bdat;
    if (size === 0) this.endBdatChunk(at);
  }

  private checkPath(path: ReturnType<typeof parsePathArgument>, at: PacketRef): void {
    if (!path.valid) this.addAnomaly('invalid-path', at.packet, 'path does not parse');
    if (path.junk !== null) {
      this.addAnomaly(
        'trailing-junk-after-path',
        at.packet,
        `junk ${JSON.stringify(path.junk)} after the path`,
      );
    }
  }

  private newTransaction(
    ts: string,
    mailFrom: TransactionBuilder<M>['record']['mailFrom'],
  ): TransactionBuilder<M> {
    const listed = this.transactions.length < this.opts.limits.maxTransactions;
    const tx = new TransactionBuilder<M>(
      this.transactions.length + 1,
      ts,
      mailFrom,
      listed ? this.opts.messageSink : undefined,
      listed && this.opts.hashMessages,
    );
    if (listed) this.transactions.push(tx);
    else this.transactionsUnlisted++;
    this.current = tx;
    return tx;
  }

  /** The open transaction, or a new one without MAIL FROM (a capture that began after it). */
  private openTransaction(ts: string): TransactionBuilder<M> {
    if (this.current && !this.current.closed) return this.current;
    return this.newTransaction(ts, null);
  }

  private endCurrent(by: 'rset' | 'quit' | 'helo'): void {
    this.current?.end(by);
    this.current = null;
  }

  private expect(item: PendingReply<M>): void {
    // Past the command cap, commands that decide nothing (no state rides on their reply) wait
    // as one run-length entry: a flood of unanswered lines cannot grow the queue.
    const tail = this.pending[this.pending.length - 1];
    if (item.kind === 'other' && this.commands.length >= this.opts.limits.maxCommands) {
      if (tail?.kind === 'other' && tail.repeat !== undefined) {
        tail.repeat++;
        return;
      }
      item.repeat = 1;
    }
    this.pending.push(item);
    if (item.command && LAST_IN_GROUP.has(item.command.verb)) {
      item.last = true;
      this.lastItem = item;
    }
    // A client that sends DATA, AUTH or STARTTLS before the server said anything at all is
    // either not waiting for replies or seen in a capture without the server's side: waiting
    // for a reply that may never come would only hold its bytes back.
    if (GATING_KINDS.has(item.kind) && this.serverSpoke) this.gate = item;
    else if (item.kind === 'data') this.beginDataMode(item);
    else if (item.kind === 'auth' && item.sasl?.awaitingResponse) this.saslItem = item;
  }

  private hold(input: HeldInput): void {
    this.held.push(input);
    const gate = this.gate;
    // Bytes held behind DATA or AUTH were sent before their reply (STARTTLS has its own anomaly).
    if ('bytes' in input && gate?.last && !gate.blamed && gate.kind !== 'starttls') {
      gate.blamed = true;
      this.addAnomaly(
        'pipelining-after-last',
        input.at.packet,
        `bytes sent before the reply to ${gate.command?.verb ?? gate.kind}, which must end a pipelined group`,
      );
    }
    if ('bytes' in input) this.heldBytes += input.bytes.length;
    if (this.heldBytes > this.opts.limits.maxPendingBytes)
      this.resolveGateWithoutReply('pending-cap', input.at);
  }

  /**
   * A client only sends after DATA, AUTH or STARTTLS once the server said go ahead (354, 334,
   * 220): when that reply is missing, the client's own bytes show it came.
   */
  private resolveGateWithoutReply(code: AnomalyCode, at: PacketRef): void {
    const gate = this.gate;
    if (!gate) return;
    this.addAnomaly(code, at.packet, `no reply seen to ${gate.command?.verb ?? gate.kind}; assumed accepted`);
    this.gate = null;
    if (gate.kind === 'data') this.beginDataMode(gate);
    else if (gate.kind === 'auth' && gate.sasl?.awaitingResponse) this.saslItem = gate;
    else if (gate.kind === 'starttls') this.startTls(at);
    this.releaseHeld();
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const input of held) {
      if (this.gate) this.hold(input);
      else if ('bytes' in input) this.consumeClient(input.bytes, 0, input.at);
      else this.clientGap(input.gap, input.at);
    }
  }

  private flushClientLine(at: PacketRef): void {
    if (this.clientMode !== ClientMode.Command) return;
    const partial = this.clientLinesMade?.flush() ?? null;
    if (partial && partial.length > 0) {
      this.clientLine(partial, this.clientLines.dropped, at);
    }
  }

  // ---- server stream ------------------------------------------------------------------------

  private consumeServer(buf: Buffer, at: PacketRef): void {
    let pos = 0;
    while (pos < buf.length) {
      if (this.serverTls) {
        if (this.serverTlsBytes(buf, pos, at)) return;
        continue;
      }
      if (this.serverSkipToLineEnd) {
        const lf = buf.indexOf(0x0a, pos);
        if (lf < 0) return;
        this.serverSkipToLineEnd = false;
        pos = lf + 1;
        continue;
      }
      const next = this.serverLines.feed(buf, pos, buf.length);
      if (next < 0) return;
      pos = next;
      this.serverLine(this.serverLines.takeLine(), this.serverLines.dropped, at);
    }
  }

  private serverLine(line: Buffer, dropped: number, at: PacketRef): void {
    this.emit(Direction.ServerToClient, 'line', at, line, line.length);
    if (lineEndingLength(line) === 1) this.addAnomaly('bare-lf', at.packet, 'reply line ended by a bare LF');
    if (dropped > 0) this.addAnomaly('line-cap', at.packet, `${dropped} bytes of a reply line dropped`);
    else if (line.length > MAX_REPLY_LINE)
      this.addAnomaly('line-too-long', at.packet, `reply line of ${line.length} bytes`);
    const parsed = parseReplyLine(lineText(line));
    if (parsed.code < 0) {
      this.addAnomaly('reply-line-without-code', at.packet, 'server line without a reply code');
      return;
    }
    if (parsed.continues && this.replyLines.length >= MAX_REPLY_LINES) {
      this.replyLinesDropped++;
      return;
    }
    this.replyLines.push(parsed);
    if (parsed.continues) return;
    this.endReply(at);
  }

  private endReply(at: PacketRef): void {
    if (this.replyLinesDropped > 0) {
      this.addAnomaly(
        'reply-cap',
        at.packet,
        `${this.replyLinesDropped} lines of a multi-line reply read but not kept`,
      );
      this.replyLinesDropped = 0;
    }
    const lines = this.replyLines;
    this.replyLines = [];
    this.handleReply(buildReply(lines, at.packet), lines, at);
  }

  private flushServerLine(at: PacketRef): void {
    if (this.serverTls) return;
    const partial = this.serverLinesMade?.flush() ?? null;
    if (partial && partial.length > 0 && !this.serverSkipToLineEnd) {
      this.serverLine(partial, this.serverLines.dropped, at);
    }
    if (this.replyLines.length > 0) this.endReply(at);
  }

  private handleReply(reply: Reply, lines: ReplyLine[], at: PacketRef): void {
    const first = !this.repliesSeen;
    this.repliesSeen = true;
    // The server's first reply on a connection whose start we saw is its greeting, even when
    // the client already spoke (commands sent before the greeting wait for later replies).
    if (first && (this.greetingExpected || (this.pending.length === 0 && reply.code === 220))) {
      this.greeting = reply;
      return;
    }
    const item = this.pending[0];
    if (!item) {
      // RFC 5321 §3.8: a server may announce 421 at any time; a midstream capture starts with
      // replies to commands it never saw.
      if (reply.code !== 421 && this.greetingExpected) {
        this.addAnomaly('reply-without-command', at.packet, `reply ${reply.code} answers no command`);
      }
      return;
    }
    const ts = this.ts(at);
    item.tx?.touch(ts);
    if (item.kind === 'auth' && reply.code === 334) {
      item.sasl?.challenge(reply.text);
      this.saslItem = item;
      this.releaseGate(item);
      return;
    }
    if (item.repeat !== undefined && item.repeat > 1) {
      item.repeat--;
      return;
    }
    this.pending.shift();
    if (item === this.lastItem) this.lastItem = null;
    if (item.command) item.command.reply = reply;
    switch (item.kind) {
      case 'helo':
        this.onHeloReply(item, reply, lines);
        break;
      case 'mail':
        this.onMailReply(item, reply, at);
        break;
      case 'rcpt':
        if (item.recipient) {
          item.recipient.reply = reply;
          item.recipient.accepted = isPositive(reply);
        }
        break;
      case 'data':
        if (reply.code >= 300 && reply.code < 400) {
          if (!item.started) this.beginDataMode(item);
        } else if (item.tx) item.tx.dataRefused = true;
        break;
      case 'data-end':
        item.tx?.setFinalReply(reply);
        if (this.lmtp && item.tx) this.expectDeliveries(item.tx, reply);
        break;
      case 'bdat':
        if (item.tx && isFailure(reply)) item.tx.dataRefused = true;
        if (item.lastChunk) {
          item.tx?.setFinalReply(reply);
          if (this.lmtp && item.tx) this.expectDeliveries(item.tx, reply);
        }
        break;
      case 'lmtp-delivery':
        if (item.recipient) item.recipient.delivery = reply;
        break;
      case 'xclient':
        if (item.claim) item.claim.reply = reply;
        break;
      case 'auth':
        if (item.sasl) {
          item.sasl.attempt.reply = reply;
          item.sasl.attempt.success = isPositive(reply);
        }
        this.saslItem = null;
        break;
      case 'starttls':
        if (reply.code === 220) this.startTls(at);
        break;
      default:
        break;
    }
    this.releaseGate(item);
  }

  /**
   * LMTP (RFC 2033 §4.2): after the message the server replies once per accepted recipient, in
   * RCPT order. The reply just handled is the first; the others come before any reply to what
   * the client pipelined after the message, so they go to the front of the queue.
   */
  private expectDeliveries(tx: TransactionBuilder<M>, first: Reply): void {
    const accepted = tx.record.rcptTo.filter((r) => r.accepted);
    for (const r of tx.record.rcptTo) r.delivery = null;
    if (accepted.length === 0) return;
    accepted[0].delivery = first;
    const rest = accepted
      .slice(1)
      .map((recipient): PendingReply<M> => ({ kind: 'lmtp-delivery', command: null, tx, recipient }));
    this.pending.unshift(...rest);
  }

  private releaseGate(item: PendingReply<M>): void {
    if (this.gate !== item) return;
    this.gate = null;
    this.releaseHeld();
  }

  private onMailReply(item: PendingReply<M>, reply: Reply, at: PacketRef): void {
    const tx = item.tx;
    if (!tx) return;
    if (tx.record.mailFrom) tx.record.mailFrom.reply = reply;
    const previous = item.previous;
    if (isPositive(reply)) {
      // The server took a new MAIL: whatever was open before is over.
      previous?.end(null);
      return;
    }
    if (previous && !previous.closed) {
      // A MAIL refused inside an open transaction (503 nested MAIL) changes nothing: what was
      // pipelined after it belongs to the transaction the server still has open.
      this.addAnomaly(
        'nested-mail',
        at.packet,
        `MAIL refused with ${reply.code} while a transaction was open`,
      );
      this.absorb(tx, previous);
      return;
    }
    tx.mailRefused = true;
  }

  /** Folds a transaction that never existed on the server into the one that did. */
  private absorb(tx: TransactionBuilder<M>, into: TransactionBuilder<M>): void {
    for (const recipient of tx.record.rcptTo) into.addRecipient(recipient);
    for (const item of this.pending) if (item.tx === tx) item.tx = into;
    if (this.current === tx) this.current = into;
    if (this.dataTx === tx) this.dataTx = into;
    const listedAt = this.transactions.indexOf(tx);
    if (listedAt >= 0) this.transactions.splice(listedAt, 1);
  }

  private onHeloReply(item: PendingReply<M>, reply: Reply, lines: ReplyLine[]): void {
    const command = item.command;
    const helo = item.helo;
    if (!command || !helo) return;
    helo.reply = reply;
    const accepted = isPositive(reply);
    if (accepted) this.helo = helo;
    if (!accepted) return;
    if (command.verb !== 'HELO') {
      this.extensions = lines.slice(1).map((l) => l.text);
      this.ehlo = parseEhloExtensions(this.extensions);
      this.tls.offered = this.ehlo.starttls;
    }
    // An accepted greeting resets the envelope (RFC 5321 §4.1.4).
    if (item.tx && item.tx === this.current) this.endCurrent('helo');
    else item.tx?.end('helo');
  }

  private beginDataMode(item: PendingReply<M>): void {
    item.started = true;
    const tx = item.tx && !item.tx.dataEnded ? item.tx : this.newTransaction(item.command?.ts ?? '', null);
    tx.beginData('DATA');
    this.dataTx = tx;
    this.unstufferMade = new DotUnstuffer();
    this.clientMode = ClientMode.Data;
  }

  private startTls(at: PacketRef): void {
    this.tls.started = true;
    this.tls.at = this.ts(at);
    this.serverTls = true;
    this.serverTlsFirst = true;
    this.clientMode = ClientMode.Tls;
    // Bytes held at this point were sent before the server's 220 reached the capture point.
    for (const input of this.held) {
      if (!('bytes' in input)) continue;
      this.addAnomaly(
        'starttls-injection',
        input.at.packet,
        `${input.bytes.length} bytes sent before the TLS handshake`,
      );
      this.emit(Direction.ClientToServer, 'line', input.at, input.bytes, input.bytes.length);
    }
    this.held = [];
    this.heldBytes = 0;
  }

  /** Server bytes once TLS began: handshake facts are read; plaintext first is injection. */
  private serverTlsBytes(buf: Buffer, pos: number, at: PacketRef): boolean {
    if (this.serverTlsFirst) {
      if (this.opts.implicitTls && !looksLikeTlsRecord(buf, pos)) {
        // A server on an implicit-TLS port that greets in plaintext (seen in the wild: it
        // answers the client's ClientHello with "220 ..."): its side is read as SMTP.
        this.serverTlsFirst = false;
        this.serverTls = false;
        this.tls.started = false;
        this.tls.at = null;
        this.addAnomaly(
          'plaintext-on-tls-port',
          at.packet,
          'the server answered in plaintext on an implicit-TLS port',
        );
        return false;
      }
      if (!looksLikeTlsRecord(buf, pos)) {
        // Plaintext after the server's 220 (from the server or a man in the middle) would be
        // read by a careless client as replies protected by TLS (CVE-2011-0411's mirror image).
        const bytes = buf.subarray(pos);
        this.addAnomaly(
          'starttls-injection',
          at.packet,
          `server sent ${bytes.length} bytes of plaintext after its 220 to STARTTLS`,
        );
        this.emit(Direction.ServerToClient, 'line', at, bytes, bytes.length);
        return true;
      }
      this.serverTlsFirst = false;
    }
    this.emit(Direction.ServerToClient, 'tls', at, null, buf.length - pos);
    if (!this.serverHandshake.done) this.serverHandshake.push(buf.subarray(pos));
    return true;
  }

  // ---- helpers ------------------------------------------------------------------------------

  private emitBody(buf: Buffer, start: number, end: number, at: PacketRef): void {
    if (!this.opts.dialogue) return;
    let pos = start;
    while (pos < end) {
      const next = this.bodyLines.feed(buf, pos, end);
      if (next < 0) return;
      pos = next;
      const line = this.bodyLines.takeLine();
      this.emit(Direction.ClientToServer, 'body', at, line, line.length);
    }
  }

  private flushBodyLines(at: PacketRef): void {
    const partial = this.bodyLinesMade?.flush() ?? null;
    if (partial && partial.length > 0)
      this.emit(Direction.ClientToServer, 'body', at, partial, partial.length);
  }

  private emit(
    dir: Direction,
    kind: DialogueKind,
    at: PacketRef,
    bytes: Buffer | null,
    length: number,
  ): void {
    const listener = this.opts.dialogue;
    if (!listener) return;
    listener(this.opts.id, {
      dir,
      kind,
      ts: this.ts(at),
      packet: at.packet,
      bytes: bytes ?? EMPTY_BYTES,
      length,
    });
  }

  private addAnomaly(code: string, packet: number, detail: string): void {
    if (this.anomalies.length >= this.opts.limits.maxAnomalies) {
      this.unlistedAnomalies++;
      return;
    }
    this.anomalies.push({ code, packet, detail });
  }

  private ts(at: PacketRef): string {
    return isoTime(at.tsSec, at.tsNsec, this.opts.info.tsDigits);
  }

  private state(reason: CloseReason, client: DirectionCounts, server: DirectionCounts): SessionState {
    const { info } = this.opts;
    if (!info.sawSyn && info.roleSource !== 'syn-ack') return 'midstream';
    if (
      client.gaps > 0 ||
      server.gaps > 0 ||
      reason === 'end-of-capture' ||
      reason === 'idle' ||
      reason === 'evicted'
    ) {
      return this.quitSent && reason !== 'evicted' && client.gaps === 0 && server.gaps === 0
        ? 'complete'
        : 'truncated';
    }
    if (reason === 'rst') return 'reset';
    return 'complete';
  }
}
