import { TcpFlag, type TcpSegment } from '../decode/tcp-segment.js';
import {
  Connection,
  ConnectionTable,
  connectionInfo,
  DEFAULT_SERVER_PORTS,
  decideRoles,
  NO_ISN,
} from './connection-table.js';
import { HalfStream, type HalfStreamLimits } from './half-stream.js';
import { seqDiff } from './seq.js';
import { type CloseReason, Direction, type PacketRef, type StreamFactory } from './stream.js';

const SYN = TcpFlag.SYN;
const ACK = TcpFlag.ACK;
const RST = TcpFlag.RST;

export interface TcpReassemblerOptions {
  /** Cheap port filter run before any other work; default: every packet. */
  isCandidate?: (srcPort: number, dstPort: number) => boolean;
  /** Ports that mark the server side when no handshake was seen; default 25, 465, 587, 2525. */
  serverPorts?: ReadonlySet<number>;
  /** Out-of-order bytes held per direction before a gap is forced; default 4 MiB. */
  maxBufferedBytesPerDirection?: number;
  /**
   * Out-of-order bytes held by all connections together; past it the direction that adds bytes
   * forces its gap. Default 8 MiB: 200 connections each 4 MiB ahead would hold 800 MB.
   */
  maxBufferedBytes?: number;
  /**
   * Connection slots (tombstones of closed connections included, and the factory's extraSlots);
   * past it the least recently active connection is evicted. Default 5,000: an open one costs
   * about 6 KB with its SMTP session, one reading a message four times that, and a flood that
   * churns through them keeps a multiple of what is open in V8's heap (README, Limits).
   */
  maxConnections?: number;
  /** Capture seconds without a packet after which a connection is closed; default 600. */
  idleTimeoutSec?: number;
  /** Delivered bytes kept per direction to check retransmissions against; default 32 KiB, 0 = off. */
  overlapCheckBytes?: number;
}

export const REASSEMBLER_DEFAULTS = {
  maxBufferedBytesPerDirection: 4 * 1024 * 1024,
  maxBufferedBytes: 8 * 1024 * 1024,
  maxConnections: 5_000,
  idleTimeoutSec: 600,
  overlapCheckBytes: 32 * 1024,
} as const;

const acceptAll = (): boolean => true;

/**
 * Capture seconds a connection stays open after its RST (and its last packet): segments sent
 * before the RST can be written after it (a TAP merging two directions, a reordering switch).
 */
export const RESET_LINGER_SEC = 2;

/**
 * Turns TCP segments, in capture order, into per-connection ordered byte streams (gopacket's
 * assembler): a StreamFactory makes one handler per connection and receives data, gaps,
 * anomalies and one close, both directions interleaved in capture order.
 */
export class TcpReassembler {
  private readonly factory: StreamFactory;
  private readonly isCandidate: (srcPort: number, dstPort: number) => boolean;
  private readonly serverPorts: ReadonlySet<number>;
  private readonly maxConnections: number;
  private readonly idleTimeoutSec: number;
  private readonly limits: HalfStreamLimits;
  /** Streams holding views into pushed segments' buffers since the last releaseBuffers(). */
  private readonly holdingViews: HalfStream[] = [];
  private readonly table = new ConnectionTable();
  /** The current packet, reused for every push (see StreamHandler: `at` is valid during a call). */
  private readonly cur: PacketRef = { packet: 0, tsSec: 0, tsNsec: 0 };
  private nowSec = -Infinity;
  private nextSweepSec = -Infinity;
  /** Connections that saw an RST and are still open (see closeResets). */
  private resets: Connection[] = [];

  constructor(factory: StreamFactory, options: TcpReassemblerOptions = {}) {
    this.factory = factory;
    this.isCandidate = options.isCandidate ?? acceptAll;
    this.serverPorts = options.serverPorts ?? DEFAULT_SERVER_PORTS;
    this.maxConnections = Math.max(1, options.maxConnections ?? REASSEMBLER_DEFAULTS.maxConnections);
    this.idleTimeoutSec = options.idleTimeoutSec ?? REASSEMBLER_DEFAULTS.idleTimeoutSec;
    this.limits = {
      maxBuffered: options.maxBufferedBytesPerDirection ?? REASSEMBLER_DEFAULTS.maxBufferedBytesPerDirection,
      pool: { held: 0, max: options.maxBufferedBytes ?? REASSEMBLER_DEFAULTS.maxBufferedBytes },
      overlapCheckBytes: options.overlapCheckBytes ?? REASSEMBLER_DEFAULTS.overlapCheckBytes,
    };
  }

  private advanceClock(now: number): void {
    if (now <= this.nowSec) return;
    this.nowSec = now;
    // Idle connections are swept at most once per capture second, never per packet.
    if (now >= this.nextSweepSec) {
      this.nextSweepSec = now + 1;
      this.table.expire(now, this.idleTimeoutSec, this.onIdle);
      this.closeResets(now);
    }
  }

  /** Connections in the table, tombstones of closed ones included. */
  get connectionCount(): number {
    return this.table.size;
  }

  /**
   * A segment of a connection that another reassembler follows (a worker's shard): only its
   * time counts, so idle connections here time out at the same packet as on one thread.
   */
  passBy(seg: TcpSegment): void {
    if (this.isCandidate(seg.srcPort, seg.dstPort)) this.advanceClock(seg.tsSec);
  }

  push(seg: TcpSegment): void {
    if (!this.isCandidate(seg.srcPort, seg.dstPort)) return;
    const now = seg.tsSec;
    this.advanceClock(now);
    const cur = this.cur;
    cur.packet = seg.packet;
    cur.tsSec = seg.tsSec;
    cur.tsNsec = seg.tsNsec;

    const table = this.table;
    let conn = table.find(seg);
    const srcIsLow = table.srcIsLow;
    const flags = seg.flags;
    if (conn === undefined) {
      // A bare ACK, FIN or RST of an unknown connection carries nothing to report.
      if ((flags & SYN) === 0 && seg.payload.length === 0 && seg.missingPayload === 0) return;
      conn = this.open(table.keyOf(seg), seg, srcIsLow);
    } else if (
      (flags & (SYN | ACK)) === SYN &&
      !(seg.seq === conn.clientIsn && srcIsLow === conn.lowIsClient)
    ) {
      // A SYN with a new ISN: the 4-tuple is being reused (TIME_WAIT, or a connection we lost).
      this.replaced(conn);
      conn = this.open(table.keyOf(seg), seg, srcIsLow);
    } else {
      table.touch(conn);
      conn.lastSec = now;
      const last = conn.last;
      last.packet = seg.packet;
      last.tsSec = seg.tsSec;
      last.tsNsec = seg.tsNsec;
    }

    const halves = conn.halves;
    if (halves === null) return; // declined by the factory, or closed
    const dir = srcIsLow === conn.lowIsClient ? Direction.ClientToServer : Direction.ServerToClient;
    const half = halves[dir];
    const peer = halves[1 - dir];
    // The ACK first: bytes of the peer it proves lost come before this packet's own data.
    if ((flags & (ACK | RST)) === ACK)
      peer.acked(seg.ack, seg.payload.length !== 0 || seg.missingPayload !== 0, cur);
    half.segment(seg.seq, flags, seg.payload, seg.missingPayload, cur);
    if ((flags & RST) !== 0 && !conn.reset) {
      // Not closed yet: a capture can hold the RST before the last data of either side.
      conn.reset = true;
      conn.rstSeq = seg.seq;
      conn.rstDir = dir;
      this.resets.push(conn);
    } else if (!conn.reset && half.ended && peer.ended) this.close(conn, 'fin', cur);
  }

  /**
   * The buffers behind the payloads pushed so far are about to be reused: copy what is kept of
   * them. Call it before reusing a buffer that segments pointed into (once per read chunk).
   */
  releaseBuffers(): void {
    const streams = this.holdingViews;
    for (let i = 0; i < streams.length; i++) streams[i].releaseBuffers();
    streams.length = 0;
  }

  /** End of capture: every connection delivers what it holds (after gaps) and closes. */
  finish(): void {
    this.table.drain((conn) => {
      if (conn.halves !== null) this.close(conn, 'end-of-capture', conn.last);
    });
  }

  private open(key: string, seg: TcpSegment, srcIsLow: boolean): Connection {
    while (this.table.size + (this.factory.extraSlots?.() ?? 0) >= this.maxConnections && this.evictOldest());
    const roles = decideRoles(seg, this.serverPorts);
    const handler = this.factory.open(connectionInfo(seg, roles));
    const isn = roles.roleSource === 'syn' ? seg.seq : NO_ISN;
    const conn = new Connection(key, srcIsLow === roles.srcIsClient, handler, isn, this.cur);
    if (handler !== null) {
      conn.halves = [
        new HalfStream(handler, Direction.ClientToServer, this.limits, this.holdingViews),
        new HalfStream(handler, Direction.ServerToClient, this.limits, this.holdingViews),
      ];
    }
    this.table.add(conn);
    return conn;
  }

  /** The old connection on a reused 4-tuple ends before the new one starts. */
  private replaced(conn: Connection): void {
    this.table.remove(conn);
    const halves = conn.halves;
    if (halves === null) return;
    const finished =
      conn.reset || halves[0].ended || halves[1].ended || halves[0].finSeq !== -1 || halves[1].finSeq !== -1;
    if (!finished) {
      conn.handler!.anomaly(
        'syn-on-open-connection',
        this.cur.packet,
        `a SYN with a new initial sequence number reused the 4-tuple of this open connection`,
      );
    }
    this.close(conn, finished ? 'fin' : 'evicted', conn.last);
  }

  /** False when the table is empty. */
  private evictOldest(): boolean {
    const conn = this.table.oldest;
    if (conn === null) return false;
    this.table.remove(conn);
    if (conn.halves === null) return true; // a tombstone or a declined connection: nothing to tell
    conn.handler!.anomaly(
      'connection-cap',
      this.cur.packet,
      `more than ${this.maxConnections} connection slots in use: this least recently active connection was closed`,
    );
    this.close(conn, 'evicted', conn.last);
    return true;
  }

  /**
   * Closes connections whose RST is RESET_LINGER_SEC of capture time old (counted from their
   * last packet) once nothing they hold can still be filled; the others wait for the idle
   * timeout or the end of the capture.
   */
  private closeResets(now: number): void {
    if (this.resets.length === 0) return;
    const waiting: Connection[] = [];
    for (const conn of this.resets) {
      const halves = conn.halves;
      if (halves === null) continue;
      if (now - conn.lastSec > RESET_LINGER_SEC && resetSettled(conn, halves))
        this.close(conn, 'rst', conn.last);
      else waiting.push(conn);
    }
    this.resets = waiting;
  }

  private readonly onIdle = (conn: Connection): void => {
    if (conn.halves !== null) this.close(conn, 'idle', conn.last);
  };

  /** Flushes both directions, calls close once, and leaves a tombstone (if still in the table). */
  private close(conn: Connection, reason: CloseReason, at: PacketRef): void {
    const halves = conn.halves;
    const handler = conn.handler;
    if (halves === null || handler === null) return;
    conn.halves = null;
    conn.handler = null;
    halves[0].flush(at);
    halves[1].flush(at);
    // A connection kept open after its RST for late segments still ended by that RST.
    const why = conn.reset && reason !== 'evicted' ? 'rst' : reason;
    handler.close(why, [halves[0].counts, halves[1].counts], at);
    halves[0].release();
    halves[1].release();
  }
}

/**
 * Whether a connection that saw an RST can close: the sender's bytes before the RST's sequence
 * number have all arrived and the peer waits on no hole. Until then late segments are still
 * placed; the idle timeout or the end of the capture closes it otherwise. No gap is declared
 * from the RST's number alone: it is no proof that the bytes before it were sent.
 */
function resetSettled(conn: Connection, halves: [HalfStream, HalfStream]): boolean {
  const sender = halves[conn.rstDir];
  const ahead = sender.started && !sender.ended && seqDiff(conn.rstSeq, sender.next) > 0;
  return !ahead && !halves[1 - conn.rstDir].holding;
}
