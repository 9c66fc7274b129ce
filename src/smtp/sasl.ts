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

/**
 * Follows one AUTH exchange: the mechanism and initial response from the AUTH line, then each
 * server challenge and client response, filling the attempt's credentials as they are decoded.
 */
export class SaslExchange {
  readonly attempt: AuthAttempt;
  private responses = 0;
  private lastPrompt = '';

  constructor(mechanism: string, initialResponse: string | null) {
    this.attempt = { mechanism: mechanism.toUpperCase(), reply: null, success: false };
    if (initialResponse !== null) this.response(initialResponse);
  }

  /** Whether the mechanism still owes a client response when no server reply can say so. */
  get awaitingResponse(): boolean {
    const mechanism = this.attempt.mechanism;
    const needed = mechanism === 'LOGIN' ? 2 : mechanism === 'PLAIN' || mechanism === 'CRAM-MD5' ? 1 : 0;
    return this.responses < needed && this.attempt.response !== '*';
  }

  /** A 334 challenge from the server (its text is base64). */
  challenge(text: string): void {
    const bytes = base64Bytes(text);
    this.lastPrompt = bytes ? utf8(bytes) : text;
    if (this.attempt.mechanism === 'CRAM-MD5') this.attempt.challenge = this.lastPrompt;
  }

  /** A client response line (base64, or `*` to cancel). */
  response(text: string): void {
    const index = this.responses++;
    if (text.trim() === '*') {
      this.attempt.response = '*';
      return;
    }
    const bytes = base64Bytes(text);
    const mechanism = this.attempt.mechanism;
    if (bytes === null) {
      this.attempt.response = text;
      return;
    }
    if (mechanism === 'PLAIN') {
      const [authzid = '', username = '', password = ''] = utf8(bytes).split('\0');
      this.attempt.authzid = authzid;
      this.attempt.username = username;
      this.attempt.password = password;
    } else if (mechanism === 'LOGIN') {
      const prompt = this.lastPrompt.toLowerCase();
      const isPassword = prompt.startsWith('pass') || (!prompt.startsWith('user') && index > 0);
      if (isPassword) this.attempt.password = utf8(bytes);
      else this.attempt.username = utf8(bytes);
    } else if (mechanism === 'CRAM-MD5') {
      const text = utf8(bytes);
      const space = text.lastIndexOf(' ');
      this.attempt.username = space < 0 ? '' : text.slice(0, space);
      this.attempt.response = space < 0 ? text : text.slice(space + 1);
    } else {
      this.attempt.response =
        this.attempt.response === undefined ? text : `${this.attempt.response}\n${text}`;
    }
  }
}
