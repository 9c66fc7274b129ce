/**
 * SMTP on any port: a connection off the SMTP ports is watched by a probe that keeps its first
 * bytes. Once one side has greeted with a 220 line and the other has said HELO, EHLO or LHLO
 * (in either order: a capture can start with either), the probe becomes an SmtpSession and hands
 * it everything it held. When the connection is clearly something else, the probe drops what it
 * held and ignores the rest.
 */
import {
  type CloseReason,
  type ConnectionInfo,
  Direction,
  type DirectionCounts,
  type PacketRef,
  type StreamHandler,
} from '../tcp/stream.js';

/** Bytes kept per direction while undecided: a greeting and an EHLO fit many times over. */
export const PROBE_CAP = 4096;

const GREETING = /^220(?:[ -]|\r?$)/;
const HELLO = /^(?:HELO|EHLO|LHLO)(?:[ \t]|\r?$)/i;

type ProbeEvent =
  | { kind: 'data'; dir: Direction; bytes: Buffer; at: PacketRef }
  | { kind: 'gap'; dir: Direction; length: number; at: PacketRef }
  | { kind: 'anomaly'; code: string; packet: number; detail: string };

/** Gets the SmtpSession for a connection the probe found to be SMTP (roles possibly swapped). */
export type SessionMaker = (info: ConnectionInfo) => StreamHandler;

export interface ProbeOutcome {
  /** Called once, when the probe decides (true: SMTP, a session was made). */
  decided(smtp: boolean): void;
}

/** A control byte no SMTP text line carries (TAB, LF, CR are text). */
function isBinary(byte: number): boolean {
  return (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) || byte === 0x7f;
}

/** The text of one direction's first bytes, line by line. */
class SideText {
  bytes = 0;
  binary = false;
  /** Complete lines seen so far (without line ends); the partial one is `tail`. */
  readonly lines: string[] = [];
  private tail = '';

  push(buf: Buffer, room: number): void {
    const take = buf.subarray(0, Math.max(0, room));
    for (const byte of take) {
      if (isBinary(byte)) {
        this.binary = true;
        return;
      }
    }
    this.bytes += buf.length;
    const text = this.tail + take.toString('latin1');
    const parts = text.split('\n');
    this.tail = parts.pop() ?? '';
    this.lines.push(...parts);
  }

  /** A gap: whatever line was open is cut there. */
  gap(): void {
    if (this.tail !== '') this.lines.push(`${this.tail}\u0000`);
    this.tail = '';
  }

  has(pattern: RegExp): boolean {
    return this.lines.some((line) => pattern.test(line));
  }
}

/**
 * Watches a connection off the SMTP ports. `info` holds the reassembler's guess at the roles;
 * without a handshake in the capture, the side that sends the 220 is taken as the server.
 */
export class SmtpProbe implements StreamHandler {
  private readonly events: ProbeEvent[] = [];
  private readonly sides: [SideText, SideText] = [new SideText(), new SideText()];
  private session: StreamHandler | null = null;
  private rejected = false;
  /** The session sees the directions the other way round (the greeting came from the "client"). */
  private swapped = false;

  constructor(
    private readonly info: ConnectionInfo,
    private readonly makeSession: SessionMaker,
    private readonly outcome: ProbeOutcome,
  ) {}

  data(dir: Direction, bytes: Buffer, at: PacketRef): void {
    if (this.session) {
      this.session.data(this.map(dir), bytes, at);
      return;
    }
    if (this.rejected) return;
    const side = this.sides[dir];
    side.push(bytes, PROBE_CAP - side.bytes);
    this.events.push({ kind: 'data', dir, bytes: Buffer.from(bytes), at: copyRef(at) });
    this.decide();
  }

  gap(dir: Direction, length: number, at: PacketRef): void {
    if (this.session) {
      this.session.gap(this.map(dir), length, at);
      return;
    }
    if (this.rejected) return;
    this.sides[dir].gap();
    this.events.push({ kind: 'gap', dir, length, at: copyRef(at) });
  }

  anomaly(code: string, packet: number, detail: string): void {
    if (this.session) this.session.anomaly(code, packet, detail);
    else if (!this.rejected) this.events.push({ kind: 'anomaly', code, packet, detail });
  }

  close(reason: CloseReason, counts: [DirectionCounts, DirectionCounts], at: PacketRef): void {
    if (this.session) {
      this.session.close(reason, this.swapped ? [counts[1], counts[0]] : counts, at);
      return;
    }
    // The connection ended before it showed an SMTP greeting and hello: not SMTP.
    if (!this.rejected) this.reject();
  }

  private map(dir: Direction): Direction {
    if (!this.swapped) return dir;
    return dir === Direction.ClientToServer ? Direction.ServerToClient : Direction.ClientToServer;
  }

  private decide(): void {
    const [client, server] = this.sides;
    if (client.binary || server.binary) {
      this.reject();
      return;
    }
    const rolesKnown = this.info.sawSyn || this.info.roleSource === 'syn-ack';
    if (rolesKnown && server.lines.length > 0 && !GREETING.test(server.lines[0])) {
      // With the handshake in the capture, the server's very first line is its greeting.
      this.reject();
      return;
    }
    if (server.has(GREETING) && client.has(HELLO)) this.accept(false);
    else if (!rolesKnown && client.has(GREETING) && server.has(HELLO)) this.accept(true);
    else if (client.bytes >= PROBE_CAP || server.bytes >= PROBE_CAP) this.reject();
  }

  private accept(swap: boolean): void {
    this.swapped = swap;
    const info: ConnectionInfo = swap
      ? { ...this.info, client: this.info.server, server: this.info.client, roleSource: 'content' }
      : this.info;
    const session = this.makeSession(info);
    this.session = session;
    this.outcome.decided(true);
    for (const event of this.events) {
      if (event.kind === 'data') session.data(this.map(event.dir), event.bytes, event.at);
      else if (event.kind === 'gap') session.gap(this.map(event.dir), event.length, event.at);
      else session.anomaly(event.code, event.packet, event.detail);
    }
    this.events.length = 0;
  }

  private reject(): void {
    this.rejected = true;
    this.events.length = 0;
    this.sides[0].lines.length = 0;
    this.sides[1].lines.length = 0;
    this.outcome.decided(false);
  }
}

function copyRef(at: PacketRef): PacketRef {
  return { packet: at.packet, tsSec: at.tsSec, tsNsec: at.tsNsec };
}
