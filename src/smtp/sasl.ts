import { createHash } from 'node:crypto';
import type { AuthAttempt } from './records.js';

/** Base64 text as bytes, or null when it is not base64 (clients sometimes send junk). */
function base64Bytes(text: string): Buffer | null {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '=') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return null;
  return Buffer.from(trimmed, 'base64');
}

function utf8(bytes: Buffer): string {
  return bytes.toString('utf8');
}

/** NTLMSSP message signature and the security-buffer offsets of a type 3 (AUTHENTICATE) message. */
const NTLMSSP = Buffer.from('NTLMSSP\0', 'latin1');
const NTLM_CHALLENGE = 2;
const NTLM_AUTHENTICATE = 3;
const NTLM_TYPE3_LM = 12;
const NTLM_TYPE3_NT = 20;
const NTLM_TYPE3_DOMAIN = 28;
const NTLM_TYPE3_USER = 36;
const NTLM_TYPE3_WORKSTATION = 44;
const NTLM_TYPE3_FLAGS = 60;
/** Offset of the 8-byte server challenge in a type 2 (CHALLENGE) message. */
const NTLM_TYPE2_CHALLENGE = 24;
const NTLM_NEGOTIATE_UNICODE = 0x1;
/** An NTLMv1 response is exactly 24 bytes; anything longer is NTLMv2. */
const NTLMV1_RESPONSE = 24;

/** Token summaries keep this many characters of the token: enough to tell tokens apart, not to use one. */
const TOKEN_PREFIX = 8;

/**
 * Follows one AUTH exchange: the mechanism and initial response from the AUTH line, then each
 * server challenge and client response, filling the attempt's credentials as they are decoded.
 */
export class SaslExchange {
  readonly attempt: AuthAttempt;
  private responses = 0;
  private lastPrompt = '';
  /** CRAM-MD5 challenge and response as sent (base64), for the cracker line. */
  private challengeWire: string | null = null;
  /** NTLM: the server challenge of the type 2 message. */
  private ntlmChallenge: Buffer | null = null;

  constructor(mechanism: string, initialResponse: string | null, packet?: number) {
    this.attempt = { mechanism: mechanism.toUpperCase(), reply: null, success: false };
    if (packet !== undefined) this.attempt.packet = packet;
    if (initialResponse !== null) this.response(initialResponse);
  }

  /** Whether the mechanism still owes a client response when no server reply can say so. */
  get awaitingResponse(): boolean {
    if (this.attempt.cancelled) return false;
    const mechanism = this.attempt.mechanism;
    const needed = mechanism === 'LOGIN' ? 2 : mechanism === 'NTLM' ? 2 : ONE_RESPONSE.has(mechanism) ? 1 : 0;
    return this.responses < needed;
  }

  /** A 334 challenge from the server (its text is base64). */
  challenge(text: string): void {
    const bytes = base64Bytes(text);
    this.lastPrompt = bytes ? utf8(bytes) : text;
    const mechanism = this.attempt.mechanism;
    if (mechanism === 'CRAM-MD5') {
      this.attempt.challenge = this.lastPrompt;
      this.challengeWire = text.trim();
    } else if (mechanism === 'NTLM' && bytes && isNtlm(bytes, NTLM_CHALLENGE)) {
      if (bytes.length >= NTLM_TYPE2_CHALLENGE + 8) {
        this.ntlmChallenge = bytes.subarray(NTLM_TYPE2_CHALLENGE, NTLM_TYPE2_CHALLENGE + 8);
        this.attempt.challenge = this.ntlmChallenge.toString('hex');
      }
    }
  }

  /** A client response line (base64, or `*` to cancel). */
  response(text: string): void {
    this.responses++;
    if (text.trim() === '*') {
      this.attempt.cancelled = true;
      return;
    }
    const bytes = base64Bytes(text);
    const mechanism = this.attempt.mechanism;
    if (bytes === null) {
      this.attempt.response = text;
      return;
    }
    switch (mechanism) {
      case 'PLAIN': {
        const [authzid = '', username = '', password = ''] = utf8(bytes).split('\0');
        this.attempt.authzid = authzid;
        this.attempt.username = username;
        this.attempt.password = password;
        return;
      }
      case 'LOGIN': {
        const prompt = this.lastPrompt.toLowerCase();
        // The prompt says which is asked; without one (user on the AUTH line, or prompts in
        // another language) the first response is the user and the next the password.
        const isPassword =
          prompt.startsWith('pass') || (!prompt.startsWith('user') && this.attempt.username !== undefined);
        if (isPassword) this.attempt.password = utf8(bytes);
        else this.attempt.username = utf8(bytes);
        return;
      }
      case 'CRAM-MD5': {
        const decoded = utf8(bytes);
        const space = decoded.lastIndexOf(' ');
        this.attempt.username = space < 0 ? '' : decoded.slice(0, space);
        this.attempt.response = space < 0 ? decoded : decoded.slice(space + 1);
        // hashcat mode 10200 and John's hmac-md5 take the two base64 strings as sent.
        if (this.challengeWire !== null)
          this.attempt.crack = `$cram_md5$${this.challengeWire}$${text.trim()}`;
        return;
      }
      case 'XOAUTH2':
        // After a failed XOAUTH2 the server sends an error as a 334 and the client answers
        // with an empty line: that is no credential.
        if (bytes.length > 0) this.bearer(utf8(bytes), 'xoauth2');
        return;
      case 'OAUTHBEARER':
        if (bytes.length > 0) this.bearer(utf8(bytes), 'oauthbearer');
        return;
      case 'NTLM':
        if (isNtlm(bytes, NTLM_AUTHENTICATE)) this.ntlmAuthenticate(bytes);
        return;
      default:
        this.attempt.response =
          this.attempt.response === undefined ? text : `${this.attempt.response}\n${text}`;
    }
  }

  /**
   * XOAUTH2: `user=<user>^Aauth=Bearer <token>^A^A`; OAUTHBEARER (RFC 7628) starts with a GS2
   * header `n,a=<user>,` before the same ^A-separated key=value pairs.
   */
  private bearer(text: string, form: 'xoauth2' | 'oauthbearer'): void {
    const parts = text.split('\x01');
    if (form === 'oauthbearer') {
      const gs2 = parts.shift() ?? '';
      const authzid = /(?:^|,)a=([^,]*)/.exec(gs2);
      if (authzid) this.attempt.username = authzid[1].replace(/=2C/g, ',').replace(/=3D/g, '=');
    }
    for (const part of parts) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const key = part.slice(0, eq).toLowerCase();
      const value = part.slice(eq + 1);
      if (key === 'user') this.attempt.username = value;
      else if (key === 'auth') {
        const match = /^(\S+)\s+(.*)$/.exec(value);
        const scheme = match ? match[1] : '';
        const token = match ? match[2] : value;
        this.attempt.token = token;
        this.attempt.tokenSummary = tokenSummary(scheme, token);
      }
    }
  }

  /** NTLM type 3: who (user, domain, workstation) and the responses a cracker needs. */
  private ntlmAuthenticate(bytes: Buffer): void {
    const unicode =
      bytes.length >= NTLM_TYPE3_FLAGS + 4 &&
      (bytes.readUInt32LE(NTLM_TYPE3_FLAGS) & NTLM_NEGOTIATE_UNICODE) !== 0;
    const text = (field: number): string => {
      const value = securityBuffer(bytes, field);
      return value.toString(unicode ? 'utf16le' : 'latin1');
    };
    const user = text(NTLM_TYPE3_USER);
    const domain = text(NTLM_TYPE3_DOMAIN);
    this.attempt.username = user;
    this.attempt.domain = domain;
    this.attempt.workstation = text(NTLM_TYPE3_WORKSTATION);
    const nt = securityBuffer(bytes, NTLM_TYPE3_NT);
    const lm = securityBuffer(bytes, NTLM_TYPE3_LM);
    const challenge = this.ntlmChallenge?.toString('hex');
    if (challenge === undefined || nt.length === 0) return;
    // hashcat 5600 (NetNTLMv2): user::domain:challenge:NTProofStr:blob;
    // hashcat 5500 (NetNTLMv1): user::domain:lm:nt:challenge.
    if (nt.length > NTLMV1_RESPONSE) {
      this.attempt.crack = `${user}::${domain}:${challenge}:${nt.subarray(0, 16).toString('hex')}:${nt.subarray(16).toString('hex')}`;
    } else {
      this.attempt.crack = `${user}::${domain}:${lm.toString('hex')}:${nt.toString('hex')}:${challenge}`;
    }
  }
}

/** Mechanisms whose credentials travel in one client response. */
const ONE_RESPONSE = new Set(['PLAIN', 'CRAM-MD5', 'XOAUTH2', 'OAUTHBEARER']);

function isNtlm(bytes: Buffer, type: number): boolean {
  return bytes.length >= 12 && bytes.subarray(0, 8).equals(NTLMSSP) && bytes.readUInt32LE(8) === type;
}

/** An NTLM security buffer (length u16, allocated u16, offset u32) at `at`: its bytes, or empty. */
function securityBuffer(bytes: Buffer, at: number): Buffer {
  if (bytes.length < at + 8) return Buffer.alloc(0);
  const length = bytes.readUInt16LE(at);
  const offset = bytes.readUInt32LE(at + 4);
  if (offset + length > bytes.length) return Buffer.alloc(0);
  return bytes.subarray(offset, offset + length);
}

/** `Bearer ya29.a0Af… (183 chars, sha256 1a2b3c4d)`: tells tokens apart without giving one away. */
export function tokenSummary(scheme: string, token: string): string {
  const digest = createHash('sha256').update(token).digest('hex').slice(0, 8);
  const head = token.length > TOKEN_PREFIX ? `${token.slice(0, TOKEN_PREFIX)}…` : '…';
  return `${scheme ? `${scheme} ` : ''}${head} (${token.length} chars, sha256 ${digest})`;
}
