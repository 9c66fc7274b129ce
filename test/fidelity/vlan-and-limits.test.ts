/**
 * 802.1Q / QinQ tags (not part of the connection key, README "Limits") and the bounded state of
 * the reassembler (issue #3): reaching a cap is an anomaly, never a crash or silent loss.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Frame } from '../helpers/capture-writer.js';
import { type EthernetOptions, ethernet, splitSegment, tcpDialogue } from '../helpers/frames.js';
import {
  analyseFrames,
  analysePackets,
  anomalies,
  assertCounts,
  cleanCounts,
  deliveredView,
  dialogue,
  fromClient,
  MESSAGE,
  onlySession,
  P,
  SERVER,
  sha256,
  smtpSteps,
  txView,
} from './fidelity.js';

function tagged(packets: Buffer[], client: EthernetOptions, server: EthernetOptions): Frame[] {
  return packets.map((ip, i) => ({
    data: ethernet(ip, fromClient(ip) ? client : server),
    tsSec: 1_700_000_000,
    tsNsec: i * 1_000_000,
  }));
}

describe('VLAN tags', () => {
  const cases: [string, EthernetOptions, EthernetOptions][] = [
    ['both directions tagged 100', { vlans: [100] }, { vlans: [100] }],
    ['the directions tagged differently (100 and 200)', { vlans: [100] }, { vlans: [200] }],
    [
      'QinQ 802.1ad 10 + 802.1Q 100 both ways',
      { vlans: [10, 100], tpids: [0x88a8, 0x8100] },
      { vlans: [10, 100], tpids: [0x88a8, 0x8100] },
    ],
    ['one direction tagged, the other not', { vlans: [100] }, {}],
  ];
  for (const [name, client, server] of cases) {
    it(`one session: ${name}`, async () => {
      const result = await analyseFrames(tagged(dialogue(), client, server));
      const s = onlySession(result);
      assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
      assert.deepEqual(anomalies(s), []);
      assert.equal(s.state, 'complete');
      const { counts, span } = cleanCounts();
      assertCounts(s, counts, span);
    });
  }
});

describe('bounded state', () => {
  it('out-of-order bytes past the cap: reassembly-cap, a gap, and the message goes on', async () => {
    // The message in [0,21) [21,41) [41,56); the first is lost, the second (20 bytes) passes a
    // 16-byte cap.
    const packets = splitSegment(splitSegment(dialogue(), P.message - 1, 21), P.message, 20);
    const capture = [...packets.slice(0, P.message - 1), ...packets.slice(P.message)];
    const s = onlySession(await analysePackets(capture, { tcp: { maxBufferedBytesPerDirection: 16 } }));
    const seen = MESSAGE.slice(21);
    assert.deepEqual(s.transactions.map(txView), [
      {
        ...deliveredView(),
        data: {
          method: 'DATA',
          size: seen.length,
          sha256: sha256(seen),
          reply: 250,
          gaps: [{ offset: 0, length: 21 }],
        },
        status: 'incomplete',
      },
    ]);
    assert.deepEqual(anomalies(s), [
      ['reassembly-cap', P.message],
      ['gap-in-data', P.message],
    ]);
    const { span } = cleanCounts();
    assertCounts(s, { bytes: [span[0] - 21, span[1]], duplicates: [0, 0], gaps: [21, 0] }, span);
  });

  it('more open connections than the cap: the least recently active one closes with connection-cap', async () => {
    const first = dialogue();
    const second = tcpDialogue({
      client: { ip: '192.0.2.77', port: 41000 },
      server: SERVER,
      steps: smtpSteps(),
    });
    // The first session's handshake and greeting, then the whole second session.
    const result = await analysePackets([...first.slice(0, 4), ...second], { tcp: { maxConnections: 1 } });
    assert.equal(result.sessions.length, 2);
    const [s1, s2] = result.sessions;
    assert.deepEqual(anomalies(s1), [['connection-cap', 5]]);
    assert.equal(s1.state, 'truncated');
    assert.equal(s1.greeting?.code, 220);
    assertCounts(s1, { bytes: [0, 19], duplicates: [0, 0], gaps: [0, 0] }, [0, 19]);
    assert.deepEqual(s2.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(anomalies(s2), []);
  });

  it('idle timeout in capture time (option): a silent connection closes, its return is a new midstream session', async () => {
    const packets = dialogue();
    const frames: Frame[] = packets.map((ip, i) => ({
      data: ethernet(ip),
      // 30 s of silence before the MAIL command.
      tsSec: 1_700_000_000 + (i >= P.mail - 1 ? 30 : 0),
      tsNsec: i * 1_000_000,
    }));
    const result = await analyseFrames(frames, { tcp: { idleTimeoutSec: 20 } });
    assert.equal(result.sessions.length, 2);
    const [s1, s2] = result.sessions;
    assert.equal(s1.state, 'truncated');
    assert.deepEqual(s1.transactions, []);
    assert.equal(s2.state, 'midstream');
    assert.deepEqual(s2.transactions.map(txView), [deliveredView()]);
  });
});
