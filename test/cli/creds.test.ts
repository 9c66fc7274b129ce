/** `smtpcap creds`, `--show-secrets` and `--no-detect` as a user runs them. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tcpDialogue } from '../helpers/frames.js';
import { captureOf } from '../helpers/scripted-capture.js';
import { c, s } from '../smtp/helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const SCENARIO_09 = join(ROOT, 'fixtures/real/09-auth-fail-then-ok.pcap');

function run(args: string[]) {
  const { NO_COLOR: _n, FORCE_COLOR: _f, ...env } = process.env;
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('smtpcap creds', () => {
  it('prints every attempt of scenario 09 with its outcome, and --json the records', () => {
    const table = run(['creds', SCENARIO_09]);
    assert.equal(table.code, 0, table.stderr);
    assert.equal((table.stdout.match(/failure 535/g) ?? []).length, 3);
    assert.equal((table.stdout.match(/success 235/g) ?? []).length, 1);
    assert.ok(table.stdout.includes('password wrong-password'));
    assert.ok(table.stdout.includes('crack $cram_md5$'));
    const json = run(['creds', '--json', SCENARIO_09]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(
      JSON.parse(json.stdout).map(
        (a: { mechanism: string; outcome: string }) => `${a.mechanism} ${a.outcome}`,
      ),
      ['CRAM-MD5 failure', 'PLAIN failure', 'LOGIN failure', 'CRAM-MD5 success'],
    );
  });

  it('the sessions table hides passwords unless --show-secrets', () => {
    const masked = run([join(ROOT, 'fixtures/real/06-auth-plain.pcap')]);
    assert.ok(!masked.stdout.includes('s3cret-Pa55'));
    const shown = run(['--show-secrets', join(ROOT, 'fixtures/real/06-auth-plain.pcap')]);
    assert.ok(shown.stdout.includes('sasluser@example.test:s3cret-Pa55'));
  });

  it('--no-detect reads only the SMTP ports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpcap-cli-'));
    const file = join(dir, 'alt-port.pcap');
    const packets = tcpDialogue({
      client: { ip: '192.0.2.1', port: 40000 },
      server: { ip: '192.0.2.2', port: 10025 },
      steps: [s('220 mx ESMTP\r\n'), c('EHLO c\r\n'), s('250 mx\r\n'), c('QUIT\r\n'), s('221 bye\r\n')],
    });
    writeFileSync(file, captureOf(packets));
    assert.equal(JSON.parse(run(['json', file]).stdout).sessions.length, 1);
    assert.equal(JSON.parse(run(['json', '--no-detect', file]).stdout).sessions.length, 0);
    assert.equal(JSON.parse(run(['json', '--no-detect', '--port', '10025', file]).stdout).sessions.length, 1);
  });
});
