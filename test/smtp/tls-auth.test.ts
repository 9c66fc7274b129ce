/**
 * Issue #4, TLS and AUTH: the handshake facts read from handshake bytes built here (versions,
 * SNI, cipher, certificate), STARTTLS injection from either side, plaintext mail despite an
 * offer; every SASL mechanism's credentials and outcome.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  b64,
  c,
  certificateMessage,
  clientHello,
  codes,
  ntlmAuthenticate,
  ntlmChallenge,
  ntlmNegotiate,
  s,
  serverHello,
  sessionOf,
  TEST_CERT,
  tlsRecord,
} from './helpers.js';

const HANDSHAKE = 22;
const STARTTLS_HELLO = [
  s('220 mx ESMTP\r\n'),
  c('EHLO c\r\n'),
  s('250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n'),
  c('STARTTLS\r\n'),
  s('220 2.0.0 Ready to start TLS\r\n'),
];

describe('TLS facts', () => {
  it('TLS 1.2 after STARTTLS: versions offered, SNI, version, cipher and the certificate, records cut into small segments', async () => {
    const session = await sessionOf(
      [
        ...STARTTLS_HELLO,
        c(tlsRecord(HANDSHAKE, clientHello('mx.example.test', [0x0303, 0x0302]))),
        s(tlsRecord(HANDSHAKE, Buffer.concat([serverHello(0xc02f, false), certificateMessage(TEST_CERT)]))),
        c(Buffer.from([0x14, 3, 3, 0, 1, 1])),
      ],
      { mss: 40 },
    );
    assert.deepEqual(session.tls, {
      offered: true,
      started: true,
      implicit: false,
      at: session.tls.at,
      version: 'TLS 1.2',
      sni: 'mx.example.test',
      cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      certificate: {
        subject: 'O=smtpcap test, CN=mx.example.test',
        issuer: 'O=smtpcap test, CN=mx.example.test',
        notBefore: '2026-12-03T17:46:55.000Z',
        notAfter: '2036-11-30T17:46:55.000Z',
      },
      offeredVersions: ['TLS 1.2', 'TLS 1.1'],
      plaintextMail: false,
    });
    assert.deepEqual(codes(session), []);
  });

  it('TLS 1.3 from the first byte on port 465: the certificate is encrypted, unknown suites are hex', async () => {
    const session = await sessionOf(
      [
        c(tlsRecord(HANDSHAKE, clientHello(null, [0x0304, 0x0303]))),
        s(tlsRecord(HANDSHAKE, serverHello(0x1302, true))),
        s(Buffer.from([0x17, 3, 3, 0, 2, 0xaa, 0xbb])),
      ],
      { server: { ip: '198.51.100.25', port: 465 } },
    );
    assert.deepEqual(
      [
        session.tls.implicit,
        session.tls.version,
        session.tls.cipher,
        session.tls.sni,
        session.tls.certificate,
      ],
      [true, 'TLS 1.3', 'TLS_AES_256_GCM_SHA384', null, null],
    );
    assert.deepEqual(session.tls.offeredVersions, ['TLS 1.3', 'TLS 1.2']);
    const odd = await sessionOf(
      [c(tlsRecord(HANDSHAKE, clientHello('x', null))), s(tlsRecord(HANDSHAKE, serverHello(0x00ff, false)))],
      { server: { ip: '198.51.100.25', port: 465 } },
    );
    assert.deepEqual(
      [odd.tls.version, odd.tls.cipher, odd.tls.offeredVersions],
      ['TLS 1.2', '0x00ff', ['TLS 1.2']],
    );
  });

  it('junk after STARTTLS is no handshake: nothing is invented, nothing throws', async () => {
    const session = await sessionOf([
      ...STARTTLS_HELLO,
      c(Buffer.from([0x16, 3, 1, 0, 9, 1, 0, 0, 5, 3, 3, 0, 0, 0])),
      s(Buffer.from([0x16, 3, 3, 0, 4, 2, 0, 0, 40])),
    ]);
    assert.deepEqual([session.tls.version, session.tls.sni, session.tls.cipher], [null, null, null]);
  });

  it('plaintext the server sends after its 220 to STARTTLS is starttls-injection', async () => {
    const session = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\n'),
      s('250-mx\r\n250 STARTTLS\r\n'),
      c('STARTTLS\r\n'),
      s('220 2.0.0 Ready to start TLS\r\n250-injected\r\n250 reply\r\n'),
      c(tlsRecord(HANDSHAKE, clientHello('mx', null))),
      s(tlsRecord(HANDSHAKE, serverHello(0xc030, false))),
    ]);
    assert.deepEqual(session.anomalies, [
      {
        code: 'starttls-injection',
        packet: session.commands[1].reply?.packet,
        detail: 'server sent 25 bytes of plaintext after its 220 to STARTTLS',
      },
    ]);
    assert.equal(session.tls.cipher, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384');
  });

  it('the server offered STARTTLS and the client sent mail in plaintext: tls.plaintextMail', async () => {
    const offered = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\n'),
      s('250-mx\r\n250 STARTTLS\r\n'),
      c('MAIL FROM:<a@x>\r\n'),
      s('250 ok\r\n'),
    ]);
    assert.deepEqual(
      [offered.tls.offered, offered.tls.started, offered.tls.plaintextMail],
      [true, false, true],
    );
    const notOffered = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\n'),
      s('250 mx\r\n'),
      c('MAIL FROM:<a@x>\r\n'),
      s('250 ok\r\n'),
    ]);
    assert.equal(notOffered.tls.plaintextMail, false);
  });
});

describe('AUTH', () => {
  const EHLO = [
    s('220 mx ESMTP\r\n'),
    c('EHLO c\r\n'),
    s('250-mx\r\n250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER NTLM\r\n'),
  ];

  it('PLAIN with an initial response or after 334, any part empty; LOGIN both forms; outcomes from the reply', async () => {
    const session = await sessionOf([
      ...EHLO,
      c(`AUTH PLAIN ${b64('boss\0alice\0pw1')}\r\n`),
      s('535 5.7.8 Error: authentication failed\r\n'),
      c('AUTH PLAIN\r\n'),
      s('334 \r\n'),
      c(`${b64('\0alice\0')}\r\n`),
      s('535 5.7.8 no\r\n'),
      c(`AUTH LOGIN ${b64('bob')}\r\n`),
      s(`334 ${b64('Password:')}\r\n`),
      c(`${b64('pässword')}\r\n`),
      s('454 4.7.0 Temporary authentication failure\r\n'),
      c('AUTH LOGIN\r\n'),
      s(`334 ${b64('Username:')}\r\n`),
      c(`${b64('carol')}\r\n`),
      s(`334 ${b64('Password:')}\r\n`),
      c(`${b64('s3cret')}\r\n`),
      s('235 2.7.0 Authentication successful\r\n'),
    ]);
    assert.deepEqual(
      session.auth.map(({ reply, packet, ...rest }) => ({ ...rest, code: reply?.code })),
      [
        {
          mechanism: 'PLAIN',
          authzid: 'boss',
          username: 'alice',
          password: 'pw1',
          success: false,
          code: 535,
        },
        { mechanism: 'PLAIN', authzid: '', username: 'alice', password: '', success: false, code: 535 },
        { mechanism: 'LOGIN', username: 'bob', password: 'pässword', success: false, code: 454 },
        { mechanism: 'LOGIN', username: 'carol', password: 's3cret', success: true, code: 235 },
      ],
    );
    assert.deepEqual(
      session.auth.map((a) => a.packet),
      session.commands.filter((cmd) => cmd.verb === 'AUTH').map((cmd) => cmd.packet),
    );
    assert.deepEqual(
      session.commands.map((cmd) => [cmd.verb, cmd.reply?.code]),
      [
        ['EHLO', 250],
        ['AUTH', 535],
        ['AUTH', 535],
        ['AUTH', 454],
        ['AUTH', 235],
      ],
    );
  });

  it('CRAM-MD5: challenge, response, and the line hashcat (mode 10200) and John take', async () => {
    const challenge = '<1896.697170952@postoffice.reston.mci.net>';
    const digest = createHmac('md5', 'tanstaaftanstaaf').update(challenge).digest('hex');
    const response = b64(`tim ${digest}`);
    const session = await sessionOf([
      ...EHLO,
      c('AUTH CRAM-MD5\r\n'),
      s(`334 ${b64(challenge)}\r\n`),
      c(`${response}\r\n`),
      s('235 2.7.0 ok\r\n'),
    ]);
    assert.deepEqual(session.auth[0], {
      mechanism: 'CRAM-MD5',
      packet: session.commands[1].packet,
      challenge,
      username: 'tim',
      response: digest,
      crack: `$cram_md5$${b64(challenge)}$${response}`,
      reply: session.auth[0].reply,
      success: true,
    });
    assert.equal(digest, 'b913a602c7eda7a495b4e6e7334d3890', 'RFC 2195 example');
  });

  it('XOAUTH2 and OAUTHBEARER: the user and a token summary (the token itself is kept as a secret)', async () => {
    const token = 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg';
    const session = await sessionOf([
      ...EHLO,
      c(`AUTH XOAUTH2 ${b64(`user=someuser@example.com\x01auth=Bearer ${token}\x01\x01`)}\r\n`),
      s(`334 ${b64('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}')}\r\n`),
      c('\r\n'),
      s('535 5.7.8 Username and Password not accepted\r\n'),
      c(
        `AUTH OAUTHBEARER ${b64(`n,a=user=2Cx@example.com,\x01host=server.example.com\x01port=587\x01auth=Bearer ${token}\x01\x01`)}\r\n`,
      ),
      s('235 2.7.0 Accepted\r\n'),
    ]);
    const summary = session.auth[0].tokenSummary;
    assert.match(summary ?? '', /^Bearer ya29\.vF9… \(45 chars, sha256 [0-9a-f]{8}\)$/);
    assert.deepEqual(
      session.auth.map((a) => [a.mechanism, a.username, a.token, a.tokenSummary, a.reply?.code, a.success]),
      [
        ['XOAUTH2', 'someuser@example.com', token, summary, 535, false],
        ['OAUTHBEARER', 'user,x@example.com', token, summary, 235, true],
      ],
    );
  });

  it('NTLM: user, domain and workstation from the type 3 message, the server challenge, and a NetNTLMv2 crack line', async () => {
    const challenge = Buffer.from('0123456789abcdef', 'hex');
    const nt = Buffer.concat([
      Buffer.alloc(16, 0xaa),
      Buffer.from('0101000000000000', 'hex'),
      Buffer.alloc(12, 0xbb),
    ]);
    const type3 = ntlmAuthenticate({
      domain: 'CORP',
      user: 'jdoe',
      workstation: 'WS01',
      lm: Buffer.alloc(24),
      nt,
    });
    const session = await sessionOf([
      ...EHLO,
      c(`AUTH NTLM ${b64(ntlmNegotiate())}\r\n`),
      s(`334 ${b64(ntlmChallenge(challenge))}\r\n`),
      c(`${b64(type3)}\r\n`),
      s('235 2.7.0 ok\r\n'),
    ]);
    const [attempt] = session.auth;
    assert.deepEqual(
      [attempt.username, attempt.domain, attempt.workstation, attempt.challenge, attempt.success],
      ['jdoe', 'CORP', 'WS01', '0123456789abcdef', true],
    );
    assert.equal(
      attempt.crack,
      `jdoe::CORP:0123456789abcdef:${'aa'.repeat(16)}:0101000000000000${'bb'.repeat(12)}`,
    );
  });

  it('a `*` cancels; several attempts per session, each with its own outcome', async () => {
    const session = await sessionOf([
      ...EHLO,
      c('AUTH LOGIN\r\n'),
      s(`334 ${b64('Username:')}\r\n`),
      c('*\r\n'),
      s('501 5.7.0 Authentication aborted\r\n'),
      c(`AUTH PLAIN ${b64('\0dave\0pw')}\r\n`),
      s('235 ok\r\n'),
      c('MAIL FROM:<dave@x>\r\n'),
      s('250 ok\r\n'),
    ]);
    assert.deepEqual(
      session.auth.map((a) => [
        a.mechanism,
        a.cancelled ?? false,
        a.username ?? null,
        a.reply?.code,
        a.success,
      ]),
      [
        ['LOGIN', true, null, 501, false],
        ['PLAIN', false, 'dave', 235, true],
      ],
    );
    assert.equal(session.transactions[0].mailFrom?.address, 'dave@x');
  });
});
