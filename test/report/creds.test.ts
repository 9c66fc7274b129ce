/**
 * The creds report (table and JSON) and secret masking in the other reports: passwords, SASL
 * responses and tokens are hidden in tables and transcripts unless showSecrets; JSON keeps them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialRecords, credsJson, renderCredsTable } from '../../src/report/creds.js';
import { renderSessionsTable } from '../../src/report/session-table.js';
import { renderTranscript } from '../../src/report/transcript.js';
import type { DialogueEvent } from '../../src/smtp/dialogue.js';
import { analyseBuffer } from '../helpers/analyse-buffer.js';
import { tcpDialogue } from '../helpers/frames.js';
import { captureOf } from '../helpers/scripted-capture.js';
import { b64, c, client, s, server } from '../smtp/helpers.js';

const TOKEN = 'ya29.SECRET-TOKEN-VALUE-0123456789';

async function authSession() {
  const events: DialogueEvent[] = [];
  const packets = tcpDialogue({
    client,
    server,
    steps: [
      s('220 mx ESMTP\r\n'),
      c('EHLO c\r\n'),
      s('250-mx\r\n250 AUTH PLAIN LOGIN XOAUTH2\r\n'),
      c(`AUTH PLAIN ${b64('\0alice\0hunter2')}\r\n`),
      s('535 5.7.8 no\r\n'),
      c('AUTH LOGIN\r\n'),
      s(`334 ${b64('Username:')}\r\n`),
      c(`${b64('alice')}\r\n`),
      s(`334 ${b64('Password:')}\r\n`),
      c(`${b64('correct horse')}\r\n`),
      s('235 2.7.0 ok\r\n'),
      c(`AUTH XOAUTH2 ${b64(`user=alice\x01auth=Bearer ${TOKEN}\x01\x01`)}\r\n`),
      s('235 ok\r\n'),
      c('MAIL FROM:<alice@x>\r\n'),
      s('250 ok\r\n'),
    ],
  });
  const { sessions } = await analyseBuffer(captureOf(packets), { dialogue: (_id, e) => events.push(e) });
  return { sessions, events };
}

describe('creds report', () => {
  it('one record per attempt with its session, endpoints and outcome; JSON keeps every secret', async () => {
    const { sessions } = await authSession();
    const records = credentialRecords(sessions);
    assert.deepEqual(
      records.map((r) => [
        r.session,
        r.client.port,
        r.server.port,
        r.mechanism,
        r.username,
        r.password ?? r.token,
        r.outcome,
      ]),
      [
        ['S1', client.port, 25, 'PLAIN', 'alice', 'hunter2', 'failure'],
        ['S1', client.port, 25, 'LOGIN', 'alice', 'correct horse', 'success'],
        ['S1', client.port, 25, 'XOAUTH2', 'alice', TOKEN, 'success'],
      ],
    );
    const json = JSON.parse(credsJson(sessions));
    assert.equal(json[2].token, TOKEN);
    assert.equal(json[0].password, 'hunter2');
  });

  it('the table shows passwords, a token summary, and the whole token only with showSecrets', async () => {
    const { sessions } = await authSession();
    const table = renderCredsTable(sessions, { colour: false });
    assert.ok(table.includes('password hunter2'));
    assert.ok(table.includes('password correct horse'));
    assert.ok(table.includes('token Bearer ya29.SEC… (34 chars, sha256'));
    assert.ok(!table.includes(TOKEN));
    assert.ok(table.includes('failure 535'));
    assert.ok(table.includes('success 235'));
    assert.ok(table.endsWith('3 attempts, 2 succeeded\n'));
    assert.ok(renderCredsTable(sessions, { colour: false, showSecrets: true }).includes(TOKEN));
  });
});

describe('secret masking in the other reports', () => {
  it('the transcript hides SASL responses and AUTH initial responses unless showSecrets', async () => {
    const { sessions, events } = await authSession();
    const masked = renderTranscript(sessions[0], events, { colour: false });
    for (const secret of [b64('\0alice\0hunter2'), b64('correct horse'), b64('alice')]) {
      assert.ok(!masked.includes(secret), `hidden: ${secret}`);
    }
    assert.ok(masked.includes('C: AUTH PLAIN [hidden]'));
    assert.ok(masked.includes('C: AUTH LOGIN\n'));
    assert.ok(masked.includes('C: [SASL response: '));
    const shown = renderTranscript(sessions[0], events, { colour: false, showSecrets: true });
    assert.ok(shown.includes(`C: AUTH PLAIN ${b64('\0alice\0hunter2')}`));
    assert.ok(shown.includes(`C: ${b64('correct horse')}`));
  });

  it('the sessions table shows users, and passwords only with showSecrets', async () => {
    const { sessions } = await authSession();
    const masked = renderSessionsTable(sessions, { colour: false });
    assert.ok(masked.includes('✓ LOGIN alice'));
    assert.ok(!masked.includes('hunter2') && !masked.includes('correct horse'));
    const shown = renderSessionsTable(sessions, { colour: false, showSecrets: true });
    assert.ok(shown.includes('✗ PLAIN alice:hunter2'));
  });
});
