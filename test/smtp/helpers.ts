/** Shared helpers of the SMTP tests: a one-session pipeline run and the TLS/NTLM bytes they need. */
import assert from 'node:assert/strict';
import type { AnalyseOptions } from '../../src/analyse.js';
import type { SessionRecord } from '../../src/smtp/records.js';
import { analyseBuffer } from '../helpers/analyse-buffer.js';
import { type DialogueOptions, type DialogueStep, tcpDialogue } from '../helpers/frames.js';
import { captureOf } from '../helpers/scripted-capture.js';

export const client = { ip: '192.0.2.10', port: 50123 };
export const server = { ip: '198.51.100.25', port: 25 };

export const c = (data: string | Buffer): DialogueStep => ({ from: 'client', data });
export const s = (data: string | Buffer): DialogueStep => ({ from: 'server', data });
export const b64 = (text: string | Buffer): string =>
  (typeof text === 'string' ? Buffer.from(text, 'utf8') : text).toString('base64');

/** The one session of a scripted dialogue, through the whole pipeline. */
export async function sessionOf(
  steps: DialogueStep[],
  dialogue: Partial<DialogueOptions> = {},
  options: AnalyseOptions<never> = {},
): Promise<SessionRecord> {
  const packets = tcpDialogue({ client, server, steps, ...dialogue });
  const { sessions } = await analyseBuffer(captureOf(packets), options);
  assert.equal(sessions.length, 1, 'one session');
  return sessions[0];
}

/** The anomaly codes of a session, in order. */
export const codes = (session: SessionRecord): string[] => session.anomalies.map((a) => a.code);

// ---- TLS handshake bytes ---------------------------------------------------------------------

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number): Buffer => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);

export function tlsRecord(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 3, 1]), u16(body.length), body]);
}

export function handshake(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), u24(body.length), body]);
}

function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(data.length), data]);
}

function extensions(list: Buffer[]): Buffer {
  const all = Buffer.concat(list);
  return Buffer.concat([u16(all.length), all]);
}

/** A ClientHello offering `versions` in supported_versions (plus a GREASE value), with SNI. */
export function clientHello(sni: string | null, versions: number[] | null): Buffer {
  const exts: Buffer[] = [];
  if (sni !== null) {
    const name = Buffer.from(sni, 'latin1');
    const entry = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
    exts.push(extension(0, Buffer.concat([u16(entry.length), entry])));
  }
  if (versions !== null) {
    const list = Buffer.concat([0x0a0a, ...versions].map(u16));
    exts.push(extension(43, Buffer.concat([Buffer.from([list.length]), list])));
  }
  const body = Buffer.concat([
    u16(0x0303),
    Buffer.alloc(32, 7),
    Buffer.from([0]),
    u16(4),
    u16(0x1301),
    u16(0xc02f),
    Buffer.from([1, 0]),
    extensions(exts),
  ]);
  return handshake(1, body);
}

/** A ServerHello choosing `suite`; `tls13` adds supported_versions = TLS 1.3. */
export function serverHello(suite: number, tls13: boolean): Buffer {
  const exts = tls13 ? [extension(43, u16(0x0304))] : [];
  const body = Buffer.concat([
    u16(0x0303),
    Buffer.alloc(32, 9),
    Buffer.from([0]),
    u16(suite),
    Buffer.from([0]),
    extensions(exts),
  ]);
  return handshake(2, body);
}

export function certificateMessage(der: Buffer): Buffer {
  const entry = Buffer.concat([u24(der.length), der]);
  return handshake(11, Buffer.concat([u24(entry.length), entry]));
}

/** A self-signed test certificate (O=smtpcap test, CN=mx.example.test, 2026-12-03 .. 2036-11-30), made for these tests. */
export const TEST_CERT = Buffer.from(
  'MIIBozCCAUqgAwIBAgIBATAKBggqhkjOPQQDAjAxMRUwEwYDVQQKDAxzbXRwY2FwIHRlc3QxGDAWBgNVBAMMD214LmV4YW1wbGUudGVzdDAeFw0yNjEyMDMxNzQ2NTVaFw0zNjExMzAxNzQ2NTVaMDExFTATBgNVBAoMDHNtdHBjYXAgdGVzdDEYMBYGA1UEAwwPbXguZXhhbXBsZS50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1rhfXG2gpBv5LHqWP2fX7cGrUql5OZj7ZuaUfg77rD6+2vErIqsnyMpg9QolGrhLrFq3zPs9gMN2y0FLJCedEqNTMFEwHQYDVR0OBBYEFK2/eXDveoS9pRN2wnS1dmW/PsoUMB8GA1UdIwQYMBaAFK2/eXDveoS9pRN2wnS1dmW/PsoUMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgaEAsbdAVskITMLibTeoIxLnc7cOmsPwLftOaB4kr0UICICosAchQUWT8rSUjSLEkqxhbD4Ku4KB6Nol9BapvwSdt',
  'base64',
);

// ---- NTLM messages ----------------------------------------------------------------------------

const NTLMSSP = Buffer.from('NTLMSSP\0', 'latin1');

export function ntlmNegotiate(): Buffer {
  const msg = Buffer.alloc(32);
  NTLMSSP.copy(msg, 0);
  msg.writeUInt32LE(1, 8);
  msg.writeUInt32LE(0x00088207, 12);
  return msg;
}

export function ntlmChallenge(challenge: Buffer): Buffer {
  const msg = Buffer.alloc(48);
  NTLMSSP.copy(msg, 0);
  msg.writeUInt32LE(2, 8);
  msg.writeUInt32LE(48, 16); // empty target name at the end
  msg.writeUInt32LE(0x00088205, 20);
  challenge.copy(msg, 24);
  return msg;
}

/** A type 3 message with Unicode strings; `nt` longer than 24 bytes makes it NTLMv2. */
export function ntlmAuthenticate(fields: {
  domain: string;
  user: string;
  workstation: string;
  lm: Buffer;
  nt: Buffer;
}): Buffer {
  const payloads = [
    fields.lm,
    fields.nt,
    Buffer.from(fields.domain, 'utf16le'),
    Buffer.from(fields.user, 'utf16le'),
    Buffer.from(fields.workstation, 'utf16le'),
    Buffer.alloc(0),
  ];
  const header = Buffer.alloc(64);
  NTLMSSP.copy(header, 0);
  header.writeUInt32LE(3, 8);
  let offset = 64;
  payloads.forEach((p, i) => {
    header.writeUInt16LE(p.length, 12 + i * 8);
    header.writeUInt16LE(p.length, 14 + i * 8);
    header.writeUInt32LE(offset, 16 + i * 8);
    offset += p.length;
  });
  header.writeUInt32LE(0x00088205, 60); // NEGOTIATE_UNICODE among others
  return Buffer.concat([header, ...payloads]);
}
