/**
 * Issue #4, SMTP found on any port by its content (ids still in first-packet order, a probe
 * that is not SMTP taking none), and the anomalies investigators act on: bare CR, recipient and
 * command floods held to their caps.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { DialogueEvent } from '../../src/smtp/dialogue.js';
import { analyseBuffer } from '../helpers/analyse-buffer.js';
import { type DialogueStep, tcpDialogue } from '../helpers/frames.js';
import { captureOf } from '../helpers/scripted-capture.js';
import { c, codes, s, sessionOf } from './helpers.js';

const sha256 = (bytes: string): string => createHash('sha256').update(bytes, 'latin1').digest('hex');
const SMTP_STEPS: DialogueStep[] = [
  s('220 mx.example ESMTP\r\n'),
  c('EHLO c\r\n'),
  s('250 mx.example\r\n'),
  c('MAIL FROM:<a@x>\r\n'),
  s('250 ok\r\n'),
  c('RCPT TO:<b@y>\r\n'),
  s('250 ok\r\n'),
  c('DATA\r\n'),
  s('354 go\r\n'),
  c('Subject: hi\r\n\r\nbody\r\n.\r\n'),
  s('250 queued as D1\r\n'),
  c('QUIT\r\n'),
  s('221 bye\r\n'),
];
const alt = (port: number, host = 10) => ({
  client: { ip: `192.0.2.${host}`, port: 40000 + host },
  server: { ip: '198.51.100.7', port },
});

describe('SMTP on any port', () => {
  it('finds a session on port 10025 by its 220 and EHLO; --no-detect does not', async () => {
    const capture = captureOf(tcpDialogue({ ...alt(10025), steps: SMTP_STEPS }));
    const { sessions } = await analyseBuffer(capture);
    assert.deepEqual(
      sessions.map((x) => [
        x.id,
        x.server.port,
        x.state,
        x.transactions[0]?.status,
        x.transactions[0]?.data?.queueId,
      ]),
      [['S1', 10025, 'complete', 'delivered', 'D1']],
    );
    assert.deepEqual((await analyseBuffer(capture, { detect: false })).sessions, []);
  });

  it('without the handshake, the side that greets with 220 is the server even when it spoke first to the capture', async () => {
    // The capture starts with the server's greeting, so the TCP layer guesses it is the client.
    const packets = tcpDialogue({ ...alt(10025), steps: SMTP_STEPS, handshake: false });
    const { sessions } = await analyseBuffer(captureOf(packets));
    assert.equal(sessions.length, 1);
    const [session] = sessions;
    assert.deepEqual([session.client, session.server], [alt(10025).client, alt(10025).server]);
    assert.equal(session.greeting?.text, 'mx.example ESMTP');
    assert.equal(session.transactions[0].data?.sha256, sha256('Subject: hi\r\n\r\nbody\r\n'));
    assert.equal(session.state, 'midstream');
  });

  it('an EHLO before the 220 in a mid-stream capture is found too', async () => {
    const steps: DialogueStep[] = [
      c('EHLO c\r\n'),
      s('220 mx.example ESMTP\r\n250 mx.example\r\n'),
      ...SMTP_STEPS.slice(3),
    ];
    const { sessions } = await analyseBuffer(
      captureOf(tcpDialogue({ ...alt(2626), steps, handshake: false })),
    );
    assert.deepEqual(
      sessions.map((x) => [x.server.port, x.transactions[0]?.status]),
      [[2626, 'delivered']],
    );
  });

  it('FTP (a 220 greeting, no HELO), HTTP and TLS on other ports are not SMTP', async () => {
    const ftp = tcpDialogue({
      ...alt(21, 11),
      steps: [s('220 ProFTPD Server ready\r\n'), c('USER anonymous\r\n'), s('331 Password required\r\n')],
    });
    const http = tcpDialogue({
      ...alt(8080, 12),
      steps: [c('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')],
    });
    const tls = tcpDialogue({
      ...alt(443, 13),
      steps: [c(Buffer.from([0x16, 3, 1, 0, 2, 1, 0])), s('220 ok\r\n')],
    });
    const { sessions } = await analyseBuffer(captureOf([...ftp, ...http, ...tls]));
    assert.deepEqual(sessions, []);
  });

  it('ids follow first packets: a probe that is not SMTP takes none, a session waits for an earlier undecided probe', async () => {
    const http = tcpDialogue({
      ...alt(8080, 21),
      steps: [c('GET / HTTP/1.1\r\n\r\n'), s('HTTP/1.1 204 No Content\r\n\r\n')],
    });
    const late = tcpDialogue({ ...alt(10025, 22), steps: SMTP_STEPS });
    const onPort = tcpDialogue({ ...alt(25, 23), steps: SMTP_STEPS });
    // HTTP opens first; the 10025 session opens next and stays undecided (only its greeting so
    // far) while the port-25 session runs from start to end.
    const packets = [...http.slice(0, 3), ...late.slice(0, 4), ...onPort, ...http.slice(3), ...late.slice(4)];
    const streamed: string[] = [];
    const events = new Map<string, DialogueEvent[]>();
    const { sessions } = await analyseBuffer(captureOf(packets), {
      onSession: (session) => streamed.push(`${session.id} ${session.server.port}`),
      dialogue: (id, event) => events.set(id, [...(events.get(id) ?? []), event]),
    });
    assert.deepEqual(
      sessions.map((x) => `${x.id} ${x.server.port}`),
      ['S1 10025', 'S2 25'],
    );
    assert.deepEqual(streamed, ['S2 25', 'S1 10025'], 'the port-25 session ends first and keeps its id S2');
    assert.deepEqual([...events.keys()].sort(), ['S1', 'S2'], 'dialogue events carry the final ids');
    assert.equal(events.get('S1')?.[0].bytes.toString(), '220 mx.example ESMTP\r\n');
  });
});

describe('anomalies', () => {
  it('bare CR inside a command line and inside a message', async () => {
    const session = await sessionOf([
      s('220 mx\r\n'),
      c('HELO c\rx\r\n'),
      s('250 mx\r\n'),
      c('MAIL FROM:<a@x>\r\n'),
      s('250 ok\r\n'),
      c('RCPT TO:<b@y>\r\n'),
      s('250 ok\r\n'),
      c('DATA\r\n'),
      s('354 go\r\n'),
      c('Subject: x\r\n\r\none\rtwo\r'),
      c('three\r\n.\r\n'),
      s('250 ok\r\n'),
    ]);
    assert.deepEqual(
      session.anomalies.map((a) => [a.code, a.detail]),
      [
        ['bare-cr', 'a CR without LF inside a command line'],
        ['bare-cr', '2 bare CRs in the message'],
      ],
    );
    assert.equal(session.transactions[0].data?.sha256, sha256('Subject: x\r\n\r\none\rtwo\rthree\r\n'));
  });

  it('a RCPT flood: recipients past the cap are counted, commands past theirs are not listed, replies stay in step', async () => {
    const rcpts = Array.from({ length: 8 }, (_, i) => `RCPT TO:<r${i}@y>\r\n`).join('');
    const session = await sessionOf(
      [
        s('220 mx\r\n'),
        c('EHLO c\r\n'),
        s('250-mx\r\n250 PIPELINING\r\n'),
        c(`MAIL FROM:<a@x>\r\n${rcpts}`),
        s(`250 ok\r\n${'250 ok\r\n'.repeat(7)}550 no\r\n`),
        c('DATA\r\n'),
        s('354 go\r\n'),
        c('x\r\n.\r\n'),
        s('250 queued as F1\r\n'),
      ],
      {},
      { smtpLimits: { maxRecipients: 3, maxCommands: 6 } },
    );
    const [tx] = session.transactions;
    assert.deepEqual(
      tx.rcptTo.map((r) => [r.address, r.reply?.code]),
      [
        ['r0@y', 250],
        ['r1@y', 250],
        ['r2@y', 250],
      ],
    );
    assert.equal(tx.rcptUnlisted, 5);
    assert.deepEqual([tx.status, tx.data?.queueId], ['delivered', 'F1']);
    assert.deepEqual(
      session.commands.map((cmd) => [cmd.verb, cmd.reply?.code]),
      [
        ['EHLO', 250],
        ['MAIL', 250],
        ['RCPT', 250],
        ['RCPT', 250],
        ['RCPT', 250],
        ['RCPT', 250],
      ],
    );
    assert.deepEqual(codes(session), ['too-many-recipients', 'command-cap']);
    assert.equal(session.anomalies[1].detail, '5 further commands read but not listed');
  });

  it('transaction and AUTH floods: past their caps they are followed and counted, and the rest stays in step', async () => {
    const message = (n: number) => [
      c(`MAIL FROM:<m${n}@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n`),
      s('250 ok\r\n250 ok\r\n354 go\r\n'),
      c(`Subject: ${n}\r\n\r\nbody ${n}\r\n.\r\n`),
      s(`250 queued as Q${n}\r\n`),
    ];
    const session = await sessionOf(
      [
        s('220 mx\r\n'),
        c('EHLO c\r\n'),
        s('250-mx\r\n250-AUTH PLAIN\r\n250 PIPELINING\r\n'),
        ...[1, 2, 3].flatMap((n) => [
          c(`AUTH PLAIN ${Buffer.from(`\0u${n}\0p${n}`).toString('base64')}\r\n`),
          s('535 no\r\n'),
        ]),
        ...[1, 2, 3, 4].flatMap(message),
        c('QUIT\r\n'),
        s('221 bye\r\n'),
      ],
      {},
      { smtpLimits: { maxTransactions: 2, maxAuthAttempts: 2 } },
    );
    assert.deepEqual(
      session.transactions.map((tx) => [tx.index, tx.mailFrom?.address, tx.status, tx.data?.queueId]),
      [
        [1, 'm1@x', 'delivered', 'Q1'],
        [2, 'm2@x', 'delivered', 'Q2'],
      ],
    );
    assert.deepEqual(
      session.auth.map((a) => [a.username, a.password, a.reply?.code]),
      [
        ['u1', 'p1', 535],
        ['u2', 'p2', 535],
      ],
    );
    assert.deepEqual(
      session.anomalies.map((a) => [a.code, a.detail]),
      [
        ['transaction-cap', '2 further transactions followed but not listed (their messages not read)'],
        ['auth-cap', '1 further AUTH attempts followed but not listed'],
      ],
    );
    // The commands after the caps were still answered in order: QUIT got its 221.
    assert.equal(session.commands.at(-1)?.reply?.code, 221);
    assert.equal(session.state, 'complete');
  });

  it('a multi-line reply of 1,500 lines keeps 1000 and its last, counts the other 499, and stays in step', async () => {
    const lines = Array.from({ length: 1499 }, (_, i) => `250-CAP${i}\r\n`).join('');
    const session = await sessionOf([
      s('220 mx\r\n'),
      c('EHLO c\r\n'),
      s(`${lines}250 LAST\r\n`),
      c('QUIT\r\n'),
      s('221 bye\r\n'),
    ]);
    assert.deepEqual(
      session.anomalies.map((a) => [a.code, a.detail]),
      [['reply-cap', '499 lines of a multi-line reply read but not kept']],
    );
    const ehlo = session.commands[0].reply;
    assert.equal(ehlo?.code, 250);
    const kept = ehlo?.text.split('\n') ?? [];
    assert.deepEqual([kept.length, kept[0], kept[999], kept[1000]], [1001, 'CAP0', 'CAP999', 'LAST']);
    assert.equal(session.commands[1].reply?.code, 221);
  });
});
