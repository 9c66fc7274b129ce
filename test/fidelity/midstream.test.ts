/**
 * Captures that start mid-session or hold one side only (issue #3): roles from the SYN-ACK, else
 * the ports, else the content; the session says which side is missing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tcpDialogue } from '../helpers/frames.js';
import {
  analysePackets,
  anomalies,
  assertCounts,
  CLIENT,
  commandView,
  deliveredView,
  dialogue,
  fromClient,
  MESSAGE,
  onlySession,
  P,
  SERVER,
  smtpSteps,
  txView,
} from './fidelity.js';

const CLIENT_AFTER_EHLO = 22 + 21 + 6 + Buffer.byteLength(MESSAGE) + 3 + 6;
const SERVER_AFTER_EHLO = 14 + 14 + 14 + 32 + 15;

describe('capture starting mid-session', () => {
  it('no SYN at all: roles from the port, every transaction after the start complete', async () => {
    const packets = dialogue().slice(P.mail - 1);
    const s = onlySession(await analysePackets(packets));
    assert.deepEqual([s.client, s.server], [CLIENT, SERVER]);
    assert.equal(s.state, 'midstream');
    assert.equal(s.greeting, null);
    assert.deepEqual(commandView(s), [
      ['MAIL', 250],
      ['RCPT', 250],
      ['DATA', 354],
      ['QUIT', 221],
    ]);
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(anomalies(s), []);
    const span: [number, number] = [CLIENT_AFTER_EHLO, SERVER_AFTER_EHLO];
    assertCounts(s, { bytes: span, duplicates: [0, 0], gaps: [0, 0] }, span);
  });

  it('only the SYN-ACK: roles from it, even against the port rule', async () => {
    // Both ports read as SMTP; the port rule would make the lower one (2526) the server.
    const client = { ip: CLIENT.ip, port: 2526 };
    const server = { ip: SERVER.ip, port: 10025 };
    const packets = tcpDialogue({ client, server, steps: smtpSteps() }).slice(1);
    const s = onlySession(await analysePackets(packets, { ports: [2526, 10025] }));
    assert.deepEqual([s.client, s.server], [client, server]);
    assert.notEqual(s.state, 'midstream');
    assert.equal(s.greeting?.code, 220);
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(anomalies(s), []);
  });

  it('both ends on port 25 and no handshake: the side sending a reply line is the server', async () => {
    const client = { ip: CLIENT.ip, port: 25 };
    const server = { ip: SERVER.ip, port: 25 };
    // The capture starts at the server's reply to MAIL (MAIL itself not captured).
    const packets = tcpDialogue({ client, server, steps: smtpSteps() }).slice(P.mailReply - 1);
    const s = onlySession(await analysePackets(packets));
    assert.deepEqual([s.client, s.server], [client, server]);
    assert.equal(s.state, 'midstream');
    assert.deepEqual(commandView(s), [
      ['RCPT', 250],
      ['DATA', 354],
      ['QUIT', 221],
    ]);
    assert.deepEqual(s.transactions.map(txView), [{ ...deliveredView(), mailFrom: null }]);
  });
});

describe('one-sided captures', () => {
  it('only client -> server: everything the client said is rebuilt, missingSide is server', async () => {
    const packets = dialogue().filter((p) => fromClient(p));
    const s = onlySession(await analysePackets(packets));
    assert.equal(s.missingSide, 'server');
    assert.deepEqual(commandView(s), [
      ['EHLO', null],
      ['MAIL', null],
      ['RCPT', null],
      ['DATA', null],
      ['QUIT', null],
    ]);
    assert.deepEqual(s.transactions.map(txView), [
      {
        ...deliveredView(),
        rcptTo: [['b@mx.test', null]],
        data: { ...deliveredView().data, reply: null },
        status: 'incomplete',
      },
    ]);
    const client = 13 + CLIENT_AFTER_EHLO;
    assertCounts(s, { bytes: [client, 0], duplicates: [0, 0], gaps: [0, 0] }, [client, 0]);
  });

  it('only server -> client: the replies are kept, missingSide is client', async () => {
    const packets = dialogue().filter((p) => !fromClient(p));
    const s = onlySession(await analysePackets(packets));
    assert.equal(s.missingSide, 'client');
    assert.equal(s.greeting?.code, 220);
    assert.deepEqual(s.commands, []);
    assert.deepEqual(s.transactions, []);
    const server = 19 + 29 + SERVER_AFTER_EHLO;
    assertCounts(s, { bytes: [0, server], duplicates: [0, 0], gaps: [0, 0] }, [0, server]);
  });
});
