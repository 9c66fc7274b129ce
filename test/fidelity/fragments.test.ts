/**
 * IP fragments through the whole pipeline (issue #3): any arrival order, a first fragment shorter
 * than the TCP header, overlaps (first copy wins, with a warning), the timeout and the caps on
 * incomplete datagrams, and IPv6 Fragment headers likewise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fragmentIpv4, fragmentIpv6, splitSegment, tcpDialogue } from '../helpers/frames.js';
import {
  analysePackets,
  anomalies,
  assertCounts,
  CLIENT6,
  cleanCounts,
  commandView,
  deliveredView,
  dialogue,
  ipv4Fragment,
  ipv6Fragment,
  MESSAGE,
  onlySession,
  P,
  rewrite,
  SERVER6,
  sha256,
  smtpSteps,
  txView,
  warnings,
} from './fidelity.js';

/** Index (0-based) of the message packet in dialogue(). */
const MSG = P.message - 1;
/** The message packet's TCP segment (20-byte header + message + ".\r\n") is 76 bytes. */
const SEGMENT = 20 + Buffer.byteLength(MESSAGE) + 3;

/** The dialogue with the message packet replaced by `fragments` in the given order. */
function withFragments(packets: Buffer[], fragments: Buffer[], order: number[]): Buffer[] {
  const out = packets.slice();
  out.splice(MSG, 1, ...order.map((i) => fragments[i]));
  return out;
}

const ORDERS: [string, number[]][] = [
  ['in order', [0, 1, 2]],
  ['last first', [2, 0, 1]],
  ['reversed', [2, 1, 0]],
  ['first last', [1, 2, 0]],
];

describe('IPv4 fragments', () => {
  for (const [name, order] of ORDERS) {
    it(`rebuilds a segment whose first fragment (8 bytes) is shorter than the TCP header: ${name}`, async () => {
      const packets = dialogue();
      const fragments = fragmentIpv4(packets[MSG], [8, 24]);
      assert.deepEqual(
        fragments.map((f) => f.length - 20),
        [8, 24, SEGMENT - 32],
      );
      const result = await analysePackets(withFragments(packets, fragments, order));
      const s = onlySession(result);
      assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
      assert.deepEqual(anomalies(s), []);
      assert.deepEqual(warnings(result), []);
      // The message is reported at the packet that completed the datagram.
      assert.equal(s.transactions[0].data?.reply?.packet, P.queued + 2);
      const { counts, span } = cleanCounts();
      assertCounts(s, counts, span);
    });
  }

  it('keeps the first copy of overlapping fragments and warns with the packet number', async () => {
    const packets = dialogue();
    const original = packets[MSG];
    // Datagram bytes 16-48: its first 16 bytes (16-32, already held) differ from the first copy.
    const overlap = ipv4Fragment(original, 16, 48, true, Buffer.alloc(16, 0x58));
    const f = [
      ipv4Fragment(original, 0, 8, true),
      ipv4Fragment(original, 8, 32, true),
      overlap,
      ipv4Fragment(original, 32, SEGMENT, false),
    ];
    const result = await analysePackets(withFragments(packets, f, [0, 1, 2, 3]));
    const s = onlySession(result);
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    // The overlapping fragment is packet 15 (different bytes), the last one packet 16 (identical).
    assert.deepEqual(warnings(result), [
      ['fragment-overlap', MSG + 3],
      ['fragment-overlap', MSG + 4],
    ]);
    assert.match(result.inputs[0].warnings[0].detail, /16-48 .*different content.*first copy is kept/);
    assert.match(result.inputs[0].warnings[1].detail, /identical content/);
    const { counts, span } = cleanCounts();
    assertCounts(s, counts, span);
  });

  it('keeps the first copy when the conflicting fragment came first', async () => {
    const packets = dialogue();
    const original = packets[MSG];
    // Datagram bytes 16-32 are the TCP checksum, urgent pointer and the first 12 message bytes.
    const early = ipv4Fragment(original, 16, 32, true, Buffer.alloc(16, 0x58));
    const f = [early, ...fragmentIpv4(original, [8, 24])];
    const result = await analysePackets(withFragments(packets, f, [0, 1, 2, 3]));
    const s = onlySession(result);
    const kept = `XXXXXXXXXXXX${MESSAGE.slice(12)}`;
    assert.deepEqual(s.transactions.map(txView), [deliveredView(kept)]);
    assert.deepEqual(warnings(result), [['fragment-overlap', MSG + 3]]);
  });

  it('drops an incomplete datagram after the timeout: its bytes become a gap of known length', async () => {
    // Split after "line one\r\n" (31 bytes), so the bytes after the hole start a line.
    const packets = splitSegment(dialogue(), MSG, 31);
    // The first 31 message bytes come in two fragments 1 ms apart, beyond a 0.5 ms timeout.
    const f = fragmentIpv4(packets[MSG], [16]);
    const result = await analysePackets(withFragments(packets, f, [0, 1]), {
      decode: { fragmentTimeoutSec: 0.0005 },
    });
    const s = onlySession(result);
    assert.deepEqual(warnings(result), [
      ['fragment-dropped', MSG + 1],
      ['fragment-dropped', MSG + 2],
    ]);
    assert.match(result.inputs[0].warnings[0].detail, /timeout after 0.0005 s/);
    assert.match(result.inputs[0].warnings[1].detail, /end of capture/);
    const rest = MESSAGE.slice(31);
    assert.deepEqual(s.transactions.map(txView), [
      {
        ...deliveredView(),
        data: {
          method: 'DATA',
          size: Buffer.byteLength(rest),
          sha256: sha256(rest),
          reply: 250,
          gaps: [{ offset: 0, length: 31 }],
        },
        status: 'incomplete',
      },
    ]);
    // The gap is declared by the server's ACK on its queued reply (packet 16).
    assert.deepEqual(anomalies(s), [['gap-in-data', P.queued + 2]]);
    assert.deepEqual(commandView(s).at(-1), ['QUIT', 221]);
    const { span } = cleanCounts();
    assertCounts(s, { bytes: [span[0] - 31, span[1]], duplicates: [0, 0], gaps: [31, 0] }, span);
  });

  it('byte cap: the oldest incomplete datagram is dropped with a warning, the rest rebuilt', async () => {
    const packets = dialogue();
    // An orphan first fragment (20 + 8 bytes held) of an EHLO copy that is never completed.
    const orphan = fragmentIpv4(rewrite(packets[P.ehlo - 1], { id: 0x7777 }), [8])[0];
    const withOrphan = [...packets.slice(0, 3), orphan, ...packets.slice(3)];
    const f = fragmentIpv4(withOrphan[MSG + 1], [8, 24]);
    const capture = withOrphan.slice();
    capture.splice(MSG + 1, 1, ...f);
    // Orphan 28 + first fragment 28 + second 24 = 80 bytes > 70: the orphan goes.
    const result = await analysePackets(capture, { decode: { maxFragmentBytes: 70 } });
    const s = onlySession(result);
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(warnings(result), [['fragment-dropped', 4]]);
    assert.match(
      result.inputs[0].warnings[0].detail,
      /byte cap, at packet 15\): 28 bytes held in 1 fragment/,
    );
    const { counts, span } = cleanCounts();
    assertCounts(s, counts, span);
  });

  it('datagram cap: the oldest incomplete datagram is dropped with a warning', async () => {
    const packets = dialogue();
    const orphan = fragmentIpv4(rewrite(packets[P.ehlo - 1], { id: 0x7777 }), [8])[0];
    const capture = [...packets.slice(0, 3), orphan, ...packets.slice(3)];
    capture.splice(MSG + 1, 1, ...fragmentIpv4(capture[MSG + 1], [8, 24]));
    const result = await analysePackets(capture, { decode: { maxFragmentDatagrams: 1 } });
    const s = onlySession(result);
    assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
    assert.deepEqual(warnings(result), [['fragment-dropped', 4]]);
    assert.match(result.inputs[0].warnings[0].detail, /datagram cap, at packet 14\)/);
  });
});

describe('IPv6 fragments', () => {
  const v6 = (): Buffer[] => tcpDialogue({ client: CLIENT6, server: SERVER6, steps: smtpSteps() });

  for (const [name, order] of ORDERS) {
    it(`rebuilds a segment from Fragment headers, 8-byte first fragment: ${name}`, async () => {
      const packets = v6();
      const fragments = fragmentIpv6(packets[MSG], [8, 24]);
      const result = await analysePackets(withFragments(packets, fragments, order));
      const s = onlySession(result);
      assert.equal(s.client.ip, CLIENT6.ip);
      assert.deepEqual(s.transactions.map(txView), [deliveredView()]);
      assert.deepEqual(anomalies(s), []);
      assert.deepEqual(warnings(result), []);
      const { counts, span } = cleanCounts();
      assertCounts(s, counts, span);
    });
  }

  it('keeps the first copy of overlapping IPv6 fragments and warns', async () => {
    const packets = v6();
    const original = packets[MSG];
    const id = 0x1234;
    const f = [
      ipv6Fragment(original, 0, 8, true, id),
      ipv6Fragment(original, 8, 32, true, id),
      ipv6Fragment(original, 16, 48, true, id, Buffer.alloc(16, 0x58)),
      ipv6Fragment(original, 32, SEGMENT, false, id),
    ];
    const result = await analysePackets(withFragments(packets, f, [3, 2, 1, 0]));
    const s = onlySession(result);
    // Arrival: last, the conflicting one (its 32-48 part is original bytes), then 8-32, then 0-8.
    const kept = `XXXXXXXXXXXX${MESSAGE.slice(12)}`;
    assert.deepEqual(s.transactions.map(txView), [deliveredView(kept)]);
    assert.deepEqual(warnings(result), [
      ['fragment-overlap', MSG + 2],
      ['fragment-overlap', MSG + 3],
    ]);
  });

  it('drops an incomplete IPv6 datagram at the end of the capture with a warning', async () => {
    const packets = v6();
    const fragments = fragmentIpv6(packets[MSG], [8, 24]);
    // The middle fragment never arrives; the server's ACK of its reply declares the gap.
    const result = await analysePackets(withFragments(packets, fragments, [0, 2]));
    const s = onlySession(result);
    assert.deepEqual(warnings(result), [['fragment-dropped', MSG + 1]]);
    assert.match(result.inputs[0].warnings[0].detail, /end of capture.*92 bytes held in 2 fragments/);
    const missing = SEGMENT - 20;
    assert.equal(s.gaps.client, missing);
    assert.deepEqual(anomalies(s)[0], ['gap-in-data', P.queued + 1]);
    const { span } = cleanCounts();
    assertCounts(s, { bytes: [span[0] - missing, span[1]], duplicates: [0, 0], gaps: [missing, 0] }, span);
  });
});
