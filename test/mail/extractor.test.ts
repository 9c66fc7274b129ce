import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ExtractError,
  type ExtractedMessage,
  Extractor,
  type ExtractorOptions,
} from '../../src/mail/extractor.js';
import { asctime, fromLine } from '../../src/mail/mbox.js';
import type { MessageRecord } from '../../src/mail/message-record.js';
import type { SessionRecord, Transaction, TransactionStatus } from '../../src/smtp/records.js';
import { sessionRecord } from '../helpers/session-record.js';
import { crlf } from './helpers.js';

const TRUTH = new URL('../../fixtures/truth/', import.meta.url);
const truth = (path: string): Buffer => readFileSync(new URL(path, TRUTH));
const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

const scratch = mkdtempSync(join(tmpdir(), 'smtpcap-extract-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(scratch, `out${++dirs}`);

interface Mail {
  bytes: Buffer;
  status?: TransactionStatus;
  mailFrom?: string;
  start?: string;
}

function session(id: string, transactions: Transaction<MessageRecord>[]): SessionRecord<MessageRecord> {
  return sessionRecord({ id, transactions, start: transactions[0]?.start ?? '' });
}

/**
 * Streams each mail through the extractor's sink as the SMTP layer would, 7 bytes at a time;
 * returns what the extractor counted and the index it wrote.
 */
async function extract(
  options: ExtractorOptions,
  mails: Mail[],
): Promise<{ filed: { messages: number; attachments: number }; messages: ExtractedMessage[] }> {
  const extractor = new Extractor(options);
  const transactions: Transaction<MessageRecord>[] = [];
  for (const [i, mail] of mails.entries()) {
    const tx: Transaction<MessageRecord> = {
      index: i + 1,
      start: mail.start ?? '2026-12-03T16:01:41.123456Z',
      end: '2026-12-03T16:01:42Z',
      mailFrom: { address: mail.mailFrom ?? 'a@client.test', params: {}, reply: null },
      rcptTo: [{ address: 'b@example.test', params: {}, reply: null, accepted: true }],
      data: null,
      status: mail.status ?? 'delivered',
      message: null,
    };
    const sink = extractor.sinkFactory(tx);
    assert.ok(sink);
    for (let o = 0; o < mail.bytes.length; o += 7) sink.write(mail.bytes.subarray(o, o + 7));
    tx.data = {
      method: 'DATA',
      size: mail.bytes.length,
      sha256: sha256(mail.bytes),
      reply: null,
      queueId: null,
      gaps: [],
    };
    tx.message = await sink.end();
    transactions.push(tx);
  }
  extractor.addSession(session('S1', transactions));
  const filed = extractor.close();
  const messages: ExtractedMessage[] = JSON.parse(
    readFileSync(join(options.dir, 'index.json'), 'utf8'),
  ).messages;
  assert.equal(filed.messages, messages.length);
  assert.equal(
    filed.attachments,
    messages.reduce((n, m) => n + m.attachments.length, 0),
  );
  return { filed, messages };
}

/** Every entry under `dir`, as relative paths, with no symlinks among them. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    assert.ok(!stat.isSymbolicLink(), `${path} is a symlink`);
    if (stat.isDirectory()) out.push(...walk(path).map((p) => join(name, p)));
    else out.push(name);
  }
  return out.sort();
}

/** mboxrd reader: splits at `From ` lines, drops the separating blank line, un-quotes `>From `. */
function readMbox(bytes: Buffer): { from: string; body: Buffer }[] {
  const text = bytes.toString('latin1');
  const lines = text.split(/(?<=\n)/);
  const messages: { from: string; lines: string[] }[] = [];
  for (const line of lines) {
    if (line.startsWith('From ')) messages.push({ from: line, lines: [] });
    else messages[messages.length - 1].lines.push(line.replace(/^>(>*From )/, '$1'));
  }
  return messages.map((m) => {
    assert.equal(m.lines.pop(), '\n');
    return { from: m.from, body: Buffer.from(m.lines.join(''), 'latin1') };
  });
}

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

function withAttachments(subject: string, names: string[]): Buffer {
  const lines = [`Subject: ${subject}`, 'Content-Type: multipart/mixed; boundary=H', ''];
  for (const [i, name] of names.entries()) {
    lines.push('--H', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64');
    lines.push(
      `Content-Disposition: attachment; filename="${name}"`,
      '',
      Buffer.from(`file ${i}`).toString('base64'),
    );
  }
  lines.push('--H--', '');
  return crlf(...lines);
}

describe('Extractor', () => {
  it('scenario 14: the .eml equals sent.eml and both attachments are byte-exact', async () => {
    const dir = freshDir();
    const eml = truth('14-attachment-base64/sent.eml');
    await extract({ dir }, [{ bytes: eml }]);
    assert.deepEqual(
      walk(dir),
      [
        'S1-1-two-attachments.eml',
        join('attachments', 'S1-1-two-attachments', 'pixel.png'),
        join('attachments', 'S1-1-two-attachments', 'random-48k.bin'),
        'index.csv',
        'index.json',
      ].sort(),
    );
    assert.deepEqual(readdirSync(dir).sort(), [
      'S1-1-two-attachments.eml',
      'attachments',
      'index.csv',
      'index.json',
    ]);
    assert.ok(readFileSync(join(dir, 'S1-1-two-attachments.eml')).equals(eml));
    for (const name of ['pixel.png', 'random-48k.bin']) {
      const written = readFileSync(join(dir, 'attachments', 'S1-1-two-attachments', name));
      assert.ok(written.equals(truth(`14-attachment-base64/attachments/${name}`)), name);
    }
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    assert.equal(readFileSync(join(dir, 'index.json'), 'utf8'), `${JSON.stringify(index, null, 2)}\n`);
    assert.deepEqual(index.messages[0], {
      file: 'S1-1-two-attachments.eml',
      sessionId: 'S1',
      transactionIndex: 1,
      status: 'delivered',
      start: '2026-12-03T16:01:41.123456Z',
      client: '127.0.0.1:40000',
      server: '127.0.0.1:25',
      mailFrom: 'a@client.test',
      rcptTo: ['b@example.test'],
      accepted: ['b@example.test'],
      subject: 'two attachments',
      from: 'att@client.test',
      date: 'Thu, 03 Dec 2026 16:01:41 +0000',
      messageId: '<20261203160141.024145@localhost>',
      size: eml.length,
      sha256: sha256(eml),
      attachments: [
        {
          file: join('attachments', 'S1-1-two-attachments', 'random-48k.bin'),
          filename: 'random-48k.bin',
          contentType: 'application/octet-stream',
          size: 49152,
          sha256: '47b0db331fa851918402344e2850b2ee62d5563f157ca4887f0dc266cfde30ca',
        },
        {
          file: join('attachments', 'S1-1-two-attachments', 'pixel.png'),
          filename: 'pixel.png',
          contentType: 'image/png',
          size: 3008,
          sha256: '0daada3de12e101857a7a50f55f56d8fbc89b99d0e8a5cba5d43152ae120c370',
        },
      ],
    });
    const csv = readFileSync(join(dir, 'index.csv'), 'utf8').split('\r\n');
    assert.equal(
      csv[0],
      'file,session,transaction,status,start,client,server,mail_from,rcpt_to,subject,from,date,message_id,size,sha256,attachments',
    );
    assert.equal(
      csv[1],
      `S1-1-two-attachments.eml,S1,1,delivered,2026-12-03T16:01:41.123456Z,127.0.0.1:40000,127.0.0.1:25,a@client.test,b@example.test,two attachments,att@client.test,"Thu, 03 Dec 2026 16:01:41 +0000",<20261203160141.024145@localhost>,${eml.length},${sha256(eml)},attachments/S1-1-two-attachments/random-48k.bin attachments/S1-1-two-attachments/pixel.png`,
    );
    assert.equal(csv.length, 3);
  });

  it('keeps hostile attachment names inside DIR with safe names', async () => {
    const dir = freshDir();
    const hostile = [
      '../../etc/passwd',
      '/abs/path',
      'C:\\x',
      'CON',
      'con.txt',
      'nul\u0000.txt',
      'new\nline',
      'esc\u001b[2J',
      'A'.repeat(10_000),
      'dup.txt',
      'dup.txt',
      '..',
    ];
    // A quoted-string cannot carry a raw newline in a header, so that one travels folded away; the
    // RFC 2231 form carries every byte, NUL and newline included.
    const lines = ['Subject: hostile', 'Content-Type: multipart/mixed; boundary=H', ''];
    for (const [i, name] of hostile.entries()) {
      const encoded = [...Buffer.from(name)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
      lines.push(
        '--H',
        'Content-Type: application/octet-stream',
        `Content-Disposition: attachment; filename*=UTF-8''${encoded}`,
        '',
        `file ${i}`,
      );
    }
    lines.push(
      '--H',
      'Content-Type: text/plain',
      'Content-Disposition: attachment; filename="eicar.com.txt"',
      '',
      EICAR,
      '--H--',
      '',
    );
    const extracted = await extract({ dir }, [{ bytes: crlf(...lines) }]);
    const root = realpathSync(dir);
    const stem = 'S1-1-hostile';
    const files = extracted.messages[0].attachments.map((a) => a.file.split(sep).pop());
    assert.deepEqual(files, [
      'passwd',
      'path',
      'x',
      '_CON',
      '_con.txt',
      'nul_.txt',
      'new_line',
      'esc_[2J',
      'A'.repeat(150),
      'dup.txt',
      'dup (2).txt',
      'part-12',
      'eicar.com.txt',
    ]);
    for (const a of extracted.messages[0].attachments) {
      const path = realpathSync(join(dir, a.file));
      assert.ok(!relative(root, path).startsWith('..'), path);
      assert.equal(relative(join(root, 'attachments', stem), path), a.file.split(sep).pop());
      assert.doesNotMatch(a.file.split(sep).pop() ?? '', /[\u0000-\u001f\\/]/);
    }
    assert.equal(readFileSync(join(dir, 'attachments', stem, 'passwd'), 'utf8'), 'file 0');
    assert.equal(
      createHash('md5')
        .update(readFileSync(join(dir, 'attachments', stem, 'eicar.com.txt')))
        .digest('hex'),
      '44d88612fea8a8f36de82e1278abb02f',
    );
    assert.equal(walk(dir).length, 13 + 3);
  });

  it('refuses a non-empty DIR without force, and never follows a symlink placed in it', async () => {
    const dir = freshDir();
    const outside = join(scratch, `outside${dirs}`);
    mkdirSync(dir);
    writeFileSync(outside, 'precious');
    symlinkSync(outside, join(dir, 'S1-1-hello.eml'));
    const mail = { bytes: crlf('Subject: hello', '', 'body', '') };
    await assert.rejects(extract({ dir }, [mail]), ExtractError);
    const extracted = await extract({ dir, force: true }, [mail]);
    assert.equal(readFileSync(outside, 'utf8'), 'precious');
    assert.equal(extracted.messages[0].file, 'S1-1-hello (2).eml');
    assert.ok(readFileSync(join(dir, 'S1-1-hello (2).eml')).equals(mail.bytes));

    // A symlinked attachments folder is refused rather than written through.
    const dir2 = freshDir();
    const elsewhere = join(scratch, `elsewhere${dirs}`);
    mkdirSync(dir2);
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(dir2, 'attachments'));
    await assert.rejects(
      extract({ dir: dir2, force: true }, [{ bytes: withAttachments('a', ['a.bin']) }]),
      ExtractError,
    );
    assert.deepEqual(readdirSync(elsewhere), []);
  });

  it('keeps only delivered messages unless `all`, marking the others in names and index', async () => {
    const mails: Mail[] = [
      { bytes: crlf('Subject: ok', '', 'x', '') },
      { bytes: crlf('Subject: no', '', 'y', ''), status: 'rejected' },
      { bytes: crlf('Subject: cut', '', 'z'), status: 'incomplete' },
    ];
    const dir = freshDir();
    await extract({ dir }, mails);
    assert.deepEqual(walk(dir), ['S1-1-ok.eml', 'index.csv', 'index.json']);
    const dirAll = freshDir();
    const all = await extract({ dir: dirAll, all: true, filter: (_s, t) => t.index !== 1 }, mails);
    assert.deepEqual(walk(dirAll), [
      'S1-2-rejected-no.eml',
      'S1-3-incomplete-cut.eml',
      'index.csv',
      'index.json',
    ]);
    assert.deepEqual(
      all.messages.map((m) => [m.file, m.status]),
      [
        ['S1-2-rejected-no.eml', 'rejected'],
        ['S1-3-incomplete-cut.eml', 'incomplete'],
      ],
    );
  });

  it('writes an mboxrd that reads back byte for byte (scenario 04 plus From-quoting cases)', async () => {
    const dir = freshDir();
    const mbox = join(scratch, `mail${dirs}.mbox`);
    const tricky = crlf(
      'Subject: quoting',
      '',
      'From here',
      '>From there',
      '>>From everywhere',
      'Fromage',
      ' From x',
      'From',
      '',
    );
    const noFinalNewline = Buffer.from('Subject: cut\r\n\r\nlast line From ');
    const mails: Mail[] = [
      {
        bytes: truth('04-multi-message-session/sent.eml'),
        mailFrom: 'one@client.test',
        start: '2026-12-03T16:01:41.999999999Z',
      },
      { bytes: truth('04-multi-message-session/sent-2.eml'), mailFrom: 'two@client.test' },
      { bytes: crlf('Subject: refused', '', 'r', ''), status: 'rejected', mailFrom: 'three@client.test' },
      {
        bytes: truth('04-multi-message-session/sent-3.eml'),
        mailFrom: 'four@client.test',
        start: '2026-01-09T03:04:05Z',
      },
      { bytes: tricky, mailFrom: '' },
      { bytes: noFinalNewline, mailFrom: 'x y@client.test' },
    ];
    await extract({ dir, mbox }, mails);
    const raw = readFileSync(mbox);
    const read = readMbox(raw);
    assert.deepEqual(
      read.map((m) => m.from),
      [
        'From one@client.test Thu Dec  3 16:01:41 2026\n',
        'From two@client.test Thu Dec  3 16:01:41 2026\n',
        'From four@client.test Fri Jan  9 03:04:05 2026\n',
        'From MAILER-DAEMON Thu Dec  3 16:01:41 2026\n',
        'From x_y@client.test Thu Dec  3 16:01:41 2026\n',
      ],
    );
    const expected = [mails[0], mails[1], mails[3], mails[4]].map((m) => m.bytes);
    for (const [i, bytes] of expected.entries()) assert.ok(read[i].body.equals(bytes), `message ${i}`);
    // mboxrd cannot keep a missing final newline: the reader gets one added, nothing else.
    assert.ok(read[4].body.equals(Buffer.concat([noFinalNewline, Buffer.from('\n')])));
    assert.match(
      raw.toString('latin1'),
      /\n>From here\r\n>>From there\r\n>>>From everywhere\r\nFromage\r\n From x\r\nFrom\r\n\n/,
    );
  });

  it('refuses an existing mbox file without force', () => {
    const dir = freshDir();
    const mbox = join(scratch, `exists${dirs}.mbox`);
    writeFileSync(mbox, 'old');
    assert.throws(() => new Extractor({ dir, mbox }), ExtractError);
    assert.equal(existsSync(dir), true);
  });
});

describe('mbox From line', () => {
  it('uses asctime with a space-padded day and MAILER-DAEMON for the null sender', () => {
    assert.equal(asctime(new Date('2026-12-03T16:01:41.9Z')), 'Thu Dec  3 16:01:41 2026');
    assert.equal(asctime(new Date('2026-11-23T06:07:08Z')), 'Mon Nov 23 06:07:08 2026');
    assert.equal(fromLine('', new Date(0)), 'From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n');
    assert.equal(fromLine(null, new Date(0)), 'From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n');
  });
});
