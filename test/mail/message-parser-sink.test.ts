import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type AttachmentStream, MailParser, type MessageText } from 'mailparser';
import { findIndicatorsInBodies } from '../../src/mail/indicators.js';
import { createMessageParserSink } from '../../src/mail/message-parser-sink.js';
import { CI_SEED } from '../fuzz/kit.js';
import { crlf, parse, parseAll, transaction } from './helpers.js';

const TRUTH = new URL('../../fixtures/truth/', import.meta.url);
const truth = (path: string): Buffer => readFileSync(new URL(path, TRUTH));
const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Buffer | string): string => createHash('md5').update(bytes).digest('hex');

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

describe('truth fixtures through the sink (1, 7 and all bytes at a time)', () => {
  it('14-attachment-base64: both attachments hash like the files', async () => {
    const record = await parseAll(truth('14-attachment-base64/sent.eml'));
    const bin = truth('14-attachment-base64/attachments/random-48k.bin');
    const png = truth('14-attachment-base64/attachments/pixel.png');
    assert.deepEqual(
      record.attachments.map((a) => [a.path, a.filename, a.contentType, a.size, a.sha256, a.md5]),
      [
        ['2', 'random-48k.bin', 'application/octet-stream', 49152, sha256(bin), md5(bin)],
        ['3', 'pixel.png', 'image/png', 3008, sha256(png), md5(png)],
      ],
    );
    assert.equal(
      record.attachments[0].sha256,
      '47b0db331fa851918402344e2850b2ee62d5563f157ca4887f0dc266cfde30ca',
    );
    assert.equal(
      record.attachments[1].sha256,
      '0daada3de12e101857a7a50f55f56d8fbc89b99d0e8a5cba5d43152ae120c370',
    );
    assert.deepEqual(record.parts[0], {
      path: '1',
      contentType: 'text/plain',
      charset: null,
      encoding: null,
      disposition: null,
      filename: null,
      size: 27,
      md5: md5('See the two attached files.'),
      sha1: createHash('sha1').update('See the two attached files.').digest('hex'),
      sha256: sha256('See the two attached files.'),
    });
    assert.equal(record.parts[1].encoding, 'base64');
    assert.equal(record.subject, 'two attachments');
    assert.equal(record.from, 'att@client.test');
    assert.deepEqual(record.to, ['bob@example.test']);
    assert.deepEqual(record.date, {
      raw: 'Thu, 03 Dec 2026 16:01:41 +0000',
      iso: '2026-12-03T16:01:41.000Z',
    });
    assert.equal(record.messageId, '<20261203160141.024145@localhost>');
    assert.equal(record.userAgent, 'swaks v20201014.0 jetmore.org/john/code/swaks/');
    assert.deepEqual(record.anomalies, []);
  });

  it('15-quoted-printable-curl: QP decoded (soft breaks, =3D, trailing =20), encoded-word subject', async () => {
    const record = await parseAll(truth('15-quoted-printable-curl/sent.eml'));
    const plain =
      'Grüße! This line is long enough that quoted-printable must insert a soft line break somewhere because it exceeds seventy-six characters = and has an equals sign.\r\n' +
      '.leading dot line\r\nTabs\tand trailing space \r\nEnd.';
    const html = '<html><body><p>Grüße – <b>QP</b> HTML part</p></body></html>';
    assert.equal(record.subject, 'Grüße QP');
    assert.equal(record.raw?.subject, '=?utf-8?q?Gr=C3=BC=C3=9Fe?= QP');
    assert.deepEqual(
      record.parts.map((p) => [p.path, p.contentType, p.charset, p.encoding, p.size, p.sha256]),
      [
        ['1', 'text/plain', 'utf-8', 'quoted-printable', Buffer.byteLength(plain), sha256(plain)],
        ['2', 'text/html', 'utf-8', 'quoted-printable', Buffer.byteLength(html), sha256(html)],
      ],
    );
    // Python's email package decodes the same bytes: 214 and 64.
    assert.deepEqual(
      record.parts.map((p) => p.size),
      [214, 64],
    );
    assert.deepEqual(record.attachments, []);
    assert.deepEqual(record.anomalies, []);
  });

  it('17-utf8-8bitmime: single-part 8bit body, base64 encoded-word subject with emoji', async () => {
    const eml = truth('17-utf8-8bitmime/sent.eml');
    const record = await parseAll(eml);
    const body = eml.subarray(eml.indexOf('\r\n\r\n') + 4);
    assert.equal(record.subject, 'Grüße 📧');
    assert.deepEqual(
      record.parts.map((p) => [p.path, p.contentType, p.charset, p.encoding, p.size, p.sha256]),
      [['1', 'text/plain', 'utf-8', '8bit', body.length, sha256(body)]],
    );
    assert.equal(record.messageId, '<17-utf8-8bitmime@gen.example.test>');
  });
});

describe('built messages', () => {
  it('a text attachment with no transfer encoding hashes to the EICAR file (unquoted boundary)', async () => {
    const record = await parseAll(
      crlf(
        'From: a@x.test',
        'Subject: eicar',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary=XYZ',
        '',
        '--XYZ',
        'Content-Type: text/plain',
        '',
        'See attached.',
        '--XYZ',
        'Content-Type: text/plain; name="eicar.com.txt"',
        'Content-Disposition: attachment; filename="eicar.com.txt"',
        '',
        EICAR,
        '--XYZ--',
        '',
      ),
    );
    assert.equal(EICAR.length, 68);
    assert.deepEqual(
      record.attachments.map((a) => [a.path, a.filename, a.contentType, a.size, a.md5]),
      [['2', 'eicar.com.txt', 'text/plain', 68, '44d88612fea8a8f36de82e1278abb02f']],
    );
    assert.deepEqual(
      record.parts.map((p) => [p.path, p.size, p.disposition]),
      [
        ['1', 13, null],
        ['2', 68, 'attachment'],
      ],
    );
  });

  for (const [name, header] of [
    ['quoted', 'Content-Type: multipart/mixed; boundary="b=_1 x"'],
    ['oddly spaced and folded', 'Content-Type: multipart/mixed ;\r\n\tboundary = "b=_1 x" ; foo=bar'],
    ['quoted with a semicolon elsewhere', 'Content-Type: multipart/mixed; x="a;b"; boundary="b=_1 x"'],
  ] as const) {
    it(`finds a ${name} boundary`, async () => {
      const record = await parseAll(
        crlf(
          'Subject: b',
          header,
          '',
          'preamble',
          '--b=_1 x',
          '',
          'one',
          '--b=_1 x  ',
          '',
          'two2',
          '--b=_1 x--',
          'epilogue',
          '',
        ),
      );
      assert.deepEqual(
        record.parts.map((p) => [p.path, p.contentType, p.size, p.sha256]),
        [
          ['1', 'text/plain', 3, sha256('one')],
          ['2', 'text/plain', 4, sha256('two2')],
        ],
      );
      assert.deepEqual(record.anomalies, []);
    });
  }

  it('decodes RFC 2231 continued UTF-8 filenames and encoded-word filenames in three charsets', async () => {
    const record = await parseAll(
      crlf(
        'Subject: names',
        'Content-Type: multipart/mixed; boundary=B',
        '',
        '--B',
        'Content-Type: application/octet-stream',
        "Content-Disposition: attachment; filename*0*=UTF-8''%C3%BCber%20;",
        ' filename*1*=%E2%82%AC; filename*2=".bin"',
        'Content-Transfer-Encoding: base64',
        '',
        'AAEC',
        '--B',
        'Content-Type: application/octet-stream; name="=?ISO-8859-2?Q?=A3=F3d=BC?=.bin"',
        '',
        'x',
        '--B',
        'Content-Type: application/octet-stream',
        'Content-Disposition: attachment; filename="=?windows-1252?Q?=80uro_=93q=94?=.bin"',
        '',
        'y',
        '--B',
        'Content-Type: application/octet-stream',
        'Content-Disposition: attachment; filename="=?UTF-8?B?5pel5pys?= =?UTF-8?B?6Kqe?=.bin"',
        '',
        'z',
        '--B--',
        '',
      ),
    );
    assert.deepEqual(
      record.attachments.map((a) => [a.filename, a.size]),
      [
        ['über €.bin', 3],
        ['Łódź.bin', 1],
        ['€uro “q”.bin', 1],
        ['日本語.bin', 1],
      ],
    );
    assert.equal(record.attachments[0].sha256, sha256(Buffer.from([0, 1, 2])));
  });

  it('decodes encoded-word subjects: adjacent words joined, a character split across two words, three charsets', async () => {
    const record = await parseAll(
      crlf(
        'From: =?UTF-8?Q?Jos=C3=A9?= <jose@x.test>',
        'Subject: =?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9_cr=C3=A8me?= =?ISO-8859-2?Q?=A3=F3d=BC?=',
        '  =?windows-1252?Q?=80_price_=93quoted=94?=',
        '',
        'body',
        '',
      ),
    );
    assert.equal(record.subject, 'café crèmeŁódź€ price “quoted”');
    assert.equal(record.from, 'José <jose@x.test>');
    assert.equal(record.raw?.from, '=?UTF-8?Q?Jos=C3=A9?= <jose@x.test>');
  });

  it('keeps the outer headers when a message/rfc822 with its own From and Subject is attached', async () => {
    const inner = crlf(
      'From: inner@evil.test',
      'Subject: inner subject',
      'Message-ID: <inner@x>',
      '',
      'inner body',
      '',
    );
    const record = await parseAll(
      Buffer.concat([
        crlf(
          'From: outer@x.test',
          'Subject: outer subject',
          'Message-ID: <outer@x>',
          'Content-Type: multipart/mixed; boundary=O',
          '',
          '--O',
          'Content-Type: text/plain',
          '',
          'see inner',
          '--O',
          'Content-Type: message/rfc822',
          'Content-Disposition: inline',
          '',
          '',
        ),
        inner,
        crlf('--O--', ''),
      ]),
    );
    assert.equal(record.from, 'outer@x.test');
    assert.equal(record.subject, 'outer subject');
    assert.equal(record.messageId, '<outer@x>');
    // The CRLF before the boundary is the boundary's: the attached message is `inner` minus it.
    const attached = inner.subarray(0, inner.length - 2);
    assert.deepEqual(
      record.attachments.map((a) => [a.path, a.contentType, a.size, a.sha256]),
      [['2', 'message/rfc822', attached.length, sha256(attached)]],
    );
  });

  it('walks nested multiparts closing on consecutive lines, and finds URLs, addresses and domains', async () => {
    const record = await parseAll(
      crlf(
        'Subject: nested',
        'Content-Type: multipart/mixed; boundary=outer',
        '',
        '--outer',
        'Content-Type: multipart/alternative; boundary=inner',
        '',
        '--inner',
        'Content-Type: text/plain',
        '',
        'Visit https://evil.example.com/login?a=1&b=2. Mail Admin@Evil.Example.com',
        '--inner',
        'Content-Type: text/html',
        '',
        '<a href="http://phish.example.net/x?a=1&amp;b=2">x</a> http://evil.example.com/login?a=1&b=2',
        '--inner--',
        '--outer--',
        '',
      ),
    );
    assert.deepEqual(
      record.parts.map((p) => [p.path, p.contentType, p.size]),
      [
        ['1.1', 'text/plain', 73],
        ['1.2', 'text/html', 92],
      ],
    );
    assert.deepEqual(record.anomalies, []);
    assert.deepEqual(record.urls, [
      'https://evil.example.com/login?a=1&b=2',
      'http://phish.example.net/x?a=1&b=2',
      'http://evil.example.com/login?a=1&b=2',
    ]);
    assert.deepEqual(record.emails, ['Admin@Evil.Example.com']);
    assert.deepEqual(record.domains, ['evil.example.com', 'phish.example.net']);
  });

  it('flags a missing close boundary and keeps the last part to the end', async () => {
    const record = await parseAll(
      crlf(
        'Subject: cut',
        'Content-Type: multipart/mixed; boundary=M',
        '',
        '--M',
        '',
        'first',
        '--M',
        '',
        'last',
        '',
      ),
    );
    assert.deepEqual(record.anomalies, ['missing-close-boundary']);
    assert.deepEqual(
      record.parts.map((p) => [p.path, p.size, p.sha256]),
      [
        ['1', 5, sha256('first')],
        ['2', 6, sha256('last\r\n')],
      ],
    );
  });

  it('flags an inner boundary equal to the outer one', async () => {
    const record = await parseAll(
      crlf(
        'Content-Type: multipart/mixed; boundary=same',
        '',
        '--same',
        'Content-Type: multipart/alternative; boundary=same',
        '',
        '--same',
        '',
        'x',
        '--same--',
        '--same--',
        '',
      ),
    );
    assert.deepEqual(record.anomalies, ['inner-boundary-equals-outer']);
  });

  it('parses address lists with quoted commas and groups, and the Received chain', async () => {
    const record = await parseAll(
      crlf(
        'Received: from mail.example.test (mail.example.test [192.0.2.1])',
        '\tby mx.example.test (Postfix) with ESMTPS id 4ABC123',
        '\tfor <b@y.test>; Thu, 03 Dec 2026 16:01:41 +0000',
        'Received: by relay.test with SMTP id xyz; bad date',
        'To: "Doe, John" <john@x.test>, undisclosed-recipients:;',
        'Cc: Team: a@x.test, "B, b" <b@x.test>;, c@x.test',
        'Reply-To: ',
        'Sender: s@x.test',
        'Date: Thu, 3 Dec 2026 17:01:41 +0100 (CET)',
        'X-Originating-IP: [198.51.100.7]',
        'Return-Path: <>',
        'In-Reply-To: <p@x>',
        'References: <a@x>',
        '  <b@x>',
        'User-Agent: Mutt/2.2',
        'X-Mailer: ignored when User-Agent is there',
        'Authentication-Results: mx.example.test; spf=pass',
        '',
        'b',
      ),
    );
    assert.deepEqual(record.to, ['"Doe, John" <john@x.test>', 'undisclosed-recipients:;']);
    assert.deepEqual(record.cc, ['a@x.test', '"B, b" <b@x.test>', 'c@x.test']);
    assert.equal(record.replyTo, null);
    assert.equal(record.raw?.replyTo, '');
    assert.equal(record.sender, 's@x.test');
    assert.equal(record.from, null);
    assert.deepEqual(record.date, {
      raw: 'Thu, 3 Dec 2026 17:01:41 +0100 (CET)',
      iso: '2026-12-03T16:01:41.000Z',
    });
    assert.equal(record.xOriginatingIp, '198.51.100.7');
    assert.equal(record.returnPath, '');
    assert.equal(record.inReplyTo, '<p@x>');
    assert.deepEqual(record.references, ['<a@x>', '<b@x>']);
    assert.equal(record.userAgent, 'Mutt/2.2');
    assert.deepEqual(record.authenticationResults, ['mx.example.test; spf=pass']);
    assert.deepEqual(record.received, [
      {
        from: 'mail.example.test (mail.example.test [192.0.2.1])',
        by: 'mx.example.test (Postfix)',
        with: 'ESMTPS',
        id: '4ABC123',
        time: '2026-12-03T16:01:41.000Z',
      },
      { from: null, by: 'relay.test', with: 'SMTP', id: 'xyz', time: 'bad date' },
    ]);
  });

  it('reads a Received header with blanks other than space and tab (a form feed hung the tokenizer)', async () => {
    const record = await parseAll(
      crlf(
        'Received: from a\fb.test (c\vd)\u00a0by\tmx.test with\fSMTP id 7; Thu, 3 Dec 2026 17:01:41 +0100',
        '',
        'x',
      ),
    );
    assert.deepEqual(record.received, [
      { from: 'a', by: 'mx.test', with: 'SMTP', id: '7', time: '2026-12-03T16:01:41.000Z' },
    ]);
  });

  it('stops at the part, depth and size limits, flagged', async () => {
    const many = crlf(
      'Content-Type: multipart/mixed; boundary=L',
      '',
      '--L',
      '',
      'a',
      '--L',
      '',
      'b',
      '--L',
      '',
      'c',
      '--L--',
      '',
    );
    const parts = await parseAll(many, { maxParts: 2 });
    assert.deepEqual(
      parts.parts.map((p) => p.path),
      ['1', '2'],
    );
    assert.deepEqual(parts.anomalies, ['mime-parts-limit']);

    const deep = crlf(
      'Content-Type: multipart/mixed; boundary=A',
      '',
      '--A',
      'Content-Type: multipart/mixed; boundary=B',
      '',
      '--B',
      '',
      'x',
      '--B--',
      '--A--',
      '',
    );
    const depth = await parseAll(deep, { maxDepth: 1 });
    assert.deepEqual(depth.anomalies, ['mime-depth-limit']);
    const opaque = crlf('--B', '', 'x', '--B--');
    assert.deepEqual(
      depth.parts.map((p) => [p.path, p.contentType, p.size, p.sha256]),
      [['1', 'multipart/mixed', opaque.length, sha256(opaque)]],
    );

    const size = await parseAll(crlf('Subject: s', '', '0123456789', ''), { maxBytes: 16 });
    assert.deepEqual(size.anomalies, ['mime-size-limit']);
    assert.equal(size.subject, 's');
    assert.deepEqual(
      size.parts.map((p) => [p.size, p.sha256]),
      [[2, sha256('01')]],
    );
  });
});

/** The text and HTML mailparser gives for a message, as the sink configures it. */
async function mailparserIndicators(message: Buffer) {
  const parser = new MailParser({
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
    checksumAlgo: false,
    ignoreEmbedded: true,
  });
  let text: string | undefined;
  let html: string | undefined;
  parser.on('data', (data: AttachmentStream | MessageText) => {
    if (data.type === 'text') {
      text = data.text;
      html = data.html;
    } else {
      data.content.on('end', () => data.release?.());
      data.content.resume();
    }
  });
  await new Promise((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
    parser.end(message);
  });
  return findIndicatorsInBodies(text, html);
}

describe('indicators read without mailparser', () => {
  const url = 'http://x.test/a=4=\r\n1 mail=20bob@ex=\r\nample.org';
  for (const [name, filler] of [
    ['a small message', ''],
    ['a message past the hold limit', `${'filler words here\r\n'.repeat(10_000)}`],
  ] as const) {
    it(`decodes quoted-printable text as libqp does, in ${name}`, async () => {
      const record = await parseAll(
        crlf(
          'Subject: qp',
          'Content-Type: multipart/mixed; boundary=B',
          '',
          '--B',
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: quoted-printable',
          '',
          filler + url,
          '--B',
          'Content-Type: text/html; charset=iso-8859-1',
          'Content-Transfer-Encoding: base64',
          '',
          Buffer.from('<a href="https://h.test/?a=1&amp;b=2">').toString('base64'),
          '--B--',
          '',
        ),
      );
      assert.deepEqual(record.urls, ['http://x.test/aA', 'https://h.test/?a=1&b=2']);
      assert.deepEqual(record.emails, ['bob@example.org']);
      assert.deepEqual(record.domains, ['x.test', 'example.org', 'h.test']);
    });
  }

  it('leaves format=flowed text to mailparser, which joins its lines', async () => {
    const record = await parseAll(
      crlf('Content-Type: text/plain; format=flowed; delsp=yes', '', 'see http://x.test/very ', 'long', ''),
    );
    assert.deepEqual(record.urls, ['http://x.test/verylong']);
  });

  it('agrees with mailparser on generated messages', async () => {
    const text = fc
      .array(
        fc.constantFrom(
          'http://a.example.com/x?y=1&amp;z',
          'https://b.test/p.',
          'c@d.example.org',
          '=',
          '=3D',
          '= ',
          '=\r\n',
          ' \r\n',
          '\r\n',
          ' ',
          'Gr\xfc\xdfe',
          '==',
          'x',
        ),
        { maxLength: 40 },
      )
      .map((a) => a.join(''));
    const leaf = fc.record({
      type: fc.constantFrom('text/plain', 'text/html', 'message/delivery-status', 'application/pdf'),
      charset: fc.constantFrom('', '; charset=utf-8', '; charset=iso-8859-1', '; charset=shift_jis'),
      disposition: fc.constantFrom(
        '',
        'Content-Disposition: inline\r\n',
        'Content-Disposition: attachment\r\n',
      ),
      encoding: fc.constantFrom('', '7bit', 'quoted-printable', 'base64'),
      body: text,
    });
    const build = (part: {
      type: string;
      charset: string;
      disposition: string;
      encoding: string;
      body: string;
    }): string => {
      const body =
        part.encoding === 'base64' ? Buffer.from(part.body, 'latin1').toString('base64') : part.body;
      const cte = part.encoding ? `Content-Transfer-Encoding: ${part.encoding}\r\n` : '';
      return `Content-Type: ${part.type}${part.charset}\r\n${part.disposition}${cte}\r\n${body}`;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(leaf, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (leaves, close) => {
          const parts = leaves.map((l) => `--B\r\n${build(l)}\r\n`).join('');
          const message = Buffer.from(
            `Subject: g\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n${parts}${close ? '--B--\r\n' : ''}`,
            'latin1',
          );
          const record = await parse(message, 7);
          const { urls, emails, domains } = record;
          assert.deepEqual({ urls, emails, domains }, await mailparserIndicators(message));
        },
      ),
      { numRuns: 200, seed: CI_SEED },
    );
  });
});

describe('a header line with no end', () => {
  it('is not held past 64 KiB: flagged, and the rest of the message still read', async () => {
    const message = Buffer.concat([
      Buffer.from('Subject: kept\r\nX-Flood: '),
      Buffer.alloc(200 * 1024, 'A'),
      Buffer.from('\r\nTo: b@example.test\r\n\r\nbody http://example.net/after\r\n'),
    ]);
    const record = await parse(message, 1460);
    assert.ok(record.anomalies.includes('mime-header-too-long'));
    assert.equal(record.subject, 'kept');
    assert.deepEqual(record.urls, ['http://example.net/after']);
  });
});

describe('header blocks of many messages open at once', () => {
  it('hold at most 8 MiB together: later ones are flagged, and the room comes back as they end', async () => {
    const factory = createMessageParserSink();
    const line = Buffer.from(`X-Fill: ${'a'.repeat(990)}\r\n`);
    const block = Buffer.concat(Array.from({ length: 200 }, () => line)); // 200,000 bytes, no end yet
    const open = Array.from({ length: 100 }, () => {
      const sink = factory(transaction());
      assert.ok(sink);
      sink.write(Buffer.from('Subject: open\r\n'));
      sink.write(block);
      return sink;
    });
    const records = await Promise.all(
      open.map((sink) => {
        sink.write(Buffer.from('\r\nbody\r\n'));
        return sink.end();
      }),
    );
    const capped = records.filter((r) => r?.anomalies.includes('mime-headers-cap')).length;
    // 8 MiB hold 41 blocks of 200,015 bytes; the 42nd to 100th each lose their rest.
    assert.equal(capped, 100 - Math.floor((8 * 1024 * 1024) / 200_015));
    assert.ok(records.every((r) => r?.subject === 'open'));
    const after = factory(transaction());
    assert.ok(after);
    after.write(Buffer.concat([Buffer.from('Subject: later\r\n'), block, Buffer.from('\r\nbody\r\n')]));
    const record = await after.end();
    assert.equal(record?.subject, 'later');
    assert.deepEqual(record?.anomalies, []);
  });
});
