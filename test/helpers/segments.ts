/**
 * Test helpers for src/tcp: a builder of TcpSegment objects, a feeder that behaves like the real
 * decoder (one reused segment object, payload a view into a chunk that is overwritten after each
 * push, so a reassembler that forgets to copy shows garbage), and a recording StreamFactory that
 * checks the seam's rules (close once, nothing after close, counts match what was delivered).
 */
import assert from 'node:assert/strict';
import { newTcpSegment, TcpFlag, type TcpSegment } from '../../src/decode/tcp-segment.js';
import type { TcpReassemblerOptions } from '../../src/tcp/reassembler.js';
import { TcpReassembler } from '../../src/tcp/reassembler.js';
import type {
  CloseReason,
  ConnectionInfo,
  Direction,
  DirectionCounts,
  PacketRef,
  StreamFactory,
  StreamHandler,
} from '../../src/tcp/stream.js';

export const { FIN, SYN, RST, PSH, ACK } = TcpFlag;

export interface Ep {
  ip: string;
  port: number;
}

export interface SegSpec {
  src: Ep;
  dst: Ep;
  seq: number;
  ack?: number;
  /** TcpFlag bits; ACK is added when `ack` is given and flags are not. */
  flags?: number;
  data?: string | Buffer;
  missing?: number;
  tsSec?: number;
  tsNsec?: number;
  vlan?: number;
}

export function ep(text: string): Ep {
  const i = text.lastIndexOf(':');
  return { ip: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

function ipBytes(ip: string): number[] {
  if (!ip.includes(':')) return ip.split('.').map(Number);
  // Tests only use the full or "::" forms.
  const [head, tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = ip.includes('::') && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => Number.parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Fills `out` (a reused segment) from a spec; the payload is copied into `chunk`. */
export function fillSegment(out: TcpSegment, spec: SegSpec, packet: number, chunk: Buffer): void {
  const s = ipBytes(spec.src.ip);
  const d = ipBytes(spec.dst.ip);
  out.family = s.length === 4 ? 4 : 6;
  out.ipBuffer = Buffer.from([...s, ...d]);
  out.srcAddrOffset = 0;
  out.dstAddrOffset = s.length;
  out.srcPort = spec.src.port;
  out.dstPort = spec.dst.port;
  out.packet = packet;
  out.tsSec = spec.tsSec ?? 1000;
  out.tsNsec = spec.tsNsec ?? 0;
  out.tsDigits = 6;
  out.seq = spec.seq >>> 0;
  out.ack = (spec.ack ?? 0) >>> 0;
  out.flags = spec.flags ?? (spec.ack !== undefined ? ACK : 0);
  const data =
    typeof spec.data === 'string' ? Buffer.from(spec.data, 'latin1') : (spec.data ?? Buffer.alloc(0));
  data.copy(chunk, 0);
  out.payload = chunk.subarray(0, data.length);
  out.missingPayload = spec.missing ?? 0;
  out.vlan = spec.vlan ?? -1;
  out.window = 65535;
}

/** A standalone segment (not reused), for tests of single pieces. */
export function makeSegment(spec: SegSpec, packet = 1): TcpSegment {
  const seg = newTcpSegment();
  fillSegment(seg, spec, packet, Buffer.alloc(65536));
  seg.payload = Buffer.from(seg.payload);
  return seg;
}

/** Pushes specs like the decoder does: one reused object, payload in a chunk scribbled on after. */
export class Feeder {
  packet = 0;
  tsSec = 1000;
  private readonly seg = newTcpSegment();
  private readonly chunk = Buffer.alloc(65536);
  readonly reassembler: TcpReassembler;

  constructor(reassembler: TcpReassembler) {
    this.reassembler = reassembler;
  }

  push(spec: SegSpec): number {
    this.packet++;
    fillSegment(this.seg, { tsSec: this.tsSec, ...spec }, this.packet, this.chunk);
    this.reassembler.push(this.seg);
    // The reassembler's contract: release before the buffer is reused.
    this.reassembler.releaseBuffers();
    this.chunk.fill(0xee);
    return this.packet;
  }
}

/** Client and server of one connection, with shorthand for each side's segments. */
export class Talk {
  readonly feeder: Feeder;
  readonly client: Ep;
  readonly server: Ep;

  constructor(feeder: Feeder, client = '10.0.0.1:40000', server = '10.0.0.2:25') {
    this.feeder = feeder;
    this.client = ep(client);
    this.server = ep(server);
  }

  /** client -> server */
  c(seq: number, data = '', extra: Partial<SegSpec> = {}): number {
    return this.feeder.push({ src: this.client, dst: this.server, seq, data, ...extra });
  }

  /** server -> client */
  s(seq: number, data = '', extra: Partial<SegSpec> = {}): number {
    return this.feeder.push({ src: this.server, dst: this.client, seq, data, ...extra });
  }
}

export type Event =
  | { kind: 'data'; dir: Direction; text: string; packet: number }
  | { kind: 'gap'; dir: Direction; length: number; packet: number }
  | { kind: 'anomaly'; code: string; packet: number; detail: string }
  | { kind: 'close'; reason: CloseReason; counts: [DirectionCounts, DirectionCounts]; packet: number };

export class RecordedConnection implements StreamHandler {
  readonly info: ConnectionInfo;
  readonly events: Event[] = [];
  closed: { reason: CloseReason; counts: [DirectionCounts, DirectionCounts]; packet: number } | null = null;

  constructor(info: ConnectionInfo) {
    this.info = info;
  }

  data(dir: Direction, bytes: Buffer, at: PacketRef): void {
    assert.equal(this.closed, null, 'data after close');
    assert.ok(bytes.length > 0, 'empty data call');
    this.events.push({ kind: 'data', dir, text: bytes.toString('latin1'), packet: at.packet });
  }

  gap(dir: Direction, length: number, at: PacketRef): void {
    assert.equal(this.closed, null, 'gap after close');
    assert.ok(length > 0, 'empty gap');
    this.events.push({ kind: 'gap', dir, length, packet: at.packet });
  }

  anomaly(code: string, packet: number, detail: string): void {
    assert.equal(this.closed, null, 'anomaly after close');
    this.events.push({ kind: 'anomaly', code, packet, detail });
  }

  close(reason: CloseReason, counts: [DirectionCounts, DirectionCounts], at: PacketRef): void {
    assert.equal(this.closed, null, 'closed twice');
    const copy: [DirectionCounts, DirectionCounts] = [{ ...counts[0] }, { ...counts[1] }];
    this.closed = { reason, counts: copy, packet: at.packet };
    this.events.push({ kind: 'close', reason, counts: copy, packet: at.packet });
    // The accounting invariant: the counts are exactly what was handed over.
    for (const dir of [0, 1] as Direction[]) {
      assert.equal(copy[dir].delivered, this.delivered(dir), `delivered count, dir ${dir}`);
      assert.equal(copy[dir].gaps, this.gapBytes(dir), `gap count, dir ${dir}`);
    }
  }

  delivered(dir: Direction): number {
    let n = 0;
    for (const e of this.events) if (e.kind === 'data' && e.dir === dir) n += e.text.length;
    return n;
  }

  gapBytes(dir: Direction): number {
    let n = 0;
    for (const e of this.events) if (e.kind === 'gap' && e.dir === dir) n += e.length;
    return n;
  }

  /** The direction's stream as text, a gap shown as `<gap N>`. */
  stream(dir: Direction): string {
    let s = '';
    for (const e of this.events) {
      if (e.kind === 'data' && e.dir === dir) s += e.text;
      else if (e.kind === 'gap' && e.dir === dir) s += `<gap ${e.length}>`;
    }
    return s;
  }

  anomalies(): { code: string; packet: number; detail: string }[] {
    const out: { code: string; packet: number; detail: string }[] = [];
    for (const e of this.events)
      if (e.kind === 'anomaly') out.push({ code: e.code, packet: e.packet, detail: e.detail });
    return out;
  }

  /** Checks the close: its reason, and delivered + gaps = the sequence span of each direction. */
  assertClosed(reason: CloseReason, spans: [number, number], duplicates: [number, number] = [0, 0]): void {
    const closed = this.closed;
    assert.ok(closed, 'not closed');
    assert.equal(closed.reason, reason);
    for (const dir of [0, 1] as Direction[]) {
      const c: DirectionCounts = closed.counts[dir];
      assert.equal(c.delivered + c.gaps, spans[dir], `span, dir ${dir}`);
      assert.equal(c.duplicates, duplicates[dir], `duplicates, dir ${dir}`);
    }
  }
}

export class Recorder implements StreamFactory {
  readonly conns: RecordedConnection[] = [];
  readonly declined: ConnectionInfo[] = [];
  accept: (info: ConnectionInfo) => boolean = () => true;

  open(info: ConnectionInfo): StreamHandler | null {
    if (!this.accept(info)) {
      this.declined.push(info);
      return null;
    }
    const c = new RecordedConnection(info);
    this.conns.push(c);
    return c;
  }

  get only(): RecordedConnection {
    assert.equal(this.conns.length, 1, 'expected one connection');
    return this.conns[0];
  }
}

/** A reassembler with a recorder and a feeder, the usual test setup. */
export function setup(options?: TcpReassemblerOptions): {
  r: TcpReassembler;
  rec: Recorder;
  feeder: Feeder;
  talk: Talk;
} {
  const rec = new Recorder();
  const r = new TcpReassembler(rec, options);
  const feeder = new Feeder(r);
  return { r, rec, feeder, talk: new Talk(feeder) };
}
