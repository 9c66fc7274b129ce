/**
 * The facts an investigator wants from the start of a TLS session, read from the cleartext
 * handshake records: the ClientHello (versions offered, SNI), the ServerHello (version, cipher
 * suite) and, up to TLS 1.2 where it is still in the clear, the server's certificate. Only the
 * first bytes of each direction are looked at (a cap), and nothing here ever throws on junk.
 */
import { X509Certificate } from 'node:crypto';
import type { TlsInfo } from './records.js';

/** Bytes of each direction read after TLS starts; a certificate chain fits in far less. */
export const TLS_PARSE_CAP = 16 * 1024;

/** TLS record header: content type (1), legacy version (2), length (2). */
const RECORD_HEADER = 5;
/** Handshake message header: type (1), length (3). */
const HANDSHAKE_HEADER = 4;
const CONTENT_HANDSHAKE = 22;

enum HandshakeType {
  ClientHello = 1,
  ServerHello = 2,
  Certificate = 11,
}

enum Extension {
  ServerName = 0,
  SupportedVersions = 43,
}

const VERSION_NAMES: Record<number, string> = {
  768: 'SSL 3.0',
  769: 'TLS 1.0',
  770: 'TLS 1.1',
  771: 'TLS 1.2',
  772: 'TLS 1.3',
};

/** IANA names of the suites seen in practice; others are shown as hex. */
const CIPHER_NAMES: Record<number, string> = {
  4: 'TLS_RSA_WITH_RC4_128_MD5',
  5: 'TLS_RSA_WITH_RC4_128_SHA',
  10: 'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
  22: 'TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA',
  47: 'TLS_RSA_WITH_AES_128_CBC_SHA',
  51: 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA',
  53: 'TLS_RSA_WITH_AES_256_CBC_SHA',
  57: 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA',
  60: 'TLS_RSA_WITH_AES_128_CBC_SHA256',
  61: 'TLS_RSA_WITH_AES_256_CBC_SHA256',
  103: 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256',
  107: 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256',
  156: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  157: 'TLS_RSA_WITH_AES_256_GCM_SHA384',
  158: 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256',
  159: 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384',
  4865: 'TLS_AES_128_GCM_SHA256',
  4866: 'TLS_AES_256_GCM_SHA384',
  4867: 'TLS_CHACHA20_POLY1305_SHA256',
  49161: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  49162: 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  49169: 'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
  49170: 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA',
  49171: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  49172: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  49187: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  49188: 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384',
  49191: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  49192: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
  49195: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  49196: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  49199: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  49200: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  52392: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  52393: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  52394: 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
};

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

export function tlsVersionName(version: number): string {
  return VERSION_NAMES[version] ?? hex4(version);
}

export function cipherSuiteName(suite: number): string {
  return CIPHER_NAMES[suite] ?? hex4(suite);
}

/** GREASE values (RFC 8701: 0x0a0a, 0x1a1a, ...) are noise a client adds on purpose. */
function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}

/**
 * Reads one direction's handshake: records are collected up to the cap, their handshake payload
 * joined (a message may span records, a record may hold several), and each complete message
 * parsed. `done` once the interesting messages were seen or the stream stopped being handshake.
 */
export class TlsHandshakeReader {
  done = false;
  private records: Buffer[] = [];
  private recordBytes = 0;
  private handshake = Buffer.alloc(0);
  private seen = 0;

  constructor(
    private readonly side: 'client' | 'server',
    private readonly info: TlsInfo,
  ) {}

  push(bytes: Buffer): void {
    if (this.done) return;
    const room = TLS_PARSE_CAP - this.seen;
    const take = bytes.subarray(0, Math.max(0, room));
    this.seen += take.length;
    this.records.push(Buffer.from(take));
    this.recordBytes += take.length;
    this.readRecords();
    if (this.seen >= TLS_PARSE_CAP) this.finish();
  }

  private finish(): void {
    this.done = true;
    this.records = [];
    this.handshake = Buffer.alloc(0);
  }

  private readRecords(): void {
    let buf = this.records.length === 1 ? this.records[0] : Buffer.concat(this.records, this.recordBytes);
    while (!this.done && buf.length >= RECORD_HEADER) {
      const type = buf[0];
      const length = buf.readUInt16BE(3);
      // Anything but a handshake record (alert, change cipher spec, application data, or not
      // TLS at all) means the cleartext part is over.
      if (type !== CONTENT_HANDSHAKE || buf[1] !== 3) {
        this.finish();
        return;
      }
      if (buf.length < RECORD_HEADER + length) break;
      this.handshake = Buffer.concat([this.handshake, buf.subarray(RECORD_HEADER, RECORD_HEADER + length)]);
      buf = buf.subarray(RECORD_HEADER + length);
      this.readMessages();
    }
    if (this.done) return;
    this.records = buf.length > 0 ? [buf] : [];
    this.recordBytes = buf.length;
  }

  private readMessages(): void {
    let hs = this.handshake;
    while (!this.done && hs.length >= HANDSHAKE_HEADER) {
      const length = hs.readUIntBE(1, 3);
      if (hs.length < HANDSHAKE_HEADER + length) break;
      const body = hs.subarray(HANDSHAKE_HEADER, HANDSHAKE_HEADER + length);
      this.message(hs[0], body);
      hs = hs.subarray(HANDSHAKE_HEADER + length);
    }
    this.handshake = hs;
  }

  private message(type: number, body: Buffer): void {
    try {
      if (this.side === 'client' && type === HandshakeType.ClientHello) {
        this.clientHello(body);
        this.finish();
      } else if (this.side === 'server' && type === HandshakeType.ServerHello) {
        this.serverHello(body);
        // From TLS 1.3 on the certificate is encrypted: nothing more to read.
        if (this.info.version === 'TLS 1.3') this.finish();
      } else if (this.side === 'server' && type === HandshakeType.Certificate) {
        this.certificate(body);
        this.finish();
      }
    } catch {
      // A truncated or malformed message: keep what was read so far.
      this.finish();
    }
  }

  private clientHello(body: Buffer): void {
    const legacy = body.readUInt16BE(0);
    let pos = 2 + 32;
    pos += 1 + body[pos]; // session id
    pos += 2 + body.readUInt16BE(pos); // cipher suites
    pos += 1 + body[pos]; // compression methods
    let versions: number[] = [];
    for (const [type, data] of extensions(body, pos)) {
      if (type === Extension.ServerName) this.info.sni = serverName(data);
      else if (type === Extension.SupportedVersions) {
        for (let i = 1; i + 1 < 1 + data[0] && i + 1 < data.length; i += 2) {
          const v = data.readUInt16BE(i);
          if (!isGrease(v)) versions.push(v);
        }
      }
    }
    if (versions.length === 0) versions = [legacy];
    this.info.offeredVersions = versions.map(tlsVersionName);
  }

  private serverHello(body: Buffer): void {
    let version = body.readUInt16BE(0);
    let pos = 2 + 32;
    pos += 1 + body[pos]; // session id
    const suite = body.readUInt16BE(pos);
    pos += 2 + 1; // cipher suite, compression method
    for (const [type, data] of extensions(body, pos)) {
      if (type === Extension.SupportedVersions && data.length >= 2) version = data.readUInt16BE(0);
    }
    this.info.version = tlsVersionName(version);
    this.info.cipher = cipherSuiteName(suite);
  }

  private certificate(body: Buffer): void {
    const total = body.readUIntBE(0, 3);
    if (total < 3) return;
    const length = body.readUIntBE(3, 3);
    const der = body.subarray(6, 6 + length);
    if (der.length < length) return;
    const cert = new X509Certificate(der);
    this.info.certificate = {
      subject: distinguishedName(cert.subject),
      issuer: distinguishedName(cert.issuer),
      notBefore: isoDate(cert.validFrom),
      notAfter: isoDate(cert.validTo),
    };
  }
}

/** The extensions block at `pos` as [type, data] pairs; stops quietly at a short one. */
function* extensions(body: Buffer, pos: number): Generator<[number, Buffer]> {
  if (pos + 2 > body.length) return;
  const end = Math.min(body.length, pos + 2 + body.readUInt16BE(pos));
  let at = pos + 2;
  while (at + 4 <= end) {
    const type = body.readUInt16BE(at);
    const length = body.readUInt16BE(at + 2);
    if (at + 4 + length > end) return;
    yield [type, body.subarray(at + 4, at + 4 + length)];
    at += 4 + length;
  }
}

/** The host_name entry of a server_name extension (RFC 6066 §3). */
function serverName(data: Buffer): string | null {
  let pos = 2;
  while (pos + 3 <= data.length) {
    const type = data[pos];
    const length = data.readUInt16BE(pos + 1);
    if (type === 0) return data.toString('latin1', pos + 3, Math.min(data.length, pos + 3 + length));
    pos += 3 + length;
  }
  return null;
}

/** node:crypto prints a DN one attribute per line; one line reads better in tables and JSON. */
function distinguishedName(text: string): string {
  return text.split('\n').filter(Boolean).join(', ');
}

/** `Jan  1 00:00:00 2025 GMT` as ISO 8601; the text as it is when it does not parse. */
function isoDate(text: string): string {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}
