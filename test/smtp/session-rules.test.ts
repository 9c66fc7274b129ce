/**
 * How the SMTP layer reads what real and broken peers do: nested MAIL, commands before the
 * greeting, one-sided and mid-session captures, RSET/HELO ending transactions, refused DATA and
 * STARTTLS. Each through the whole pipeline, asserting the exact records.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { analyseBuffer } from '../helpers/analyse-buffer.js';
import { type DialogueStep, parseIpTcp, tcpDialogue } from '../helpers/frames.js';
import { captureOf } from '../helpers/scripted-capture.js';

const client = { ip: '192.0.2.10', port: 50123 };
const server = { ip: '198.51.100.25', port: 25 };
const sha256 = (bytes: string): string => createHash('sha256').update(bytes).digest('hex');
const MESSAGE = 'Subject: rules\r\n\r\nbody\r\n';

async function sessionOf(
  steps: DialogueStep[],
  options: Partial<Parameters<typeof tcpDialogue>[0]> = {},
  keep?: (ip: Buffer) => boolean,
) {
  const packets = tcpDialogue({ client, server, steps, ...options }).filter((p) => (keep ? keep(p) : true));
  const { sessions } = await analyseBuffer(captureOf(packets));
  assert.equal(sessions.length, 1);
  return sessions[0];
}

const c = (data: string): DialogueStep => ({ from: 'client', data });
const s = (data: string): DialogueStep => ({ from: 'server', data });

describe('SMTP session rules', () => {
  it('a MAIL refused as nested leaves the open transaction in place', async () => {
    const session = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('HELO c\r\n'),
      s('250 mx\r\n'),
      c('MAIL FROM:<alice@x>\r\n'),
      s('250 2.1.0 Ok\r\n'),
      c('MAIL FROM:<bob@x>\r\n'),
      s('503 5.5.1 Error: nested MAIL command\r\n'),
      c('RCPT TO:<bob@y>\r\n'),
      s('250 2.1.5 Ok\r\n'),
      c('DATA\r\n'),
      s('354 go\r\n'),
      c(`${MESSAGE}.\r\n`),
      s('250 2.0.0 Ok: queued as N1\r\n'),
    ]);
    assert.deepEqual(
      session.transactions.map((t) => [
        t.index,
        t.mailFrom?.address,
        t.rcptTo.map((r) => r.address),
        t.status,
      ]),
      [[1, 'alice@x', ['bob@y'], 'delivered']],
    );
    assert.deepEqual(
      session.anomalies.map((a) => a.code),
      ['nested-mail'],
    );
  });

  it('commands sent before the greeting are answered by the replies after it', async () => {
    const session = await sessionOf([
      c(`HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n${MESSAGE}.\r\nQUIT\r\n`),
      s(
        '220 mx ESMTP Sendmail\r\n250 mx Hello\r\n250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n354 Enter mail\r\n',
      ),
      s('250 2.0.0 Message accepted for delivery\r\n221 2.0.0 closing\r\n'),
    ]);
    assert.equal(session.greeting?.code, 220);
    assert.deepEqual(
      session.commands.map((cmd) => [cmd.verb, cmd.reply?.code]),
      [
        ['HELO', 250],
        ['MAIL', 250],
        ['RCPT', 250],
        ['DATA', 354],
        ['QUIT', 221],
      ],
    );
    const [tx] = session.transactions;
    assert.equal(tx.data?.sha256, sha256(MESSAGE));
    assert.equal(tx.status, 'delivered');
    assert.deepEqual(
      session.anomalies.map((a) => a.code),
      ['command-before-greeting'],
    );
  });

  it('an EHLO the capture never saw answered is still the session helo, with reply null', async () => {
    const session = await sessionOf([s('220 mx ESMTP\r\n'), c('EHLO test\r\n')], { close: 'none' });
    assert.deepEqual(session.helo, { verb: 'EHLO', name: 'test', reply: null });
    assert.equal(session.state, 'truncated');
  });

  it('a client-only capture still yields the credentials and the message, and says the server side is missing', async () => {
    const fromClient = (ip: Buffer): boolean => parseIpTcp(ip).sport === client.port;
    const session = await sessionOf(
      [
        s('220 mx ESMTP\r\n'),
        c('EHLO c\r\n'),
        s('250-mx\r\n250 AUTH LOGIN\r\n'),
        c('AUTH LOGIN\r\n'),
        s('334 VXNlcm5hbWU6\r\n'),
        c(`${Buffer.from('carol').toString('base64')}\r\n`),
        s('334 UGFzc3dvcmQ6\r\n'),
        c(`${Buffer.from('pa55').toString('base64')}\r\n`),
        s('235 ok\r\n'),
        c('MAIL FROM:<carol@x>\r\n'),
        s('250 ok\r\n'),
        c('RCPT TO:<dave@y>\r\n'),
        s('250 ok\r\n'),
        c('DATA\r\n'),
        s('354 go\r\n'),
        c(`${MESSAGE}.\r\n`),
        s('250 ok\r\n'),
        c('QUIT\r\n'),
      ],
      { handshake: false },
      fromClient,
    );
    assert.equal(session.missingSide, 'server');
    assert.deepEqual(
      session.auth.map((a) => [a.mechanism, a.username, a.password, a.reply]),
      [['LOGIN', 'carol', 'pa55', null]],
    );
    const [tx] = session.transactions;
    assert.equal(tx.mailFrom?.address, 'carol@x');
    assert.equal(tx.data?.sha256, sha256(MESSAGE));
    assert.equal(tx.status, 'incomplete', 'no reply after the data was seen');
  });

  it('a server-only capture keeps the greeting and says the client side is missing', async () => {
    const fromServer = (ip: Buffer): boolean => parseIpTcp(ip).sport === server.port;
    const session = await sessionOf(
      [s('220 mx ESMTP\r\n'), c('EHLO c\r\n'), s('250 mx\r\n'), c('QUIT\r\n'), s('221 bye\r\n')],
      {},
      fromServer,
    );
    assert.equal(session.missingSide, 'client');
    assert.equal(session.greeting?.text, 'mx ESMTP');
    assert.deepEqual(session.transactions, []);
  });

  it('a capture that starts inside DATA keeps the message tail and reads the next transaction whole', async () => {
    const session = await sessionOf(
      [
        c('..stuffed tail line\r\nlast line\r\n.\r\n'),
        s('250 2.0.0 Ok: queued as T1\r\n'),
        c('MAIL FROM:<next@x>\r\n'),
        s('250 ok\r\n'),
        c('RCPT TO:<r@y>\r\n'),
        s('250 ok\r\n'),
        c('DATA\r\n'),
        s('354 go\r\n'),
        c(`${MESSAGE}.\r\n`),
        s('250 2.0.0 Ok: queued as T2\r\n'),
      ],
      { handshake: false },
    );
    assert.equal(session.state, 'midstream');
    const [tail, next] = session.transactions;
    assert.equal(tail.mailFrom, null);
    assert.equal(tail.data?.startMissing, true);
    assert.equal(tail.data?.sha256, sha256('.stuffed tail line\r\nlast line\r\n'));
    assert.equal(tail.data?.queueId, 'T1');
    assert.equal(tail.status, 'incomplete');
    assert.equal(next.mailFrom?.address, 'next@x');
    assert.equal(next.data?.sha256, sha256(MESSAGE));
    assert.equal(next.status, 'delivered');
    assert.deepEqual(
      session.anomalies.map((a) => a.code),
      ['midstream-data'],
    );
  });

  it('RSET and an accepted EHLO abort a transaction; a refused EHLO changes nothing', async () => {
    const session = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\n'),
      s('250 mx\r\n'),
      c('MAIL FROM:<one@x>\r\n'),
      s('250 ok\r\n'),
      c('RSET\r\n'),
      s('250 ok\r\n'),
      c('MAIL FROM:<two@x>\r\n'),
      s('250 ok\r\n'),
      c('EHLO again\r\n'),
      s('250 mx\r\n'),
      c('MAIL FROM:<three@x>\r\n'),
      s('250 ok\r\n'),
      c('RCPT TO:<r@y>\r\n'),
      s('250 ok\r\n'),
      c('HELO !!bad\r\n'),
      s('501 5.5.2 bad name\r\n'),
      c('DATA\r\n'),
      s('354 go\r\n'),
      c(`${MESSAGE}.\r\n`),
      s('250 ok\r\n'),
    ]);
    assert.deepEqual(
      session.transactions.map((t) => [t.mailFrom?.address, t.status]),
      [
        ['one@x', 'aborted'],
        ['two@x', 'aborted'],
        ['three@x', 'delivered'],
      ],
    );
    assert.deepEqual(session.helo && [session.helo.name, session.helo.reply?.code], ['again', 250]);
  });

  it('a refused DATA never puts the client into data mode (RSET, DATA and "." pipelined without MAIL)', async () => {
    const session = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\n'),
      s('250-mx\r\n250 PIPELINING\r\n'),
      c('RSET\r\nDATA\r\n.\r\nMAIL FROM:<after@x>\r\nRCPT TO:<r@y>\r\n'),
      s(
        '250 ok\r\n503 5.5.1 Error: need RCPT command\r\n502 5.5.2 Error: command not recognized\r\n250 ok\r\n250 ok\r\n',
      ),
    ]);
    assert.deepEqual(
      session.commands.map((cmd) => [cmd.verb, cmd.reply?.code]),
      [
        ['EHLO', 250],
        ['RSET', 250],
        ['DATA', 503],
        ['.', 502],
        ['MAIL', 250],
        ['RCPT', 250],
      ],
    );
    assert.deepEqual(
      session.transactions.map((t) => [t.mailFrom?.address, t.data, t.status]),
      [['after@x', null, 'incomplete']],
    );
  });

  it('STARTTLS refused: plaintext goes on; accepted: the rest is TLS, and bytes sent early are injection', async () => {
    const refused = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\n'),
      s('250-mx\r\n250 STARTTLS\r\n'),
      c('STARTTLS\r\n'),
      s('454 4.7.0 TLS not available\r\n'),
      c('MAIL FROM:<plain@x>\r\n'),
      s('250 ok\r\n'),
    ]);
    assert.equal(refused.tls.offered, true);
    assert.equal(refused.tls.started, false);
    assert.equal(refused.transactions[0].mailFrom?.address, 'plain@x');

    const tlsRecord = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
    const accepted = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\n'),
      s('250-mx\r\n250 STARTTLS\r\n'),
      c('STARTTLS\r\nMAIL FROM:<injected@x>\r\n'),
      s('220 2.0.0 Ready to start TLS\r\n'),
      { from: 'client', data: tlsRecord },
      { from: 'server', data: tlsRecord },
    ]);
    assert.equal(accepted.tls.started, true);
    assert.deepEqual(accepted.transactions, []);
    assert.deepEqual(
      accepted.commands.map((cmd) => [cmd.verb, cmd.reply?.code]),
      [
        ['EHLO', 250],
        ['STARTTLS', 220],
      ],
    );
    assert.deepEqual(
      accepted.anomalies.map((a) => a.code),
      ['starttls-injection'],
    );
  });

  it('a 421 announced out of turn is no anomaly', async () => {
    const session = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\n'),
      s('250 mx\r\n'),
      s('421 4.4.2 mx Error: timeout exceeded\r\n'),
    ]);
    assert.deepEqual(session.anomalies, []);
  });
});
