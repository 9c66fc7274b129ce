/**
 * Issue #4, commands and replies: every way real clients write MAIL and RCPT, ESMTP parameters,
 * SMTPUTF8 and broken bytes, EHLO capabilities, LMTP, the other verbs, XCLIENT, and replies
 * that are bare, unknown or broken. Each through the whole pipeline, asserting exact records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { c, codes, s, sessionOf } from './helpers.js';

const HELLO = [s('220 mx ESMTP\r\n'), c('EHLO c\r\n'), s('250 mx\r\n')];

describe('MAIL and RCPT as clients write them', () => {
  it('lenient spacing and case: the address is the same, its case kept', async () => {
    const variants = [
      'MAIL FROM:<Alice@Example.COM>',
      'MAIL FROM: <Alice@Example.COM>',
      'mail from:Alice@Example.COM',
      'MAIL FROM : <Alice@Example.COM>',
      'Mail From:<Alice@Example.COM> ',
    ];
    const steps = [...HELLO];
    for (const line of variants)
      steps.push(c(`${line}\r\n`), s('250 ok\r\n'), c('RSET\r\n'), s('250 ok\r\n'));
    const session = await sessionOf(steps);
    assert.deepEqual(
      session.transactions.map((t) => [t.mailFrom?.address, t.mailFrom?.params, t.status]),
      variants.map(() => ['Alice@Example.COM', {}, 'aborted']),
    );
    assert.deepEqual(
      session.commands.filter((cmd) => cmd.verb === 'MAIL').map((cmd) => cmd.arg),
      [
        'FROM:<Alice@Example.COM>',
        'FROM: <Alice@Example.COM>',
        'from:Alice@Example.COM',
        'FROM : <Alice@Example.COM>',
        'From:<Alice@Example.COM> ',
      ],
    );
    assert.deepEqual(codes(session), []);
  });

  it('null sender, quoted local parts, SRS, source routes, and junk after the path', async () => {
    const session = await sessionOf([
      ...HELLO,
      c('MAIL FROM:<>\r\n'),
      s('250 ok\r\n'),
      c('RCPT TO:<"john, q. doe@home"@example.com>\r\n'),
      s('250 ok\r\n'),
      c('RCPT TO:<"a > b"@example.com>\r\n'),
      s('250 ok\r\n'),
      c('RCPT TO:<@relay.example,@r2.example:bob@example.net>\r\n'),
      s('250 ok\r\n'),
      c('RSET\r\n'),
      s('250 ok\r\n'),
      c('MAIL FROM:<SRS0=HHH=TT=example.org=alice@forwarder.example>\r\n'),
      s('250 ok\r\n'),
      c('RSET\r\n'),
      s('250 ok\r\n'),
      c('MAIL FROM:<>>>>\r\n'),
      s('501 5.1.7 Bad sender address syntax\r\n'),
    ]);
    assert.deepEqual(
      session.transactions.map((t) => [t.mailFrom?.address, t.rcptTo.map((r) => r.address), t.status]),
      [
        ['', ['"john, q. doe@home"@example.com', '"a > b"@example.com', 'bob@example.net'], 'aborted'],
        ['SRS0=HHH=TT=example.org=alice@forwarder.example', [], 'aborted'],
        ['', [], 'rejected'],
      ],
    );
    assert.deepEqual(session.anomalies, [
      {
        code: 'trailing-junk-after-path',
        packet: session.commands[8].packet,
        detail: 'junk ">>>" after the path',
      },
    ]);
  });

  it('ESMTP parameters of MAIL (SIZE BODY SMTPUTF8 RET ENVID AUTH) and RCPT (NOTIFY ORCPT), unknown ones kept', async () => {
    const session = await sessionOf([
      ...HELLO,
      c('MAIL FROM:<a@x> SIZE=2639 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159 AUTH=<> x-vendor=On\r\n'),
      s('250 ok\r\n'),
      c('RCPT TO:<b@y> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@y\r\n'),
      s('250 ok\r\n'),
      c('RCPT TO:<c@y> NOTIFY=NEVER\r\n'),
      s('250 ok\r\n'),
    ]);
    const [tx] = session.transactions;
    assert.deepEqual(tx.mailFrom?.params, {
      SIZE: '2639',
      BODY: '8BITMIME',
      SMTPUTF8: true,
      RET: 'HDRS',
      ENVID: 'QQ314159',
      AUTH: '<>',
      'X-VENDOR': 'On',
    });
    assert.deepEqual(
      tx.rcptTo.map((r) => r.params),
      [{ NOTIFY: 'SUCCESS,FAILURE', ORCPT: 'rfc822;b@y' }, { NOTIFY: 'NEVER' }],
    );
  });

  it('SMTPUTF8 addresses are read as UTF-8; bytes that are not UTF-8 keep a hex copy beside the lossy text', async () => {
    const session = await sessionOf([
      ...HELLO,
      c(Buffer.from('MAIL FROM:<jösé@exämple.org> SMTPUTF8\r\n', 'utf8')),
      s('250 ok\r\n'),
      c(Buffer.concat([Buffer.from('RCPT TO:<b'), Buffer.from([0xff, 0xe9]), Buffer.from('@y>\r\n')])),
      s('250 ok\r\n'),
    ]);
    const [tx] = session.transactions;
    assert.deepEqual(tx.mailFrom, {
      address: 'jösé@exämple.org',
      params: { SMTPUTF8: true },
      reply: tx.mailFrom?.reply,
    });
    assert.equal(session.commands[1].arg, 'FROM:<jösé@exämple.org> SMTPUTF8');
    assert.equal(session.commands[1].argHex, undefined);
    assert.deepEqual(tx.rcptTo[0], {
      address: 'b\ufffd\ufffd@y',
      addressHex: '62ffe94079',
      params: {},
      reply: tx.rcptTo[0].reply,
      accepted: true,
    });
    assert.equal(session.commands[2].argHex, Buffer.from('TO:<b\xff\xe9@y>', 'latin1').toString('hex'));
    // The JSON is valid and says it.
    const json = JSON.parse(JSON.stringify(session));
    assert.equal(json.transactions[0].rcptTo[0].addressHex, '62ffe94079');
  });
});

describe('HELO, EHLO, LHLO and the other verbs', () => {
  it('parses the EHLO extensions into `ehlo`, keeping `extensions` as sent', async () => {
    const lines = [
      'PIPELINING',
      'SIZE 10240000',
      'ETRN',
      'STARTTLS',
      'AUTH PLAIN LOGIN CRAM-MD5',
      'AUTH=LOGIN PLAIN',
      'ENHANCEDSTATUSCODES',
      '8BITMIME',
      'DSN',
      'SMTPUTF8',
      'CHUNKING',
      'X-VENDOR thing',
    ];
    const reply = ['250-mx.example', ...lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}`)];
    const session = await sessionOf([s('220 mx ESMTP\r\n'), c('EHLO c\r\n'), s(`${reply.join('\r\n')}\r\n`)]);
    assert.deepEqual(session.extensions, lines);
    assert.deepEqual(session.ehlo, {
      size: 10240000,
      pipelining: true,
      chunking: true,
      starttls: true,
      auth: ['PLAIN', 'LOGIN', 'CRAM-MD5'],
      '8bitmime': true,
      binarymime: false,
      smtputf8: true,
      dsn: true,
      enhancedstatuscodes: true,
      other: ['ETRN', 'X-VENDOR thing'],
    });
    assert.equal(session.tls.offered, true);
  });

  it('HELO leaves `ehlo` null; SIZE without a value is 0 (no fixed limit)', async () => {
    const helo = await sessionOf([s('220 mx\r\n'), c('HELO c\r\n'), s('250 mx\r\n')]);
    assert.equal(helo.ehlo, null);
    const ehlo = await sessionOf([s('220 mx\r\n'), c('EHLO c\r\n'), s('250-mx\r\n250 SIZE\r\n')]);
    assert.equal(ehlo.ehlo?.size, 0);
  });

  it('LMTP: after the message, one reply per accepted recipient, each on its recipient', async () => {
    const session = await sessionOf(
      [
        s('220 lmtp.example LMTP ready\r\n'),
        c('LHLO c\r\n'),
        s('250-lmtp.example\r\n250 PIPELINING\r\n'),
        c('MAIL FROM:<a@x>\r\nRCPT TO:<one@y>\r\nRCPT TO:<two@y>\r\nRCPT TO:<three@y>\r\nDATA\r\n'),
        s('250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n'),
        c('Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n'),
        s('250 2.0.0 <one@y> delivered\r\n452 4.2.2 <three@y> mailbox full\r\n221 bye\r\n'),
      ],
      { server: { ip: '198.51.100.25', port: 24 } },
      { ports: [24] },
    );
    const [tx] = session.transactions;
    assert.deepEqual(
      tx.rcptTo.map((r) => [r.address, r.reply?.code, r.accepted, r.delivery?.code ?? r.delivery]),
      [
        ['one@y', 250, true, 250],
        ['two@y', 550, false, null],
        ['three@y', 250, true, 452],
      ],
    );
    assert.equal(tx.data?.reply?.code, 250);
    assert.equal(tx.status, 'delivered');
    assert.deepEqual(
      session.commands.map((cmd) => [cmd.verb, cmd.reply?.code]),
      [
        ['LHLO', 250],
        ['MAIL', 250],
        ['RCPT', 250],
        ['RCPT', 550],
        ['RCPT', 250],
        ['DATA', 354],
        ['QUIT', 221],
      ],
    );
    assert.deepEqual(codes(session), []);
  });

  it('LMTP: every accepted recipient failing makes the transaction rejected', async () => {
    const session = await sessionOf(
      [
        s('220 lmtp\r\n'),
        c('LHLO c\r\n'),
        s('250 lmtp\r\n'),
        c('MAIL FROM:<a@x>\r\n'),
        s('250 ok\r\n'),
        c('RCPT TO:<one@y>\r\n'),
        s('250 ok\r\n'),
        c('RCPT TO:<two@y>\r\n'),
        s('250 ok\r\n'),
        c('DATA\r\n'),
        s('354 go\r\n'),
        c('x\r\n.\r\n'),
        s('452 full\r\n'),
        s('550 gone\r\n'),
      ],
      { server: { ip: '198.51.100.25', port: 24 } },
      { ports: [24] },
    );
    const [tx] = session.transactions;
    assert.deepEqual(
      tx.rcptTo.map((r) => r.delivery?.code),
      [452, 550],
    );
    assert.equal(tx.status, 'rejected');
  });

  it('VRFY, EXPN, HELP, NOOP, ETRN, TURN recorded with their replies; XCLIENT and XFORWARD parsed; unknown verbs flagged', async () => {
    const session = await sessionOf([
      ...HELLO,
      c('VRFY postmaster\r\n'),
      s('252 2.0.0 postmaster\r\n'),
      c('EXPN staff\r\n'),
      s('502 5.5.1 EXPN not available\r\n'),
      c('HELP\r\n'),
      s('214 2.0.0 see RFC 5321\r\n'),
      c('NOOP\r\n'),
      s('250 2.0.0 Ok\r\n'),
      c('ETRN example.org\r\n'),
      s('250 queuing started\r\n'),
      c('TURN\r\n'),
      s('502 5.5.1 no\r\n'),
      c(
        'XCLIENT NAME=spike.porcupine.org ADDR=168.100.189.2 PORT=40123 PROTO=ESMTP HELO=spike LOGIN=[UNAVAILABLE] DESTADDR=192.0.2.1\r\n',
      ),
      s('220 mx ESMTP\r\n'),
      c('XFORWARD NAME=[UNAVAILABLE] ADDR=IPV6:2001+3Adb8::1 IDENT=a+2Bb\r\n'),
      s('250 Ok\r\n'),
      c('WIBBLE now\r\n'),
      s('502 5.5.2 Error: command not recognized\r\n'),
    ]);
    assert.deepEqual(
      session.commands.map((cmd) => [cmd.verb, cmd.reply?.code]),
      [
        ['EHLO', 250],
        ['VRFY', 252],
        ['EXPN', 502],
        ['HELP', 214],
        ['NOOP', 250],
        ['ETRN', 250],
        ['TURN', 502],
        ['XCLIENT', 220],
        ['XFORWARD', 250],
        ['WIBBLE', 502],
      ],
    );
    assert.deepEqual(
      session.xclient.map((x) => [x.verb, x.attributes, x.reply?.code, x.packet]),
      [
        [
          'XCLIENT',
          {
            NAME: 'spike.porcupine.org',
            ADDR: '168.100.189.2',
            PORT: '40123',
            PROTO: 'ESMTP',
            HELO: 'spike',
            LOGIN: '[UNAVAILABLE]',
            DESTADDR: '192.0.2.1',
          },
          220,
          session.commands[7].packet,
        ],
        [
          'XFORWARD',
          { NAME: '[UNAVAILABLE]', ADDR: 'IPV6:2001:db8::1', IDENT: 'a+b' },
          250,
          session.commands[8].packet,
        ],
      ],
    );
    assert.deepEqual(session.anomalies, [
      { code: 'unknown-command', packet: session.commands[9].packet, detail: 'unknown verb "WIBBLE"' },
    ]);
  });
});

describe('replies', () => {
  it('a bare code, an unknown code, a line without a code inside a multi-line reply: kept in step', async () => {
    const session = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\n'),
      s('250-mx\r\nthis line has no code\r\n250-PIPELINING\r\n250 SIZE 1000\r\n'),
      c('NOOP\r\n'),
      s('250\r\n'),
      c('VRFY x\r\n'),
      s('299 an odd but well-formed code\r\n'),
      c('HELP\r\n'),
      s('650 not a real class\r\n'),
      c('QUIT\r\n'),
      s('221 bye\r\n'),
    ]);
    assert.deepEqual(
      session.commands.map((cmd) => [cmd.verb, cmd.reply?.code, cmd.reply?.text]),
      [
        ['EHLO', 250, 'mx\nPIPELINING\nSIZE 1000'],
        ['NOOP', 250, ''],
        ['VRFY', 299, 'an odd but well-formed code'],
        ['HELP', 650, 'not a real class'],
        ['QUIT', 221, 'bye'],
      ],
    );
    assert.deepEqual(session.ehlo?.pipelining, true);
    assert.deepEqual(codes(session), ['reply-line-without-code']);
  });

  it('multi-line replies split anywhere, enhanced codes split out', async () => {
    const session = await sessionOf(
      [
        s('220 mx\r\n'),
        c('EHLO c\r\n'),
        s('250-mx\r\n250-8BITMIME\r\n250 DSN\r\n'),
        c('MAIL FROM:<a@x>\r\n'),
        s('250 2.1.0 Sender ok\r\n'),
      ],
      { mss: 3 },
    );
    assert.deepEqual(session.extensions, ['8BITMIME', 'DSN']);
    assert.deepEqual(session.transactions[0].mailFrom?.reply, {
      code: 250,
      enhanced: '2.1.0',
      text: 'Sender ok',
      packet: session.transactions[0].mailFrom?.reply?.packet,
    });
  });
});
