/**
 * Frame builders for tests: IP/TCP packets, link-layer wrappers, IP fragmentation, and a TCP
 * dialogue scripter that produces the packets of a whole connection with correct seq/ack.
 * Everything returns fresh Buffers; sequence arithmetic wraps modulo 2^32.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { RawPacket } from '../../src/capture/raw-packet.js';
import { formatAddress } from '../../src/decode/address.js';
import { TcpFlag } from '../../src/decode/tcp-segment.js';

const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_FRAGMENT = 44;
const PROTO_AH = 51;

/** TCP flags as a number (TcpFlag bits) or letters: S F R P A U (e.g. 'SA', 'PA', 'FA'). */
export type Flags = number | string;

export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Default ACK. */
  flags?: Flags;
  payload?: string | Buffer;
  window?: number;
  /** Raw TCP option bytes, padded to a multiple of 4 with zeros (end of option list). */
  tcpOptions?: Buffer;
}

export interface Ipv4Spec {
  src: string;
  dst: string;
  protocol: number;
  payload: Buffer;
  ttl?: number;
  id?: number;
  /** Raw IPv4 option bytes, padded to a multiple of 4 with zeros (end of options). */
  options?: Buffer;
  dontFragment?: boolean;
  /** Override of the total length field (e.g. 0 as segmentation offload leaves it). */
  totalLength?: number;
}

export interface Ipv4TcpSpec extends TcpSpec {
  ttl?: number;
  id?: number;
  options?: Buffer;
  dontFragment?: boolean;
  totalLength?: number;
}

/** An IPv6 extension header; `body` is what follows its next-header and length bytes. */
export interface ExtensionHeader {
  /** 0 hop-by-hop, 43 routing, 60 destination options, 51 AH, 44 fragment (atomic), ... */
  type: number;
  body?: Buffer;
}

export interface Ipv6Spec {
  src: string;
  dst: string;
  nextHeader: number;
  payload: Buffer;
  hopLimit?: number;
  extensionHeaders?: ExtensionHeader[];
  /** Override of the payload length field (e.g. 0). */
  payloadLength?: number;
}

export interface Ipv6TcpSpec extends TcpSpec {
  hopLimit?: number;
  extensionHeaders?: ExtensionHeader[];
  payloadLength?: number;
}

// ---------------------------------------------------------------------------------------------
// Addresses, checksums, flags

/** 4 or 16 bytes of an IPv4 or IPv6 address in text form. */
export function addressBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text)) throw new Error(`not an IP address: ${text}`);
  let groupsText = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Embedded IPv4 (::ffff:1.2.3.4): the last two groups.
    const v4 = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    groupsText = `${text.slice(0, lastColon + 1)}x`;
  }
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => (g === 'x' ? -1 : Number.parseInt(g, 16)));
  const [left, right] = groupsText.includes('::') ? groupsText.split('::') : [groupsText, undefined];
  const head = parse(left);
  const rear = right === undefined ? [] : parse(right);
  const explicit = [...head, ...rear].filter((g) => g !== -1).length + tail.length;
  const zeros = right === undefined ? 0 : 8 - explicit;
  const groups = [...head, ...new Array<number>(zeros).fill(0), ...rear].filter((g) => g !== -1);
  groups.push(...tail);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(g, i * 2);
  });
  return out;
}

function familyOf(text: string): 4 | 6 {
  return text.includes(':') ? 6 : 4;
}

/** The Internet checksum (RFC 1071) over the concatenated parts. */
export function internetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  let odd = -1;
  for (const part of parts) {
    for (const byte of part) {
      if (odd < 0) odd = byte;
      else {
        sum += (odd << 8) | byte;
        odd = -1;
      }
    }
  }
  if (odd >= 0) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function flagBits(flags: Flags): number {
  if (typeof flags === 'number') return flags;
  const letters: Record<string, number> = {
    F: TcpFlag.FIN,
    S: TcpFlag.SYN,
    R: TcpFlag.RST,
    P: TcpFlag.PSH,
    A: TcpFlag.ACK,
    U: TcpFlag.URG,
  };
  let bits = 0;
  for (const letter of flags.toUpperCase()) {
    const bit = letters[letter];
    if (bit === undefined) throw new Error(`unknown TCP flag letter ${letter}`);
    bits |= bit;
  }
  return bits;
}

function toBuffer(data: string | Buffer | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function padTo(buf: Buffer, multiple: number): Buffer {
  const rest = buf.length % multiple;
  return rest === 0 ? buf : Buffer.concat([buf, Buffer.alloc(multiple - rest)]);
}

// ---------------------------------------------------------------------------------------------
// IP and TCP

/** A TCP header + payload, with its checksum over the pseudo-header of src/dst. */
export function tcpSegmentBytes(spec: TcpSpec): Buffer {
  const options = padTo(spec.tcpOptions ?? Buffer.alloc(0), 4);
  const payload = toBuffer(spec.payload);
  const header = Buffer.alloc(20 + options.length);
  header.writeUInt16BE(spec.sport, 0);
  header.writeUInt16BE(spec.dport, 2);
  header.writeUInt32BE((spec.seq ?? 0) >>> 0, 4);
  header.writeUInt32BE((spec.ack ?? 0) >>> 0, 8);
  header[12] = (header.length / 4) << 4;
  header[13] = flagBits(spec.flags ?? TcpFlag.ACK);
  header.writeUInt16BE(spec.window ?? 65535, 14);
  options.copy(header, 20);
  const segment = Buffer.concat([header, payload]);
  const src = addressBytes(spec.src);
  const dst = addressBytes(spec.dst);
  const pseudo = Buffer.alloc(src.length === 4 ? 4 : 8);
  if (src.length === 4) {
    pseudo[1] = PROTO_TCP;
    pseudo.writeUInt16BE(segment.length, 2);
  } else {
    pseudo.writeUInt32BE(segment.length, 0);
    pseudo[7] = PROTO_TCP;
  }
  segment.writeUInt16BE(internetChecksum(src, dst, pseudo, segment), 16);
  return segment;
}

export function ipv4Packet(spec: Ipv4Spec): Buffer {
  const options = padTo(spec.options ?? Buffer.alloc(0), 4);
  const header = Buffer.alloc(20 + options.length);
  header[0] = 0x40 | (header.length / 4);
  header.writeUInt16BE(spec.totalLength ?? header.length + spec.payload.length, 2);
  header.writeUInt16BE(spec.id ?? 0, 4);
  header.writeUInt16BE(spec.dontFragment ? 0x4000 : 0, 6);
  header[8] = spec.ttl ?? 64;
  header[9] = spec.protocol;
  addressBytes(spec.src).copy(header, 12);
  addressBytes(spec.dst).copy(header, 16);
  options.copy(header, 20);
  header.writeUInt16BE(internetChecksum(header), 10);
  return Buffer.concat([header, spec.payload]);
}

export function ipv6Packet(spec: Ipv6Spec): Buffer {
  const headers = spec.extensionHeaders ?? [];
  const parts: Buffer[] = [];
  headers.forEach((ext, i) => {
    const next = i + 1 < headers.length ? headers[i + 1].type : spec.nextHeader;
    parts.push(extensionHeaderBytes(ext, next));
  });
  const body = Buffer.concat([...parts, spec.payload]);
  const header = Buffer.alloc(40);
  header.writeUInt32BE(0x60000000, 0);
  header.writeUInt16BE(spec.payloadLength ?? body.length, 4);
  header[6] = headers.length > 0 ? headers[0].type : spec.nextHeader;
  header[7] = spec.hopLimit ?? 64;
  addressBytes(spec.src).copy(header, 8);
  addressBytes(spec.dst).copy(header, 24);
  return Buffer.concat([header, body]);
}

function extensionHeaderBytes(ext: ExtensionHeader, next: number): Buffer {
  if (ext.type === PROTO_FRAGMENT) {
    // An atomic fragment (offset 0, M 0); the body's first 4 bytes, if any, are the id.
    const out = Buffer.alloc(8);
    out[0] = next;
    if (ext.body !== undefined) ext.body.copy(out, 4, 0, 4);
    return out;
  }
  if (ext.type === PROTO_AH) {
    // SPI + sequence + a 4-byte ICV by default; AH counts 4-byte units minus 2, total a multiple of 8.
    const out = padTo(Buffer.concat([Buffer.alloc(2), ext.body ?? Buffer.alloc(14)]), 8);
    out[0] = next;
    out[1] = out.length / 4 - 2;
    return out;
  }
  // Options headers: zero bytes are Pad1 options, so padding is always valid.
  const out = padTo(Buffer.concat([Buffer.alloc(2), ext.body ?? Buffer.alloc(6)]), 8);
  out[0] = next;
  out[1] = out.length / 8 - 1;
  return out;
}

export function ipv4Tcp(spec: Ipv4TcpSpec): Buffer {
  return ipv4Packet({ ...spec, protocol: PROTO_TCP, payload: tcpSegmentBytes(spec) });
}

export function ipv6Tcp(spec: Ipv6TcpSpec): Buffer {
  return ipv6Packet({ ...spec, nextHeader: PROTO_TCP, payload: tcpSegmentBytes(spec) });
}

/** IPv4 or IPv6 by the address syntax. */
export function ipTcp(spec: Ipv4TcpSpec & Ipv6TcpSpec): Buffer {
  return familyOf(spec.src) === 4 ? ipv4Tcp(spec) : ipv6Tcp(spec);
}

/** A UDP datagram in IPv4 or IPv6 (by the address syntax), for "not TCP" tests. */
export function ipUdp(spec: {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload?: string | Buffer;
}): Buffer {
  const payload = toBuffer(spec.payload);
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(spec.sport, 0);
  udp.writeUInt16BE(spec.dport, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  return familyOf(spec.src) === 4
    ? ipv4Packet({ src: spec.src, dst: spec.dst, protocol: PROTO_UDP, payload: udp })
    : ipv6Packet({ src: spec.src, dst: spec.dst, nextHeader: PROTO_UDP, payload: udp });
}

/** A RawPacket as a capture reader would hand it on (defaults: packet 1, t = 1.5 s, µs). */
export function rawPacket(
  data: Buffer,
  linkType: number,
  fields: Partial<Omit<RawPacket, 'data' | 'linkType'>> = {},
): RawPacket {
  return {
    index: 1,
    tsSec: 1,
    tsNsec: 500_000_000,
    tsDigits: 6,
    origLength: data.length,
    offset: 0,
    ...fields,
    data,
    linkType,
  };
}

// ---------------------------------------------------------------------------------------------
// Link layers

function ipFamily(ip: Buffer, family?: number): 4 | 6 {
  const f = family ?? ip[0] >> 4;
  if (f !== 4 && f !== 6) throw new Error(`cannot tell the IP family (version nibble ${ip[0] >> 4})`);
  return f;
}

export interface EthernetOptions {
  /** VLAN ids, outermost first. */
  vlans?: number[];
  /** TPID per tag, outermost first (default 0x8100 for every tag). */
  tpids?: number[];
  /** 4 or 6 (default: the packet's version nibble). */
  family?: number;
  /** EtherType for a non-IP payload (e.g. 0x0806 ARP); overrides family. */
  etherType?: number;
  /** Pad the frame to the 60-byte Ethernet minimum (what a receiving NIC capture shows). */
  pad?: boolean;
}

export function ethernet(payload: Buffer, options: EthernetOptions = {}): Buffer {
  const vlans = options.vlans ?? [];
  const header = Buffer.alloc(14 + vlans.length * 4);
  Buffer.from([0x02, 0, 0, 0, 0, 0x02]).copy(header, 0);
  Buffer.from([0x02, 0, 0, 0, 0, 0x01]).copy(header, 6);
  let at = 12;
  vlans.forEach((vlan, i) => {
    header.writeUInt16BE(options.tpids?.[i] ?? 0x8100, at);
    header.writeUInt16BE(vlan & 0x0fff, at + 2);
    at += 4;
  });
  const type = options.etherType ?? (ipFamily(payload, options.family) === 4 ? 0x0800 : 0x86dd);
  header.writeUInt16BE(type, at);
  const frame = Buffer.concat([header, payload]);
  return options.pad && frame.length < 60 ? Buffer.concat([frame, Buffer.alloc(60 - frame.length)]) : frame;
}

/** Linux cooked capture v1 (link type 113). */
export function sll(ip: Buffer, family?: number): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt16BE(0, 0); // packet type: to us
  header.writeUInt16BE(1, 2); // ARPHRD_ETHER
  header.writeUInt16BE(6, 4); // address length
  Buffer.from([0x02, 0, 0, 0, 0, 0x01]).copy(header, 6);
  header.writeUInt16BE(ipFamily(ip, family) === 4 ? 0x0800 : 0x86dd, 14);
  return Buffer.concat([header, ip]);
}

/** Linux cooked capture v2 (link type 276). */
export function sll2(ip: Buffer, family?: number): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(ipFamily(ip, family) === 4 ? 0x0800 : 0x86dd, 0);
  header.writeUInt32BE(1, 4); // interface index
  header.writeUInt16BE(1, 8); // ARPHRD_ETHER
  header[10] = 0; // packet type: to us
  header[11] = 6; // address length
  Buffer.from([0x02, 0, 0, 0, 0, 0x01]).copy(header, 12);
  return Buffer.concat([header, ip]);
}

/** BSD AF_INET6 values differ: 24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin. */
function bsdFamily(ip: Buffer, family: number | undefined, af: number | undefined): number {
  if (af !== undefined) return af;
  return ipFamily(ip, family) === 4 ? 2 : 30;
}

/** BSD null/loopback (link type 0): the family in the capturing host's byte order. */
export function nullLoopback(
  ip: Buffer,
  family?: number,
  options: { bigEndian?: boolean; af?: number } = {},
): Buffer {
  const header = Buffer.alloc(4);
  const af = bsdFamily(ip, family, options.af);
  if (options.bigEndian) header.writeUInt32BE(af, 0);
  else header.writeUInt32LE(af, 0);
  return Buffer.concat([header, ip]);
}

/** OpenBSD loop (link type 108): the family in network byte order. */
export function loop(ip: Buffer, family?: number, options: { af?: number } = {}): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(bsdFamily(ip, family, options.af ?? (ipFamily(ip, family) === 4 ? 2 : 24)), 0);
  return Buffer.concat([header, ip]);
}

// ---------------------------------------------------------------------------------------------
// Fragmentation

function chunkSizes(total: number, sizes: number[]): number[] {
  const out: number[] = [];
  let left = total;
  for (const size of sizes) {
    if (left <= 0) break;
    if (size % 8 !== 0) throw new Error(`fragment size ${size} is not a multiple of 8`);
    out.push(Math.min(size, left));
    left -= size;
  }
  if (left > 0) out.push(left);
  return out;
}

/**
 * Splits an IPv4 packet into fragments carrying `sizes` data bytes each (multiples of 8; the
 * rest goes into a last fragment), in order.
 */
export function fragmentIpv4(ipPacket: Buffer, sizes: number[]): Buffer[] {
  const headerLength = (ipPacket[0] & 0x0f) * 4;
  const total = ipPacket.readUInt16BE(2) || ipPacket.length;
  const data = ipPacket.subarray(headerLength, total);
  const out: Buffer[] = [];
  let offset = 0;
  const chunks = chunkSizes(data.length, sizes);
  chunks.forEach((size, i) => {
    const header = Buffer.from(ipPacket.subarray(0, headerLength));
    header.writeUInt16BE(headerLength + size, 2);
    header.writeUInt16BE((i < chunks.length - 1 ? 0x2000 : 0) | (offset / 8), 6);
    header.writeUInt16BE(0, 10);
    header.writeUInt16BE(internetChecksum(header), 10);
    out.push(Buffer.concat([header, data.subarray(offset, offset + size)]));
    offset += size;
  });
  return out;
}

/**
 * Splits an IPv6 packet into fragments: a Fragment header right after the fixed header, and
 * everything after the fixed header (extension headers included) as the fragmentable part.
 */
export function fragmentIpv6(ipPacket: Buffer, sizes: number[], options: { id?: number } = {}): Buffer[] {
  const data = ipPacket.subarray(40, 40 + (ipPacket.readUInt16BE(4) || ipPacket.length - 40));
  const next = ipPacket[6];
  const out: Buffer[] = [];
  let offset = 0;
  const chunks = chunkSizes(data.length, sizes);
  chunks.forEach((size, i) => {
    const header = Buffer.from(ipPacket.subarray(0, 40));
    header.writeUInt16BE(8 + size, 4);
    header[6] = PROTO_FRAGMENT;
    const fragment = Buffer.alloc(8);
    fragment[0] = next;
    fragment.writeUInt16BE(offset | (i < chunks.length - 1 ? 1 : 0), 2);
    fragment.writeUInt32BE((options.id ?? 0x12345678) >>> 0, 4);
    out.push(Buffer.concat([header, fragment, data.subarray(offset, offset + size)]));
    offset += size;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading back what was built

export interface ParsedTcp {
  family: 4 | 6;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  payload: Buffer;
  ttl: number;
  id: number;
}

/** Parses an IP/TCP packet these builders made (IPv6 without extension headers). */
export function parseIpTcp(ip: Buffer): ParsedTcp {
  const family = ipFamily(ip);
  let tcp: number;
  let end: number;
  if (family === 4) {
    if (ip[9] !== PROTO_TCP) throw new Error('not a TCP packet');
    tcp = (ip[0] & 0x0f) * 4;
    end = ip.readUInt16BE(2) || ip.length;
  } else {
    if (ip[6] !== PROTO_TCP) throw new Error('not a TCP packet (or has extension headers)');
    tcp = 40;
    end = 40 + (ip.readUInt16BE(4) || ip.length - 40);
  }
  return {
    family,
    src: formatAddress(ip, family === 4 ? 12 : 8, family),
    dst: formatAddress(ip, family === 4 ? 16 : 24, family),
    sport: ip.readUInt16BE(tcp),
    dport: ip.readUInt16BE(tcp + 2),
    seq: ip.readUInt32BE(tcp + 4),
    ack: ip.readUInt32BE(tcp + 8),
    flags: ip[tcp + 13],
    window: ip.readUInt16BE(tcp + 14),
    payload: Buffer.from(ip.subarray(tcp + (ip[tcp + 12] >> 4) * 4, end)),
    ttl: family === 4 ? ip[8] : ip[7],
    id: family === 4 ? ip.readUInt16BE(4) : 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Dialogues

export interface Endpoint {
  ip: string;
  port: number;
}

export interface DialogueStep {
  from: 'client' | 'server';
  data: string | Buffer;
}

export interface DialogueOptions {
  client: Endpoint;
  server: Endpoint;
  /** Initial sequence numbers; data starts at ISN + 1 (also without a handshake). */
  clientIsn?: number;
  serverIsn?: number;
  steps: DialogueStep[];
  /** SYN, SYN-ACK, ACK first (default true). */
  handshake?: boolean;
  /** How the connection ends (default 'fin'). */
  close?: 'fin' | 'rst' | 'none';
  /** Who sends the FIN or RST (default client). */
  closeBy?: 'client' | 'server';
  /** Largest payload per segment (default 1460). */
  mss?: number;
  /** The receiver of each step answers with a bare ACK (default false). */
  ackEachStep?: boolean;
}

export const DEFAULT_CLIENT_ISN = 1_000_000;
export const DEFAULT_SERVER_ISN = 2_000_000;

/**
 * The IP packets of a whole TCP connection, in order: handshake, each step cut at `mss` (PSH on
 * the last segment of a step), then the close. IPv4 or IPv6 by the address syntax.
 */
export function tcpDialogue(options: DialogueOptions): Buffer[] {
  const mss = options.mss ?? 1460;
  if (mss <= 0) throw new Error('mss must be positive');
  const side = {
    client: { ep: options.client, next: ((options.clientIsn ?? DEFAULT_CLIENT_ISN) + 1) >>> 0, id: 1 },
    server: { ep: options.server, next: ((options.serverIsn ?? DEFAULT_SERVER_ISN) + 1) >>> 0, id: 1 },
  };
  const other = (from: 'client' | 'server'): 'client' | 'server' => (from === 'client' ? 'server' : 'client');
  const packets: Buffer[] = [];
  const send = (
    from: 'client' | 'server',
    seq: number,
    ack: number,
    flags: Flags,
    payload?: Buffer,
  ): void => {
    const me = side[from];
    const peer = side[other(from)];
    packets.push(
      ipTcp({
        src: me.ep.ip,
        dst: peer.ep.ip,
        sport: me.ep.port,
        dport: peer.ep.port,
        seq,
        ack,
        flags,
        payload,
        id: me.id++ & 0xffff,
      }),
    );
  };

  if (options.handshake ?? true) {
    const clientIsn = (side.client.next - 1) >>> 0;
    const serverIsn = (side.server.next - 1) >>> 0;
    send('client', clientIsn, 0, 'S');
    send('server', serverIsn, side.client.next, 'SA');
    send('client', side.client.next, side.server.next, 'A');
  }

  for (const step of options.steps) {
    const me = side[step.from];
    const peer = side[other(step.from)];
    const data = toBuffer(step.data);
    for (let at = 0; at < data.length; at += mss) {
      const chunk = data.subarray(at, Math.min(at + mss, data.length));
      const last = at + mss >= data.length;
      send(step.from, me.next, peer.next, last ? 'PA' : 'A', chunk);
      me.next = (me.next + chunk.length) >>> 0;
    }
    if (options.ackEachStep && data.length > 0) send(other(step.from), peer.next, me.next, 'A');
  }

  const closer = options.closeBy ?? 'client';
  const me = side[closer];
  const peer = side[other(closer)];
  switch (options.close ?? 'fin') {
    case 'fin':
      send(closer, me.next, peer.next, 'FA');
      me.next = (me.next + 1) >>> 0;
      send(other(closer), peer.next, me.next, 'FA');
      peer.next = (peer.next + 1) >>> 0;
      send(closer, me.next, peer.next, 'A');
      break;
    case 'rst':
      send(closer, me.next, peer.next, 'RA');
      break;
    case 'none':
      break;
  }
  return packets;
}

// ---------------------------------------------------------------------------------------------
// Transforms on a packet list (each returns a new list)

function checkIndex(packets: Buffer[], index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= packets.length) {
    throw new RangeError(`packet index ${index} outside 0..${packets.length - 1}`);
  }
}

/** The packets at `order` (indices into `packets`), in that order; leaving one out drops it. */
export function reorder(packets: Buffer[], order: number[]): Buffer[] {
  return order.map((i) => {
    checkIndex(packets, i);
    return packets[i];
  });
}

/** Moves one packet from index `from` to index `to` (of the resulting list). */
export function move(packets: Buffer[], from: number, to: number): Buffer[] {
  checkIndex(packets, from);
  const out = packets.slice();
  const [packet] = out.splice(from, 1);
  out.splice(to, 0, packet);
  return out;
}

/** Exchanges two packets: the simplest out-of-order arrival. */
export function swap(packets: Buffer[], i: number, j: number): Buffer[] {
  checkIndex(packets, i);
  checkIndex(packets, j);
  const out = packets.slice();
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

/** Inserts a copy of packet `index` at `at` (default right after it): a retransmission. */
export function duplicate(packets: Buffer[], index: number, at: number = index + 1): Buffer[] {
  checkIndex(packets, index);
  const out = packets.slice();
  out.splice(at, 0, Buffer.from(packets[index]));
  return out;
}

/** Leaves out the packets at `indices`: a capture that missed them. */
export function drop(packets: Buffer[], ...indices: number[]): Buffer[] {
  for (const i of indices) checkIndex(packets, i);
  const gone = new Set(indices);
  return packets.filter((_, i) => !gone.has(i));
}

/**
 * Splits the TCP segment at `index` into two at payload `offset`: the first keeps ACK only, the
 * second keeps the original flags and starts at seq + offset (mod 2^32).
 */
export function splitSegment(packets: Buffer[], index: number, offset: number): Buffer[] {
  checkIndex(packets, index);
  const p = parseIpTcp(packets[index]);
  if (offset <= 0 || offset >= p.payload.length) {
    throw new RangeError(`split offset ${offset} outside 1..${p.payload.length - 1}`);
  }
  const base = {
    src: p.src,
    dst: p.dst,
    sport: p.sport,
    dport: p.dport,
    ack: p.ack,
    window: p.window,
    ttl: p.ttl,
  };
  const first = ipTcp({
    ...base,
    seq: p.seq,
    flags: p.flags & ~(TcpFlag.FIN | TcpFlag.PSH),
    payload: p.payload.subarray(0, offset),
    id: p.id,
  });
  const second = ipTcp({
    ...base,
    seq: (p.seq + offset) >>> 0,
    flags: p.flags,
    payload: p.payload.subarray(offset),
    id: (p.id + 1) & 0xffff,
  });
  const out = packets.slice();
  out.splice(index, 1, first, second);
  return out;
}
