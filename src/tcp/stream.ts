/**
 * The seam between TCP reassembly and the protocol above it (gopacket's Stream): a factory makes
 * one StreamHandler per connection and the reassembler pushes each direction's bytes into it in
 * sequence order, with any missing range as an explicit gap. Calls for the two directions are
 * interleaved in capture order, so a reply arrives after the command it answers.
 */

/** Which way bytes travel. */
export enum Direction {
  ClientToServer = 0,
  ServerToClient = 1,
}

export interface Endpoint {
  ip: string;
  port: number;
}

/** Where a piece of stream data came from: the packet that carried it. */
export interface PacketRef {
  packet: number;
  tsSec: number;
  tsNsec: number;
}

export interface ConnectionInfo {
  client: Endpoint;
  server: Endpoint;
  family: number;
  vlan: number;
  /** The first packet of the connection seen in the capture. */
  first: PacketRef;
  tsDigits: number;
  /**
   * How the roles were decided: 'content' means no handshake and no server port told, and the
   * first payload did (a reply line comes from the server); 'first-packet' means nothing told, so
   * the destination of the first packet was taken as the server.
   */
  roleSource: 'syn' | 'syn-ack' | 'port' | 'first-packet' | 'content';
  /** True when the capture holds the client's SYN (the start of the connection). */
  sawSyn: boolean;
}

export type CloseReason = 'fin' | 'rst' | 'end-of-capture' | 'idle' | 'evicted';

/** Per-direction byte accounting: delivered + gaps = the sequence span seen. */
export interface DirectionCounts {
  delivered: number;
  duplicates: number;
  gaps: number;
  /** Packets of this direction seen (bare ACKs included): 0 means the capture misses that side. */
  packets: number;
}

/**
 * `at` (a PacketRef) is only valid during the call: the reassembler reuses one object per packet
 * so its fast path allocates nothing. Copy the fields you keep.
 */
export interface StreamHandler {
  /** Bytes in sequence order. `bytes` may be a view into a capture chunk: copy what you keep. */
  data(dir: Direction, bytes: Buffer, at: PacketRef): void;
  /** `length` bytes of this direction will never be seen: the next data follows the hole. */
  gap(dir: Direction, length: number, at: PacketRef): void;
  /** A TCP-level anomaly on this connection (e.g. overlap-conflict), with its packet number. */
  anomaly(code: string, packet: number, detail: string): void;
  /** The connection is over; no more calls follow. */
  close(reason: CloseReason, counts: [DirectionCounts, DirectionCounts], at: PacketRef): void;
}

export interface StreamFactory {
  /** Called once per new connection; null means the connection is not wanted. */
  open(info: ConnectionInfo): StreamHandler | null;
  /**
   * Connection slots the open handlers take beyond one each: a handler holding much state (a
   * message being parsed) counts for several against the reassembler's connection cap.
   */
  extraSlots?(): number;
}
