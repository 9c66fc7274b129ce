import type { MessageRecord } from '../../src/mail/message-record.js';
import type { SessionRecord } from '../../src/smtp/records.js';

/**
 * A session record with every field at its empty value (no greeting, no TLS, no transactions,
 * zero counts), for tests that build records by hand: they override what they assert on.
 */
export function sessionRecord(
  overrides: Partial<SessionRecord<MessageRecord>> = {},
): SessionRecord<MessageRecord> {
  return {
    id: 'S1',
    communityId: '1:test',
    client: { ip: '127.0.0.1', port: 40000 },
    server: { ip: '127.0.0.1', port: 25 },
    start: '',
    end: '',
    durationMs: 0,
    state: 'complete',
    missingSide: null,
    greeting: null,
    helo: null,
    extensions: [],
    ehlo: null,
    xclient: [],
    tls: {
      offered: false,
      started: false,
      implicit: false,
      at: null,
      version: null,
      sni: null,
      cipher: null,
      certificate: null,
      offeredVersions: null,
      plaintextMail: false,
    },
    auth: [],
    transactions: [],
    commands: [],
    anomalies: [],
    bytes: { client: 0, server: 0 },
    duplicates: { client: 0, server: 0 },
    gaps: { client: 0, server: 0 },
    ...overrides,
  };
}
