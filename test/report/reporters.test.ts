import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InputSummary } from '../../src/capture/raw-packet.js';
import type { MessageRecord } from '../../src/mail/message-record.js';
import { DialogueStore } from '../../src/report/dialogue-store.js';
import { jsonDocument, ndjsonLine } from '../../src/report/json.js';
import { renderSessionsTable } from '../../src/report/session-table.js';
import { computeStats, renderStats } from '../../src/report/stats.js';
import { renderTranscript } from '../../src/report/transcript.js';
import type { DialogueEvent } from '../../src/smtp/dialogue.js';
import type { Reply, SessionRecord, Transaction } from '../../src/smtp/records.js';
import { Direction } from '../../src/tcp/stream.js';
import { sessionRecord } from '../helpers/session-record.js';

type Session = SessionRecord<MessageRecord>;
type Tx = Transaction<MessageRecord>;

// ---- factory ------------------------------------------------------------------------------

function reply(code: number, text = 'OK', packet = 1): Reply {
  return { code, enhanced: null, text, packet };
}

function message(overrides: Partial<MessageRecord> = {}): MessageRecord {
  return {
    date: null,
    from: 'sender@client.test',
    sender: null,
    replyTo: null,
    to: ['alice@example.test'],
    cc: [],
    subject: 'Quarterly report',
    messageId: '<1@client.test>',
    inReplyTo: null,
    references: [],
    userAgent: null,
    xOriginatingIp: null,
    returnPath: null,
    received: [],
    parts: [],
    attachments: [],
    urls: [],
    emails: [],
    domains: [],
    anomalies: [],
    ...overrides,
  };
}

function tx(overrides: Partial<Tx> = {}): Tx {
  return {
    index: 1,
    start: '2026-11-30T12:00:01.123456Z',
    end: '2026-11-30T12:00:02.000000Z',
    mailFrom: { address: 'sender@client.test', params: { SIZE: '302' }, reply: reply(250) },
    rcptTo: [{ address: 'alice@example.test', params: {}, reply: reply(250), accepted: true }],
    data: {
      method: 'DATA',
      size: 302,
      sha256: 'ab'.repeat(32),
      reply: reply(250, '2.0.0 Ok: queued as 4F1'),
      queueId: '4F1',
      gaps: [],
    },
    status: 'delivered',
    message: message(),
    ...overrides,
  };
}

const COMMANDS: Session['commands'] = [
  { ts: '2026-11-30T12:00:00.600000Z', packet: 4, verb: 'EHLO', arg: 'client.test', reply: reply(250) },
  {
    ts: '2026-11-30T12:00:01.123456Z',
    packet: 6,
    verb: 'MAIL',
    arg: 'FROM:<sender@client.test>',
    reply: reply(250),
  },
  {
    ts: '2026-11-30T12:00:01.2Z',
    packet: 8,
    verb: 'RCPT',
    arg: 'TO:<alice@example.test>',
    reply: reply(250),
  },
  { ts: '2026-11-30T12:00:01.3Z', packet: 10, verb: 'DATA', arg: '', reply: reply(354) },
];

function session(overrides: Partial<Session> = {}): Session {
  return sessionRecord({
    communityId: '1:abc=',
    client: { ip: '192.0.2.10', port: 40000 },
    server: { ip: '198.51.100.25', port: 25 },
    start: '2026-11-30T12:00:00.500000Z',
    end: '2026-11-30T12:00:03.000000Z',
    durationMs: 2500,
    greeting: reply(220, 'mx.example.test ESMTP'),
    helo: { verb: 'EHLO', name: 'client.test', reply: reply(250) },
    extensions: ['PIPELINING', 'SIZE 10240000'],
    transactions: [tx()],
    commands: structuredClone(COMMANDS),
    bytes: { client: 400, server: 200 },
    ...overrides,
  });
}

let packet = 0;
function ev(dir: Direction, kind: DialogueEvent['kind'], text: string | Buffer | number): DialogueEvent {
  packet++;
  const ts = `2026-11-30T12:00:01.${String(packet).padStart(6, '0')}Z`;
  if (typeof text === 'number') return { dir, kind, ts, packet, bytes: Buffer.alloc(0), length: text };
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return { dir, kind, ts, packet, bytes, length: bytes.length };
}
const C = Direction.ClientToServer;
const S = Direction.ServerToClient;

// ---- hostile input --------------------------------------------------------------------------

const HOSTILE =
  '\x1b[2J\x1b]8;;https://evil.test\x1b\\link\x1b]8;;\x1b\\\x1b]0;title\x07\x07\x08\r\u009b31m\u202eabc\x00';
const HOSTILE_BYTES = Buffer.concat([Buffer.from(HOSTILE, 'utf8'), Buffer.from([0x9b, 0x1b, 0x63, 0xff])]);

/** Anything a terminal would act on or hide; ESC is checked separately. */
const UNSAFE = /[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f\x80-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]/u;
/** Our own SGR codes: `ESC [ digits m`. */
const SGR = /\x1b\[[0-9;]*m/g;

function assertSafe(output: string, colour: boolean): void {
  assert.doesNotMatch(output, UNSAFE);
  const withoutSgr = colour ? output.replace(SGR, '') : output;
  assert.ok(!withoutSgr.includes('\x1b'), `raw ESC in output: ${JSON.stringify(withoutSgr)}`);
}

function hostileSession(): Session {
  const base = session();
  return session({
    id: `S9${HOSTILE}`,
    client: { ip: `10.0.0.1${HOSTILE}`, port: 1 },
    greeting: reply(220, HOSTILE),
    helo: { verb: 'EHLO', name: HOSTILE, reply: reply(250, HOSTILE) },
    tls: { ...base.tls, offered: true, started: true, version: HOSTILE, sni: HOSTILE, cipher: HOSTILE },
    auth: [{ mechanism: HOSTILE, username: HOSTILE, password: HOSTILE, reply: reply(235), success: true }],
    anomalies: [{ code: HOSTILE, packet: 3, detail: HOSTILE }],
    transactions: [
      tx({
        mailFrom: { address: HOSTILE, params: {}, reply: null },
        rcptTo: [
          { address: HOSTILE, params: {}, reply: reply(250), accepted: true },
          { address: `x${HOSTILE}`, params: {}, reply: reply(550, HOSTILE), accepted: false },
        ],
        message: message({ subject: HOSTILE, anomalies: [HOSTILE] }),
      }),
    ],
  });
}

// ---- table ----------------------------------------------------------------------------------

/** The table's body rows as arrays of trimmed cells (single-line rows only). */
function cells(output: string): string[][] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .map((l) =>
      l
        .split('│')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
}

describe('renderSessionsTable', () => {
  it('renders one row per transaction with the right cells', () => {
    const out = renderSessionsTable([session()], { colour: false });
    const rows = cells(out);
    assert.deepEqual(rows[0], [
      'session',
      'start',
      'client → server',
      'mail from',
      'recipients',
      'size',
      'status',
      'subject',
    ]);
    assert.deepEqual(rows[1], [
      'S1',
      '2026-11-30 12:00:01.123456',
      '192.0.2.10:40000 → 198.51.100.25:25',
      'sender@client.test',
      'alice@example.test',
      '302',
      'delivered',
      'Quarterly report',
    ]);
    assert.ok(out.endsWith('1 session, 1 transaction (1 delivered, 0 rejected, 0 aborted, 0 incomplete)\n'));
  });

  it('shows the null sender, rejected recipients, IPv6 and truncated subjects', () => {
    const s = session({
      client: { ip: '2001:db8::1', port: 50000 },
      server: { ip: '2001:db8::25', port: 25 },
      transactions: [
        tx({
          mailFrom: { address: '', params: {}, reply: null },
          rcptTo: [{ address: 'bob@x.test', params: {}, reply: reply(550), accepted: false }],
          data: null,
          status: 'rejected',
          message: null,
        }),
        tx({ index: 2, message: message({ subject: 'x'.repeat(100) }) }),
      ],
    });
    const out = renderSessionsTable([s], { colour: false });
    const rows = cells(out);
    assert.deepEqual(rows[1].slice(2, 7), [
      '[2001:db8::1]:50000 → [2001:db8::25]:25',
      '<>',
      '✗ bob@x.test (550)',
      '',
      'rejected',
    ]);
    assert.equal(rows[2][7], `${'x'.repeat(39)}…`);
    assert.match(out, /1 session, 2 transactions \(1 delivered, 1 rejected, 0 aborted, 0 incomplete\)\n$/);
  });

  it('gives sessions without a transaction one row saying why', () => {
    const refused = session({ id: 'S2', greeting: reply(421), helo: null, transactions: [], commands: [] });
    const tls = session({
      id: 'S3',
      transactions: [],
      tls: { ...session().tls, offered: true, started: true },
    });
    const nomail = session({ id: 'S4', transactions: [] });
    const rows = cells(renderSessionsTable([refused, tls, nomail], { colour: false }));
    assert.deepEqual(
      rows.slice(1).map((r) => [r[0], r[6]]),
      [
        ['S2', 'refused 421'],
        ['S3', 'tls'],
        ['S4', 'no mail'],
      ],
    );
  });

  it('draws rows by session number whatever order the sessions came in', () => {
    const made = Array.from({ length: 12 }, (_, i) => session({ id: `S${i + 1}` }));
    const inOrder = renderSessionsTable(made, { colour: false });
    // Sessions end in any order.
    const shuffled = [made[7], made[2], made[11], made[0], made[9], made[4], made[1], made[10]];
    shuffled.push(...made.filter((s) => !shuffled.includes(s)));
    assert.equal(renderSessionsTable(shuffled, { colour: false }), inOrder);
    assert.deepEqual(
      cells(inOrder)
        .slice(1)
        .map((r) => r[0]),
      made.flatMap((s) => s.transactions.map(() => s.id)),
    );
  });

  it('shows an auth column only when some session authenticated; passwords only on request', () => {
    const s = session({
      auth: [{ mechanism: 'PLAIN', username: 'alice', password: 's3cret', reply: reply(235), success: true }],
    });
    const hidden = renderSessionsTable([s], { colour: false });
    assert.equal(cells(hidden)[0][3], 'auth');
    assert.equal(cells(hidden)[1][3], '✓ PLAIN alice');
    assert.ok(!hidden.includes('s3cret'));
    const shown = renderSessionsTable([s], { colour: false, showSecrets: true });
    assert.equal(cells(shown)[1][3], '✓ PLAIN alice:s3cret');
    assert.ok(!cells(renderSessionsTable([session()], { colour: false }))[0].includes('auth'));
  });

  it('has no escape sequences with colour off and SGR codes with colour on', () => {
    assert.ok(!renderSessionsTable([session()], { colour: false }).includes('\x1b'));
    const coloured = renderSessionsTable([session()], { colour: true });
    assert.ok(coloured.includes('\x1b[32mdelivered\x1b[39m'));
  });

  it('never lets hostile bytes through', () => {
    for (const colour of [false, true]) {
      const out = renderSessionsTable([hostileSession()], { colour, showSecrets: true });
      assertSafe(out, colour);
      assert.ok(out.includes('\\e[2J'));
    }
  });
});

// ---- transcript -----------------------------------------------------------------------------

function dialogue(bodyCount: number): DialogueEvent[] {
  packet = 0;
  const events = [
    ev(S, 'line', '220 mx.example.test ESMTP\r\n'),
    ev(C, 'line', 'EHLO client.test\r\n'),
    ev(S, 'line', '250-mx.example.test\r\n'),
    ev(S, 'line', '250 PIPELINING\r\n'),
    ev(C, 'line', 'MAIL FROM:<sender@client.test>\r\n'),
    ev(S, 'line', '250 OK\r\n'),
    ev(C, 'line', 'DATA\r\n'),
    ev(S, 'line', '354 go ahead\r\n'),
  ];
  for (let i = 1; i <= bodyCount; i++) events.push(ev(C, 'body', `line ${i}\r\n`));
  events.push(ev(C, 'line', '.\r\n'), ev(S, 'line', '250 queued\r\n'));
  return events;
}

describe('DialogueStore', () => {
  it("joins a packet's message lines, renders them line by line, and counts what passes its budget", () => {
    const events = dialogue(3);
    // The three body lines as if one packet carried them.
    for (const e of events.filter((e) => e.kind === 'body')) e.packet = 100;
    const everything = new DialogueStore();
    for (const e of events) everything.add('S1', e);
    const held = everything.take('S1');
    assert.equal(held.events.length, events.length - 2);
    assert.equal(
      held.events.filter((e) => e.kind === 'body')[0].bytes.toString(),
      'line 1\r\nline 2\r\nline 3\r\n',
    );
    assert.equal(
      renderTranscript(session(), held.events, { colour: false }),
      renderTranscript(session(), dialogue(3), { colour: false }).replace(
        /\.0000(09|10|11) C\|/g,
        '.000009 C|',
      ),
    );
    // A budget for the first two events: the other eleven are counted, with their bytes.
    const small = new DialogueStore(2 * 256 + 27 + 18);
    for (const e of dialogue(3)) small.add('S1', e);
    const cut = small.take('S1');
    assert.deepEqual(
      cut.events.map((e) => e.bytes.toString()),
      ['220 mx.example.test ESMTP\r\n', 'EHLO client.test\r\n'],
    );
    assert.equal(cut.omittedLines, 11);
    const out = renderTranscript(
      session(),
      cut.events,
      { colour: false },
      { lines: 11, bytes: cut.omittedBytes },
    );
    assert.ok(
      out.endsWith(
        `… 11 more lines (${cut.omittedBytes} bytes) not kept: the transcript holds at most 8 MiB of dialogue at once …\n`,
      ),
    );
    assert.deepEqual(small.take('S1').events, []);
  });
});

describe('renderTranscript', () => {
  it('renders a header and one line per event with time and direction', () => {
    const out = renderTranscript(session(), dialogue(2), { colour: false });
    const lines = out.split('\n');
    assert.equal(lines[0], 'Session S1  192.0.2.10:40000 → 198.51.100.25:25');
    assert.equal(
      lines[1],
      '  start 2026-11-30 12:00:00.500000  end 2026-11-30 12:00:03.000000  (2500 ms)  state complete',
    );
    assert.equal(lines[2], '  TLS: not offered');
    assert.ok(lines.includes('12:00:01.000001 S: 220 mx.example.test ESMTP'));
    assert.ok(lines.includes('12:00:01.000002 C: EHLO client.test'));
    assert.ok(lines.includes('12:00:01.000009 C| line 1'));
    assert.ok(out.endsWith('12:00:01.000012 S: 250 queued\n'));
  });

  it('marks a bare LF and a missing line ending, and shows tls and gap events', () => {
    packet = 0;
    const events = [
      ev(C, 'line', 'EHLO bare\n'),
      ev(C, 'line', 'QUIT'),
      ev(C, 'tls', 517),
      ev(S, 'gap', 1460),
    ];
    const out = renderTranscript(session(), events, { colour: false });
    assert.ok(out.includes('C: EHLO bare\\n\n'));
    assert.ok(out.includes('C: QUIT [no line end]\n'));
    assert.ok(out.includes('C: [TLS: 517 bytes]\n'));
    assert.ok(out.includes('S: [GAP: 1460 bytes missing]\n'));
  });

  it('elides body lines after bodyLines with a count of lines and bytes', () => {
    const out = renderTranscript(session(), dialogue(10), { colour: false, bodyLines: 3 });
    assert.ok(out.includes('C| line 3\n'));
    assert.ok(!out.includes('line 4'));
    // Lines 4..9 are 8 bytes each with CRLF, line 10 is 9.
    assert.ok(out.includes('12:00:01.000012 C| … 7 more lines (57 bytes) …\n'));
    assert.equal(out.match(/…/g)?.length, 2);
    assert.ok(out.includes('C: .\n'));
    const all = renderTranscript(session(), dialogue(10), { colour: false });
    assert.ok(all.includes('C| line 10\n'));
    assert.ok(!all.includes('more line'));
  });

  it('counts body lines per message (BDAT chunks belong to one message)', () => {
    packet = 0;
    const events = [
      ev(C, 'line', 'MAIL FROM:<a@b.test>\r\n'),
      ev(C, 'line', 'BDAT 10\r\n'),
      ev(C, 'body', 'one\r\n'),
      ev(C, 'body', 'two\r\n'),
      ev(S, 'line', '250 ok\r\n'),
      ev(C, 'line', 'BDAT 5 LAST\r\n'),
      ev(C, 'body', 'three\r\n'),
      ev(S, 'line', '250 ok\r\n'),
      ev(C, 'line', 'MAIL FROM:<a@b.test>\r\n'),
      ev(C, 'line', 'DATA\r\n'),
      ev(C, 'body', 'four\r\n'),
    ];
    const out = renderTranscript(session(), events, { colour: false, bodyLines: 1 });
    assert.ok(out.includes('C| one\n'));
    assert.ok(out.includes('C| … 1 more line (5 bytes) …\n'));
    assert.ok(out.includes('C| … 1 more line (7 bytes) …\n'));
    assert.ok(out.includes('C| four\n'));
    const none = renderTranscript(session(), events, { colour: false, bodyLines: 0 });
    assert.ok(!none.includes('C| one'));
    assert.ok(none.includes('C| … 2 more lines (10 bytes) …\n'));
  });

  it('shows TLS facts in the header', () => {
    const s = session({
      tls: {
        offered: true,
        started: true,
        implicit: false,
        at: '2026-11-30T12:00:01.000000Z',
        version: 'TLSv1.3',
        sni: 'mx.example.test',
        cipher: 'TLS_AES_128_GCM_SHA256',
        certificate: null,
        offeredVersions: null,
        plaintextMail: false,
      },
    });
    const header = renderTranscript(s, [], { colour: false }).split('\n')[2];
    assert.equal(
      header,
      '  TLS: started, at 2026-11-30 12:00:01.000000, TLSv1.3, sni mx.example.test, cipher TLS_AES_128_GCM_SHA256',
    );
  });

  it('colours client red and server blue only when colour is on', () => {
    const plain = renderTranscript(session(), dialogue(2), { colour: false, bodyLines: 1 });
    assert.ok(!plain.includes('\x1b'));
    const coloured = renderTranscript(session(), dialogue(2), { colour: true, bodyLines: 1 });
    assert.ok(coloured.includes('\x1b[31mEHLO client.test\x1b[39m'));
    assert.ok(coloured.includes('\x1b[34m220 mx.example.test ESMTP\x1b[39m'));
  });

  it('never lets hostile bytes through', () => {
    packet = 0;
    const events = [
      ev(S, 'line', Buffer.concat([Buffer.from('220 '), HOSTILE_BYTES, Buffer.from('\r\n')])),
      ev(C, 'line', Buffer.concat([HOSTILE_BYTES, Buffer.from('\n')])),
      ev(C, 'sasl', HOSTILE_BYTES),
      ev(C, 'body', Buffer.concat([HOSTILE_BYTES, Buffer.from('\r\n')])),
    ];
    for (const colour of [false, true]) {
      const out = renderTranscript(hostileSession(), events, { colour });
      assertSafe(out, colour);
      assert.ok(out.includes('\\e]0;title\\x07'));
      assert.ok(out.includes('\\x9b\\ec\\xff'));
    }
  });
});

// ---- stats ----------------------------------------------------------------------------------

describe('computeStats / renderStats', () => {
  const sessions = [
    session(),
    session({
      id: 'S2',
      server: { ip: '198.51.100.26', port: 25 },
      tls: { ...session().tls, offered: true, started: true },
      auth: [{ mechanism: 'LOGIN', username: 'u', reply: reply(535), success: false }],
      anomalies: [
        { code: 'bare-lf', packet: 3, detail: '' },
        { code: 'bare-lf', packet: 5, detail: '' },
      ],
      transactions: [
        tx({
          mailFrom: { address: '', params: {}, reply: null },
          rcptTo: [
            { address: 'alice@example.test', params: {}, reply: reply(250), accepted: true },
            { address: 'bob@example.test', params: {}, reply: reply(550), accepted: false },
          ],
          data: null,
          status: 'aborted',
          message: null,
        }),
      ],
    }),
  ];

  it('counts sessions, transactions, bytes, codes and tops', () => {
    const st = computeStats(sessions);
    assert.equal(st.sessions, 2);
    assert.deepEqual(st.transactions, { total: 2, delivered: 1, rejected: 0, aborted: 1, incomplete: 0 });
    assert.deepEqual(st.messages, { count: 1, bytes: 302 });
    // Greetings 2x220; commands 2x(250,250,250,354); the data's final 250.
    assert.deepEqual(st.replyCodes, [
      { value: 220, count: 2 },
      { value: 250, count: 7 },
      { value: 354, count: 2 },
    ]);
    assert.deepEqual(st.topSenders, [
      { value: '<>', count: 1 },
      { value: 'sender@client.test', count: 1 },
    ]);
    assert.deepEqual(st.topRecipients[0], { value: 'alice@example.test', count: 2 });
    assert.equal(st.topServers.length, 2);
    assert.deepEqual(st.anomalies, [{ value: 'bare-lf', count: 2 }]);
    assert.deepEqual(st.tls, { offered: 1, started: 1, implicit: 0 });
    assert.deepEqual(st.auth, {
      sessions: 1,
      attempts: 1,
      succeeded: 0,
      failed: 1,
      mechanisms: [{ value: 'LOGIN', count: 1 }],
    });
    assert.equal(computeStats(sessions, { top: 1 }).topSenders.length, 1);
  });

  it('renders tables without escapes when colour is off', () => {
    const out = renderStats(computeStats(sessions), { colour: false });
    assert.ok(!out.includes('\x1b'));
    assert.match(out, /│ alice@example\.test\s+│\s+2 │/);
    assert.match(out, /│ bare-lf\s+│\s+2 │/);
    assert.ok(renderStats(computeStats(sessions), { colour: true }).includes('\x1b[1mOverview\x1b[22m'));
  });

  it('never lets hostile bytes through', () => {
    for (const colour of [false, true])
      assertSafe(renderStats(computeStats([hostileSession()]), { colour }), colour);
  });
});

// ---- json -----------------------------------------------------------------------------------

describe('jsonDocument / ndjsonLine', () => {
  const inputs: InputSummary[] = [
    {
      file: 'a.pcap',
      format: 'pcap',
      linkTypes: [1],
      packets: 10,
      bytes: 1000,
      warnings: [{ code: 'truncated-record', packet: 11, offset: 980, detail: 'x' }],
    },
  ];

  it('round-trips the records under the contract keys', () => {
    const sessions = [session(), hostileSession()];
    const text = jsonDocument(inputs, sessions, '0.1.0');
    assert.ok(text.endsWith('}\n'));
    assert.ok(text.startsWith('{\n  "tool": "smtpcap",\n  "version": "0.1.0",\n'));
    const doc = JSON.parse(text);
    assert.deepEqual(Object.keys(doc), ['tool', 'version', 'sessions', 'inputs']);
    assert.deepEqual(doc, { tool: 'smtpcap', version: '0.1.0', inputs, sessions });
  });

  it('writes one line per session ending with a newline', () => {
    const line = ndjsonLine(hostileSession());
    assert.equal(line.indexOf('\n'), line.length - 1);
    assert.deepEqual(JSON.parse(line), hostileSession());
  });

  it('stays valid JSON with lone surrogates (escaped, not replaced)', () => {
    const s = session({ id: 'S\ud800x\udfff' });
    const line = ndjsonLine(s);
    assert.ok(line.includes('S\\ud800x\\udfff'));
    assert.ok(Buffer.from(line, 'utf8').toString('utf8') === line);
    assert.equal(JSON.parse(line).id, 'S\ud800x\udfff');
  });
});
