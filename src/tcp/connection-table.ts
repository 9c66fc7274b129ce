import { formatAddress } from '../decode/address.js';
import { TcpFlag, type TcpSegment } from '../decode/tcp-segment.js';
import type { HalfStream } from './half-stream.js';
import type { ConnectionInfo, PacketRef, StreamHandler } from './stream.js';

/** Ports whose side is the server when no handshake packet tells (SMTP, SMTPS, submission, alt). */
export const DEFAULT_SERVER_PORTS: ReadonlySet<number> = new Set([25, 465, 587, 2525]);

/** Client's initial sequence number not seen (sequence numbers are unsigned). */
export const NO_ISN = -1;

/**
 * One TCP connection (or what remains of it). A connection stays in the table after it closed,
 * as a tombstone without handler or halves, so the last ACK of a FIN exchange or a late
 * retransmission does not open a phantom midstream connection; a new SYN replaces it.
 */
export class Connection {
  readonly key: string;
  /** Whether the canonical "low" endpoint (see keyOf) is the client. */
  readonly lowIsClient: boolean;
  /** Null when the factory declined the connection or once it closed. */
  handler: StreamHandler | null;
  /** [client->server, server->client]; null when ignored or closed. */
  halves: [HalfStream, HalfStream] | null = null;
  /** Sequence number of the client's SYN, to tell a retransmitted SYN from port reuse. */
  clientIsn: number;
  /** An RST was seen: the connection closes once the bytes before it arrived (see resetSettled). */
  reset = false;
  /** Sequence number of that RST, and the direction that sent it. */
  rstSeq = 0;
  rstDir = 0;
  /** Capture second of the last packet (idle timeouts need no finer grain). */
  lastSec: number;
  /** The last packet of the connection (a per-connection object, updated in place). */
  readonly last: PacketRef;
  // Least-recently-active list: head is the oldest.
  prev: Connection | null = null;
  next: Connection | null = null;

  constructor(
    key: string,
    lowIsClient: boolean,
    handler: StreamHandler | null,
    clientIsn: number,
    at: PacketRef,
  ) {
    this.key = key;
    this.lowIsClient = lowIsClient;
    this.handler = handler;
    this.clientIsn = clientIsn;
    this.lastSec = at.tsSec;
    this.last = { packet: at.packet, tsSec: at.tsSec, tsNsec: at.tsNsec };
  }
}

export interface Roles {
  srcIsClient: boolean;
  roleSource: ConnectionInfo['roleSource'];
}

/**
 * Who is the client, decided from the first packet of a connection: the SYN sender; else the
 * receiver of a SYN-ACK; else the side not on a server port (both on one: the lower port is the
 * server); else the sender of an SMTP reply line is the server (of anything else, the client);
 * else the packet's destination is taken as the server.
 */
export function decideRoles(seg: TcpSegment, serverPorts: ReadonlySet<number>): Roles {
  const syn = (seg.flags & TcpFlag.SYN) !== 0;
  const ack = (seg.flags & TcpFlag.ACK) !== 0;
  if (syn && !ack) return { srcIsClient: true, roleSource: 'syn' };
  if (syn && ack) return { srcIsClient: false, roleSource: 'syn-ack' };
  const srcServer = serverPorts.has(seg.srcPort);
  const dstServer = serverPorts.has(seg.dstPort);
  if (srcServer && dstServer && seg.srcPort !== seg.dstPort) {
    return { srcIsClient: seg.srcPort > seg.dstPort, roleSource: 'port' };
  }
  if (srcServer !== dstServer) return { srcIsClient: dstServer, roleSource: 'port' };
  // Neither the handshake nor the ports tell (both ends on one port): SMTP replies start with
  // three digits, commands never do.
  if (seg.payload.length !== 0) return { srcIsClient: !isReplyStart(seg.payload), roleSource: 'content' };
  return { srcIsClient: true, roleSource: 'first-packet' };
}

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Whether bytes begin like an SMTP reply line: three digits, then a space, '-' or the line end. */
function isReplyStart(b: Buffer): boolean {
  if (b.length < 3) return false;
  for (let i = 0; i < 3; i++) if (b[i] < DIGIT_0 || b[i] > DIGIT_9) return false;
  if (b.length === 3) return true;
  const c = b[3];
  return c === 0x20 || c === 0x2d || c === 0x0d || c === 0x0a;
}

/** The ConnectionInfo handed to the factory: the only place addresses become strings. */
export function connectionInfo(seg: TcpSegment, roles: Roles): ConnectionInfo {
  const src = { ip: formatAddress(seg.ipBuffer, seg.srcAddrOffset, seg.family), port: seg.srcPort };
  const dst = { ip: formatAddress(seg.ipBuffer, seg.dstAddrOffset, seg.family), port: seg.dstPort };
  return {
    client: roles.srcIsClient ? src : dst,
    server: roles.srcIsClient ? dst : src,
    family: seg.family,
    vlan: seg.vlan,
    first: { packet: seg.packet, tsSec: seg.tsSec, tsNsec: seg.tsNsec },
    tsDigits: seg.tsDigits,
    roleSource: roles.roleSource,
    sawSyn: roles.roleSource === 'syn',
  };
}

/**
 * Connections by canonical 4-tuple, with a least-recently-active list for eviction and idle
 * timeouts. The VLAN id is deliberately not part of the key: a trunk capture can see the two
 * directions (or the two sides of a router) with different tags, and splitting the connection
 * would lose it; the same 4-tuple live on two VLANs at once is far rarer.
 */
export class ConnectionTable {
  /** Set by keyOf: whether the packet's source is the key's first ("low") endpoint. */
  srcIsLow = false;
  private readonly map = new Map<string, Connection>();
  private head: Connection | null = null;
  private tail: Connection | null = null;
  // The last IPv4 connection found and its tuple as the packet had it: nine packets in ten
  // continue the previous packet's connection, and this skips building and hashing its key.
  private cached: Connection | null = null;
  private cachedSrc = 0;
  private cachedDst = 0;
  private cachedSrcPort = 0;
  private cachedDstPort = 0;
  private cachedSrcIsLow = false;

  get size(): number {
    return this.map.size;
  }

  get oldest(): Connection | null {
    return this.head;
  }

  /**
   * Canonical key of the segment's 4-tuple, the lower (address, port) first: 16-bit char codes,
   * 6 for IPv4 and 34 for IPv6 (fixed lengths, so the two families never collide).
   */
  keyOf(seg: TcpSegment): string {
    const b = seg.ipBuffer;
    const so = seg.srcAddrOffset;
    const d = seg.dstAddrOffset;
    const sp = seg.srcPort;
    const dp = seg.dstPort;
    if (seg.family === 4) {
      const sa = b.readUInt32BE(so);
      const da = b.readUInt32BE(d);
      const low = sa < da || (sa === da && sp <= dp);
      this.srcIsLow = low;
      return low
        ? String.fromCharCode(sa >>> 16, sa & 0xffff, sp, da >>> 16, da & 0xffff, dp)
        : String.fromCharCode(da >>> 16, da & 0xffff, dp, sa >>> 16, sa & 0xffff, sp);
    }
    const c = b.compare(b, d, d + 16, so, so + 16);
    const low = c < 0 || (c === 0 && sp <= dp);
    this.srcIsLow = low;
    const sKey = b.toString('latin1', so, so + 16) + String.fromCharCode(sp);
    const dKey = b.toString('latin1', d, d + 16) + String.fromCharCode(dp);
    return low ? sKey + dKey : dKey + sKey;
  }

  /** The segment's connection, if the table has it; sets srcIsLow like keyOf. */
  find(seg: TcpSegment): Connection | undefined {
    const cached = this.cached;
    if (seg.family === 4) {
      const src = seg.ipBuffer.readUInt32BE(seg.srcAddrOffset);
      const dst = seg.ipBuffer.readUInt32BE(seg.dstAddrOffset);
      const sp = seg.srcPort;
      const dp = seg.dstPort;
      if (cached !== null) {
        if (
          src === this.cachedSrc &&
          dst === this.cachedDst &&
          sp === this.cachedSrcPort &&
          dp === this.cachedDstPort
        ) {
          this.srcIsLow = this.cachedSrcIsLow;
          return cached;
        }
        if (
          src === this.cachedDst &&
          dst === this.cachedSrc &&
          sp === this.cachedDstPort &&
          dp === this.cachedSrcPort
        ) {
          this.srcIsLow = !this.cachedSrcIsLow;
          return cached;
        }
      }
      const conn = this.map.get(this.keyOf(seg));
      this.cached = conn ?? null;
      this.cachedSrc = src;
      this.cachedDst = dst;
      this.cachedSrcPort = sp;
      this.cachedDstPort = dp;
      this.cachedSrcIsLow = this.srcIsLow;
      return conn;
    }
    return this.map.get(this.keyOf(seg));
  }

  /** Adds (or replaces) a connection as the most recently active. */
  add(conn: Connection): void {
    this.cached = null;
    const old = this.map.get(conn.key);
    if (old !== undefined) this.unlink(old);
    this.map.set(conn.key, conn);
    this.append(conn);
  }

  remove(conn: Connection): void {
    if (this.cached === conn) this.cached = null;
    if (this.map.get(conn.key) === conn) this.map.delete(conn.key);
    this.unlink(conn);
  }

  /** Marks the connection as the most recently active. */
  touch(conn: Connection): void {
    if (conn === this.tail) return;
    this.unlink(conn);
    this.append(conn);
  }

  /** Removes and passes on, oldest first, every connection silent for more than idleSec. */
  expire(nowSec: number, idleSec: number, onExpired: (conn: Connection) => void): void {
    // The list is in order of activity, so the walk stops at the first recent connection.
    while (this.head !== null && nowSec - this.head.lastSec > idleSec) {
      const conn = this.head;
      this.remove(conn);
      onExpired(conn);
    }
  }

  /** Removes and passes on every connection, oldest first. */
  drain(onEach: (conn: Connection) => void): void {
    while (this.head !== null) {
      const conn = this.head;
      this.remove(conn);
      onEach(conn);
    }
  }

  private append(conn: Connection): void {
    conn.prev = this.tail;
    conn.next = null;
    if (this.tail !== null) this.tail.next = conn;
    else this.head = conn;
    this.tail = conn;
  }

  private unlink(conn: Connection): void {
    if (conn.prev !== null) conn.prev.next = conn.next;
    else if (this.head === conn) this.head = conn.next;
    if (conn.next !== null) conn.next.prev = conn.prev;
    else if (this.tail === conn) this.tail = conn.prev;
    conn.prev = null;
    conn.next = null;
  }
}
