/**
 * Shared pieces of the TCP/IP fidelity suites (issue #3): a standard SMTP dialogue, the whole
 * pipeline on a list of IP packets or link frames, and compact views of a session for exact
 * assertions (transactions, anomalies, per-direction counts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AnalyseOptions, AnalysisResult } from '../../src/analyse.js';
import type { SessionRecord, Transaction } from '../../src/smtp/records.js';
import { analyseBuffer } from '../helpers/analyse-buffer.js';
import { type Frame, writePcap } from '../helpers/capture-writer.js';
import {
  type DialogueOptions,
  type DialogueStep,
  type Ipv4TcpSpec,
  ipTcp,
  parseIpTcp,
  tcpDialogue,
} from '../helpers/frames.js';
import { captureOf } from '../helpers/scripted-capture.js';
import { smtpSteps as sharedSmtpSteps } from '../helpers/smtp-steps.js';

export const sha256 = (bytes: string | Buffer): string => createHash('sha256').update(bytes).digest('hex');

export const CLIENT = { ip: '192.0.2.10', port: 50123 };
export const SERVER = { ip: '198.51.100.25', port: 25 };
export const CLIENT6 = { ip: '2001:db8::10', port: 50123 };
export const SERVER6 = { ip: '2001:db8::25', port: 25 };

export const MESSAGE = 'Subject: fidelity\r\n\r\nline one\r\nline two\r\nline three\r\n';

/** Greeting, EHLO, one DATA transaction carrying `message`, QUIT: one segment per step. */
export function smtpSteps(message: string = MESSAGE): DialogueStep[] {
  return sharedSmtpSteps(message);
}

/**
 * Packet numbers (1-based) of smtpSteps() in tcpDialogue with its handshake and one segment per
 * step: handshake 1-3, then one packet per step, then FIN, FIN, ACK.
 */
export const P = {
  greeting: 4,
  ehlo: 5,
  ehloReply: 6,
  mail: 7,
  mailReply: 8,
  rcpt: 9,
  rcptReply: 10,
  data: 11,
  dataReply: 12,
  message: 13,
  queued: 14,
  quit: 15,
  bye: 16,
  clientFin: 17,
  serverFin: 18,
  lastAck: 19,
} as const;

export function dialogue(options: Partial<DialogueOptions> = {}): Buffer[] {
  return tcpDialogue({ client: CLIENT, server: SERVER, steps: smtpSteps(), ...options });
}

/** Bytes one side sends over the steps: the sequence span of that direction. */
export function sideBytes(steps: DialogueStep[], from: 'client' | 'server'): number {
  let n = 0;
  for (const step of steps) if (step.from === from) n += Buffer.byteLength(step.data);
  return n;
}

export type Result = AnalysisResult<never>;

/** The whole pipeline over IP packets (Ethernet frames 1 ms apart). */
export function analysePackets(packets: Buffer[], options: AnalyseOptions<never> = {}): Promise<Result> {
  return analyseBuffer(captureOf(packets), options);
}

/** The whole pipeline over ready-made Ethernet frames (own timestamps, snaplen cuts). */
export function analyseFrames(frames: Frame[], options: AnalyseOptions<never> = {}): Promise<Result> {
  return analyseBuffer(writePcap(frames, { linkType: 1 }), options);
}

export function onlySession(result: Result): SessionRecord {
  assert.equal(result.sessions.length, 1, 'exactly one session');
  return result.sessions[0];
}

/** A transaction without timestamps and packet-level detail: what a test pins exactly. */
export function txView(tx: Transaction) {
  return {
    mailFrom: tx.mailFrom?.address ?? null,
    rcptTo: tx.rcptTo.map((r) => [r.address, r.reply?.code ?? null]),
    data:
      tx.data === null
        ? null
        : {
            method: tx.data.method,
            size: tx.data.size,
            sha256: tx.data.sha256,
            reply: tx.data.reply?.code ?? null,
            gaps: tx.data.gaps,
          },
    status: tx.status,
  };
}

/** The delivered view of smtpSteps(message): one accepted transaction. */
export function deliveredView(message: string = MESSAGE) {
  return {
    mailFrom: 'a@c.test',
    rcptTo: [['b@mx.test', 250]],
    data: { method: 'DATA', size: Buffer.byteLength(message), sha256: sha256(message), reply: 250, gaps: [] },
    status: 'delivered',
  };
}

export function anomalies(session: SessionRecord): [string, number][] {
  return session.anomalies.map((a) => [a.code, a.packet]);
}

export function commandView(session: SessionRecord): [string, number | null][] {
  return session.commands.map((c) => [c.verb, c.reply?.code ?? null]);
}

export interface Counts {
  bytes: [number, number];
  duplicates: [number, number];
  gaps: [number, number];
}

/**
 * Pins the per-direction counts ([client, server]) and checks the accounting invariant:
 * delivered + gaps = the sequence span each direction covered in the capture.
 */
export function assertCounts(session: SessionRecord, expected: Counts, span: [number, number]): void {
  assert.deepEqual(
    {
      bytes: [session.bytes.client, session.bytes.server],
      duplicates: [session.duplicates.client, session.duplicates.server],
      gaps: [session.gaps.client, session.gaps.server],
    },
    expected,
  );
  assert.equal(session.bytes.client + session.gaps.client, span[0], 'client: delivered + gaps = span');
  assert.equal(session.bytes.server + session.gaps.server, span[1], 'server: delivered + gaps = span');
}

/** Counts of a clean capture of smtpSteps(message). */
export function cleanCounts(message: string = MESSAGE): { counts: Counts; span: [number, number] } {
  const steps = smtpSteps(message);
  const span: [number, number] = [sideBytes(steps, 'client'), sideBytes(steps, 'server')];
  return { counts: { bytes: span, duplicates: [0, 0], gaps: [0, 0] }, span };
}

/**
 * One IPv4 fragment of `packet` carrying its data bytes [start, end) (start a multiple of 8), with
 * More Fragments set as given; `patch` overwrites the fragment's data (an overlap with new bytes).
 */
export function ipv4Fragment(
  packet: Buffer,
  start: number,
  end: number,
  more: boolean,
  patch?: Buffer,
): Buffer {
  const headerLength = (packet[0] & 0x0f) * 4;
  const header = Buffer.from(packet.subarray(0, headerLength));
  const data = Buffer.from(packet.subarray(headerLength + start, headerLength + end));
  patch?.copy(data);
  header.writeUInt16BE(headerLength + data.length, 2);
  header.writeUInt16BE((more ? 0x2000 : 0) | (start / 8), 6);
  return Buffer.concat([header, data]);
}

/** Rebuilds one IP/TCP packet with some fields changed (an older ACK, other payload bytes). */
export function rewrite(packet: Buffer, changes: Partial<Ipv4TcpSpec>): Buffer {
  const p = parseIpTcp(packet);
  return ipTcp({
    src: p.src,
    dst: p.dst,
    sport: p.sport,
    dport: p.dport,
    seq: p.seq,
    ack: p.ack,
    flags: p.flags,
    payload: p.payload,
    id: p.id,
    ...changes,
  });
}

/** Whether an IP/TCP packet these builders made goes from the client (by source port). */
export function fromClient(packet: Buffer, client: { port: number } = CLIENT): boolean {
  return parseIpTcp(packet).sport === client.port;
}

/** One IPv6 fragment of `packet` (no extension headers) carrying [start, end) of what follows the fixed header. */
export function ipv6Fragment(
  packet: Buffer,
  start: number,
  end: number,
  more: boolean,
  id: number,
  patch?: Buffer,
): Buffer {
  const header = Buffer.from(packet.subarray(0, 40));
  const data = Buffer.from(packet.subarray(40 + start, 40 + end));
  patch?.copy(data);
  const fragment = Buffer.alloc(8);
  fragment[0] = packet[6];
  fragment.writeUInt16BE(start | (more ? 1 : 0), 2);
  fragment.writeUInt32BE(id >>> 0, 4);
  header.writeUInt16BE(8 + data.length, 4);
  header[6] = 44;
  return Buffer.concat([header, fragment, data]);
}

export function warnings(result: Result): [string, number][] {
  return result.inputs[0].warnings.map((w) => [w.code, w.packet]);
}
