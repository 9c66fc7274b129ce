/**
 * Issue #4, PIPELINING and BDAT: commands and replies in any grouping, refusals inside a
 * pipeline, BDAT chunks counted byte-exactly wherever the segments cut them, and malformed BDAT
 * sizes that must neither crash nor swallow the next transaction.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { c, codes, s, sessionOf } from './helpers.js';

const sha256 = (bytes: string): string => createHash('sha256').update(bytes, 'latin1').digest('hex');
const HELLO = [
  s('220 mx ESMTP\r\n'),
  c('EHLO c\r\n'),
  s('250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n'),
];

describe('PIPELINING', () => {
  for (const grouping of ['one segment', 'one segment per reply'] as const) {
    it(`a pipelined group with refused RCPTs and a refused DATA (replies in ${grouping})`, async () => {
      const replies = [
        '250 2.1.0 Ok',
        '550 5.1.1 <b@y>: unknown',
        '550 5.1.1 <c@y>: unknown',
        '554 5.5.1 Error: no valid recipients',
      ];
      const session = await sessionOf([
        ...HELLO,
        c('MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\n'),
        ...(grouping === 'one segment'
          ? [s(replies.map((r) => `${r}\r\n`).join(''))]
          : replies.map((r) => s(`${r}\r\n`))),
        c('RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<d@y>\r\nDATA\r\n'),
        s('250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n'),
        c('Subject: t\r\n\r\nx\r\n.\r\nQUIT\r\n'),
        s('250 2.0.0 Ok: queued as Q1\r\n221 bye\r\n'),
      ]);
      assert.deepEqual(
        session.transactions.map((t) => [
          t.mailFrom?.reply?.code,
          t.rcptTo.map((r) => [r.address, r.reply?.code, r.accepted]),
          t.data?.queueId ?? null,
          t.status,
        ]),
        [
          [
            250,
            [
              ['b@y', 550, false],
              ['c@y', 550, false],
            ],
            null,
            'rejected',
          ],
          [250, [['d@y', 250, true]], 'Q1', 'delivered'],
        ],
      );
      assert.equal(session.transactions[1].data?.sha256, sha256('Subject: t\r\n\r\nx\r\n'));
      assert.deepEqual(
        session.commands.map((cmd) => [cmd.verb, cmd.reply?.code]),
        [
          ['EHLO', 250],
          ['MAIL', 250],
          ['RCPT', 550],
          ['RCPT', 550],
          ['DATA', 554],
          ['RSET', 250],
          ['MAIL', 250],
          ['RCPT', 250],
          ['DATA', 354],
          ['QUIT', 221],
        ],
      );
    });
  }

  it('a refused MAIL in a pipeline: its RCPTs and DATA are refused with it', async () => {
    const session = await sessionOf([
      ...HELLO,
      c('MAIL FROM:<spam@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n'),
      s('550 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n'),
      c('QUIT\r\n'),
      s('221 bye\r\n'),
    ]);
    assert.deepEqual(
      session.transactions.map((t) => [t.mailFrom?.reply?.code, t.rcptTo[0].reply?.code, t.data, t.status]),
      [[550, 503, null, 'rejected']],
    );
  });

  it('a command sent before the reply to one that must end a group is flagged (EHLO, DATA)', async () => {
    const session = await sessionOf([
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\nMAIL FROM:<a@x>\r\n'),
      s('250-mx\r\n250 PIPELINING\r\n250 ok\r\n'),
      c('RCPT TO:<b@y>\r\nDATA\r\nSubject: early\r\n\r\n.\r\n'),
      s('250 ok\r\n354 go\r\n250 queued\r\n'),
    ]);
    assert.deepEqual(codes(session), ['pipelining-after-last', 'pipelining-after-last']);
    assert.deepEqual(
      session.anomalies.map((a) => a.detail),
      [
        'MAIL sent before the reply to EHLO, which must end a pipelined group',
        'bytes sent before the reply to DATA, which must end a pipelined group',
      ],
    );
    assert.equal(session.transactions[0].status, 'delivered');
    assert.equal(session.transactions[0].data?.sha256, sha256('Subject: early\r\n\r\n'));
  });
});

describe('BDAT', () => {
  it('per-chunk counts, LAST, and chunks joined verbatim: dots, command-like lines, CR|LF and mid-header boundaries', async () => {
    const chunks = ['Subj', 'ect: x\r\n\r\nMAIL FROM:<evil@x>\r\n.\r\n..dot\r', '\nend\r\n'];
    const session = await sessionOf([
      ...HELLO,
      c('MAIL FROM:<a@x> BODY=8BITMIME\r\n'),
      s('250 ok\r\n'),
      c('RCPT TO:<b@y>\r\n'),
      s('250 ok\r\n'),
      c(`BDAT ${chunks[0].length}\r\n${chunks[0]}`),
      s('250 2.0.0 4 bytes\r\n'),
      c(`BDAT ${chunks[1].length}\r\n${chunks[1]}`),
      s('250 2.0.0 more\r\n'),
      c(`BDAT ${chunks[2].length} LAST\r\n${chunks[2]}`),
      s('250 2.0.0 Ok: queued as B1\r\n'),
      c('QUIT\r\n'),
      s('221 bye\r\n'),
    ]);
    const [tx] = session.transactions;
    const message = chunks.join('');
    assert.deepEqual(tx.data, {
      method: 'BDAT',
      size: message.length,
      sha256: sha256(message),
      reply: tx.data?.reply,
      queueId: 'B1',
      chunks: chunks.map((ch) => ch.length),
      gaps: [],
    });
    assert.equal(tx.status, 'delivered');
    assert.deepEqual(
      session.commands.map((cmd) => [cmd.verb, cmd.arg, cmd.reply?.code]),
      [
        ['EHLO', 'c', 250],
        ['MAIL', 'FROM:<a@x> BODY=8BITMIME', 250],
        ['RCPT', 'TO:<b@y>', 250],
        ['BDAT', '4', 250],
        ['BDAT', `${chunks[1].length}`, 250],
        ['BDAT', `${chunks[2].length} LAST`, 250],
        ['QUIT', '', 221],
      ],
    );
    assert.deepEqual(codes(session), []);
  });

  it('BDAT 0 LAST, several BDATs pipelined with the next MAIL, all in one segment', async () => {
    const session = await sessionOf([
      ...HELLO,
      c(
        'MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 4\r\nabcdBDAT 0 LAST\r\nMAIL FROM:<n@x>\r\nRCPT TO:<r@y>\r\nBDAT 3 LAST\r\nefg',
      ),
      s('250 ok\r\n250 ok\r\n250 4 octets\r\n250 queued as Z1\r\n250 ok\r\n250 ok\r\n250 queued as Z2\r\n'),
    ]);
    assert.deepEqual(
      session.transactions.map((t) => [
        t.mailFrom?.address,
        t.data?.chunks,
        t.data?.size,
        t.data?.queueId,
        t.status,
      ]),
      [
        ['a@x', [4, 0], 4, 'Z1', 'delivered'],
        ['n@x', [3], 3, 'Z2', 'delivered'],
      ],
    );
    assert.equal(session.transactions[0].data?.sha256, sha256('abcd'));
  });

  it('a BDAT refused before its bytes (no MAIL): the bytes are still the chunk, never commands', async () => {
    const session = await sessionOf([
      ...HELLO,
      c('BDAT 18 LAST\r\nQUIT\r\nRSET\r\nNOOP\r\n'),
      s('503 5.5.1 Error: need MAIL command\r\n'),
      c('MAIL FROM:<a@x>\r\n'),
      s('250 ok\r\n'),
    ]);
    assert.deepEqual(
      session.commands.map((cmd) => [cmd.verb, cmd.reply?.code]),
      [
        ['EHLO', 250],
        ['BDAT', 503],
        ['MAIL', 250],
      ],
    );
    assert.deepEqual(
      session.transactions.map((t) => [t.mailFrom?.address ?? null, t.data?.size, t.status]),
      [
        [null, 18, 'rejected'],
        ['a@x', undefined, 'incomplete'],
      ],
    );
  });

  for (const [what, arg] of [
    ['missing', ''],
    ['negative', '-1 LAST'],
    ['huge (2^63)', '9223372036854775808 LAST'],
    ['junk after', '5 LAST junk'],
    ['not a number', 'five LAST'],
  ] as const) {
    it(`an invalid BDAT size (${what}): anomaly, the next bytes are commands, the next transaction is whole`, async () => {
      const session = await sessionOf([
        ...HELLO,
        c('MAIL FROM:<a@x>\r\n'),
        s('250 ok\r\n'),
        c('RCPT TO:<b@y>\r\n'),
        s('250 ok\r\n'),
        c(`BDAT${arg === '' ? '' : ` ${arg}`}\r\n`),
        s('501 5.5.4 Syntax: BDAT count [LAST]\r\n'),
        c('RSET\r\n'),
        s('250 ok\r\n'),
        c('MAIL FROM:<next@x>\r\nRCPT TO:<r@y>\r\nBDAT 5 LAST\r\nhello'),
        s('250 ok\r\n250 ok\r\n250 2.0.0 Ok: queued as N1\r\n'),
      ]);
      assert.deepEqual(session.anomalies, [
        {
          code: 'invalid-bdat',
          packet: session.commands[3].packet,
          detail: `BDAT argument ${JSON.stringify(arg)}`,
        },
      ]);
      assert.deepEqual(
        session.transactions.map((t) => [
          t.mailFrom?.address,
          t.data?.size ?? null,
          t.data?.queueId ?? null,
          t.status,
        ]),
        [
          ['a@x', null, null, 'aborted'],
          ['next@x', 5, 'N1', 'delivered'],
        ],
      );
    });
  }
});
