/**
 * Writer-built captures through the whole pipeline: each asserts the exact transactions (bytes,
 * sha256, reply codes) for one way real traffic is cut, reordered or spoken.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { analyseBuffer } from '../helpers/analyse-buffer.js';
import { writePcap } from '../helpers/capture-writer.js';
import { EXIM_CLIENT, EXIM_MESSAGE, EXIM_SERVER, EXIM_TELNET_STEPS } from '../helpers/exim-telnet.js';
import {
  type DialogueStep,
  duplicate,
  ethernet,
  move,
  splitSegment,
  swap,
  tcpDialogue,
} from '../helpers/frames.js';
import { captureOf, framesOf } from '../helpers/scripted-capture.js';
import { smtpSteps } from '../helpers/smtp-steps.js';

const sha256 = (bytes: string | Buffer): string => createHash('sha256').update(bytes).digest('hex');
const client = { ip: '192.0.2.10', port: 50123 };
const server = { ip: '198.51.100.25', port: 25 };

function packetsOf(steps: DialogueStep[], extra: Partial<Parameters<typeof tcpDialogue>[0]> = {}): Buffer[] {
  return tcpDialogue({ client, server, steps, ...extra });
}

async function analysePackets(packets: Buffer[]) {
  return analyseBuffer(captureOf(packets));
}

/** A plain EHLO session carrying `message` with DATA, the server offering SIZE and CHUNKING too. */
function simpleSteps(message: string, wire = message): DialogueStep[] {
  return smtpSteps(message, {
    wire,
    ehloReply: '250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 CHUNKING\r\n',
  });
}

const MESSAGE = 'Subject: hi\r\n\r\nline one\r\nline two\r\n';

describe('whole pipeline on writer-built dialogues', () => {
  it('reads the demo capture: the Exim telnet session', async () => {
    const capture = captureOf(
      tcpDialogue({ client: EXIM_CLIENT, server: EXIM_SERVER, steps: EXIM_TELNET_STEPS }),
    );
    const { sessions } = await analyseBuffer(capture);
    assert.equal(sessions.length, 1);
    const [s] = sessions;
    assert.equal(s.greeting?.code, 220);
    assert.deepEqual(s.helo && [s.helo.verb, s.helo.name, s.helo.reply?.code], ['HELO', 'client.thm', 250]);
    assert.equal(s.transactions.length, 1);
    const [tx] = s.transactions;
    assert.equal(tx.mailFrom?.address, 'user@client.thm');
    assert.deepEqual(
      tx.rcptTo.map((r) => [r.address, r.reply?.code]),
      [['strategos@server.thm', 250]],
    );
    assert.equal(tx.data?.size, Buffer.byteLength(EXIM_MESSAGE));
    assert.equal(tx.data?.sha256, sha256(EXIM_MESSAGE));
    assert.equal(tx.data?.queueId, '1pFDyV-0004Hk-2C');
    assert.equal(tx.status, 'delivered');
    assert.equal(s.state, 'complete');
  });

  it('dot-unstuffs lines that start with a dot, and keeps a lone dot inside a line', async () => {
    const message = 'Subject: dots\r\n\r\n.leading\r\n..two\r\nmid . dot\r\n.\tTab\r\n';
    const stuffed = message.replace(/^\./gm, '..');
    const { sessions } = await analysePackets(packetsOf(simpleSteps(message, stuffed)));
    const tx = sessions[0].transactions[0];
    assert.equal(tx.data?.sha256, sha256(message));
    assert.equal(tx.data?.size, Buffer.byteLength(message));
  });

  it('places out-of-order segments and drops retransmissions', async () => {
    let packets = packetsOf(simpleSteps(MESSAGE), { mss: 8 });
    const first = packets.findIndex((p) => p.includes(Buffer.from('Subject:')));
    packets = swap(packets, first, first + 1); // two message segments exchanged
    packets = move(packets, first + 2, first + 4); // another one two places late
    packets = duplicate(packets, first + 1, first + 5); // and a retransmitted copy
    const { sessions } = await analysePackets(packets);
    const [s] = sessions;
    assert.equal(s.transactions[0].data?.sha256, sha256(MESSAGE));
    assert.equal(s.transactions[0].status, 'delivered');
    assert.equal(s.duplicates.client, 8, 'the retransmitted copy is counted, not delivered');
    assert.deepEqual(s.gaps, { client: 0, server: 0 });
  });

  it('survives a sequence number wrap in both directions', async () => {
    const packets = packetsOf(simpleSteps(MESSAGE), {
      clientIsn: 0xffffffff - 40,
      serverIsn: 0xffffffff - 3,
      mss: 16,
    });
    const { sessions } = await analysePackets(swap(packets, 8, 9));
    const tx = sessions[0].transactions[0];
    assert.equal(tx.data?.sha256, sha256(MESSAGE));
    assert.equal(tx.status, 'delivered');
    assert.equal(
      sessions[0].bytes.client,
      'EHLO c.test\r\n'.length +
        'MAIL FROM:<a@c.test>\r\n'.length +
        'RCPT TO:<b@mx.test>\r\n'.length +
        'DATA\r\n'.length +
        MESSAGE.length +
        3 +
        'QUIT\r\n'.length,
    );
  });

  it('joins a command split across segments (one byte per segment)', async () => {
    const packets = packetsOf(simpleSteps(MESSAGE), { mss: 1 });
    const { sessions } = await analysePackets(packets);
    const [s] = sessions;
    assert.deepEqual(
      s.commands.map((c) => [c.verb, c.arg, c.reply?.code]),
      [
        ['EHLO', 'c.test', 250],
        ['MAIL', 'FROM:<a@c.test>', 250],
        ['RCPT', 'TO:<b@mx.test>', 250],
        ['DATA', '', 354],
        ['QUIT', '', 221],
      ],
    );
    assert.deepEqual(s.extensions, ['PIPELINING', 'SIZE 1000000', 'CHUNKING']);
    assert.equal(s.transactions[0].data?.sha256, sha256(MESSAGE));
  });

  it('matches PIPELINING replies to commands in order, with a rejected recipient', async () => {
    const steps: DialogueStep[] = [
      { from: 'server', data: '220 mx.test ESMTP\r\n' },
      { from: 'client', data: 'EHLO c.test\r\n' },
      { from: 'server', data: '250-mx.test\r\n250 PIPELINING\r\n' },
      {
        from: 'client',
        data: 'MAIL FROM:<a@c.test> SIZE=40\r\nRCPT TO:<b@mx.test>\r\nRCPT TO:<nobody@mx.test>\r\nRCPT TO:<c@mx.test> NOTIFY=NEVER\r\nDATA\r\n',
      },
      { from: 'server', data: '250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n' },
      {
        from: 'server',
        data: '550 5.1.1 <nobody@mx.test>: Recipient address rejected\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n',
      },
      { from: 'client', data: `${MESSAGE}.\r\nQUIT\r\n` },
      { from: 'server', data: '250 2.0.0 Ok: queued as Q1\r\n221 2.0.0 Bye\r\n' },
    ];
    const { sessions } = await analysePackets(packetsOf(steps));
    const tx = sessions[0].transactions[0];
    assert.deepEqual(tx.mailFrom?.params, { SIZE: '40' });
    assert.deepEqual(
      tx.rcptTo.map((r) => [r.address, r.reply?.code, r.reply?.enhanced, r.accepted, r.params]),
      [
        ['b@mx.test', 250, '2.1.5', true, {}],
        ['nobody@mx.test', 550, '5.1.1', false, {}],
        ['c@mx.test', 250, '2.1.5', true, { NOTIFY: 'NEVER' }],
      ],
    );
    assert.equal(tx.data?.sha256, sha256(MESSAGE));
    assert.equal(tx.data?.queueId, 'Q1');
    assert.equal(tx.status, 'delivered');
    assert.equal(sessions[0].commands.at(-1)?.reply?.code, 221);
  });

  it('keeps a multi-line reply whole, in any segmentation', async () => {
    const packets = packetsOf(simpleSteps(MESSAGE), { mss: 5 });
    const { sessions } = await analysePackets(packets);
    const ehlo = sessions[0].commands[0];
    assert.equal(ehlo.reply?.code, 250);
    assert.equal(ehlo.reply?.text, 'mx.test\nPIPELINING\nSIZE 1000000\nCHUNKING');
  });

  it('reads BDAT chunks byte-exact, one ending between CR and LF', async () => {
    const body = 'Subject: chunks\r\n\r\n.not stuffed\r\nMAIL FROM:<x@y>\r\nend\r\n';
    const cut = body.indexOf('\r\n', 20) + 1; // the chunk ends after a CR, the next begins with LF
    const first = body.slice(0, cut);
    const second = body.slice(cut);
    const steps: DialogueStep[] = [
      { from: 'server', data: '220 mx.test ESMTP\r\n' },
      { from: 'client', data: 'EHLO c.test\r\n' },
      { from: 'server', data: '250-mx.test\r\n250 CHUNKING\r\n' },
      { from: 'client', data: 'MAIL FROM:<a@c.test>\r\nRCPT TO:<b@mx.test>\r\n' },
      { from: 'server', data: '250 Ok\r\n250 Ok\r\n' },
      { from: 'client', data: `BDAT ${Buffer.byteLength(first)}\r\n${first}` },
      { from: 'server', data: '250 2.0.0 chunk ok\r\n' },
      { from: 'client', data: `BDAT ${Buffer.byteLength(second)} LAST\r\n${second}` },
      { from: 'server', data: '250 2.0.0 Ok: queued as B1\r\n' },
      { from: 'client', data: 'BDAT 0 LAST\r\n' },
      { from: 'server', data: '503 5.5.1 no transaction\r\n' },
      { from: 'client', data: 'QUIT\r\n' },
      { from: 'server', data: '221 Bye\r\n' },
    ];
    const { sessions } = await analysePackets(packetsOf(steps, { mss: 7 }));
    const txs = sessions[0].transactions;
    assert.equal(txs[0].data?.method, 'BDAT');
    assert.deepEqual(txs[0].data?.chunks, [Buffer.byteLength(first), Buffer.byteLength(second)]);
    assert.equal(txs[0].data?.sha256, sha256(body));
    assert.equal(txs[0].data?.queueId, 'B1');
    assert.equal(txs[0].status, 'delivered');
    assert.equal(txs.length, 2, 'the stray BDAT 0 LAST is its own (rejected) attempt');
    assert.equal(txs[1].status, 'rejected');
    assert.deepEqual(
      sessions[0].commands.map((c) => c.verb),
      ['EHLO', 'MAIL', 'RCPT', 'BDAT', 'BDAT', 'BDAT', 'QUIT'],
    );
  });

  it('analyses every complete packet of a file cut inside its last record, and says where', async () => {
    const packets = packetsOf(simpleSteps(MESSAGE));
    const full = writePcap(framesOf(packets), { linkType: 1 });
    const cut = full.subarray(0, full.length - 10);
    const { inputs, sessions } = await analyseBuffer(cut);
    assert.equal(inputs[0].packets, packets.length - 1);
    const lastRecord = full.length - (16 + ethernet(packets.at(-1) as Buffer).length);
    assert.deepEqual(
      inputs[0].warnings.map((w) => [w.code, w.packet, w.offset]),
      [['truncated-record', packets.length, lastRecord]],
    );
    assert.equal(sessions[0].transactions[0].status, 'delivered');
    assert.equal(sessions[0].transactions[0].data?.sha256, sha256(MESSAGE));
  });

  it('splits a segment in the middle of the end-of-data mark', async () => {
    let packets = packetsOf(simpleSteps(MESSAGE));
    const dataIndex = packets.findIndex((p) => p.includes(Buffer.from('line two\r\n.\r\n')));
    packets = splitSegment(packets, dataIndex, MESSAGE.length + 1);
    const { sessions } = await analysePackets(packets);
    assert.equal(sessions[0].transactions[0].data?.sha256, sha256(MESSAGE));
  });
});

describe('library API', () => {
  it('analyse() yields each session of a capture as an async iterable', async () => {
    const { analyse } = await import('../../src/index.js');
    const ids: string[] = [];
    const statuses: string[] = [];
    for await (const session of analyse([
      new URL('../../fixtures/real/31-concurrent-sessions.pcap', import.meta.url).pathname,
    ])) {
      ids.push(session.id);
      statuses.push(...session.transactions.map((t) => t.status));
    }
    assert.deepEqual(
      ids.slice().sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))),
      Array.from({ length: 12 }, (_, i) => `S${i + 1}`),
    );
    assert.deepEqual(statuses, new Array(12).fill('delivered'));
  });
});
