/**
 * The same traffic in every container and link type gives the same transactions: the real
 * format variants of scenarios 01, 04 and 13, and writer-built variants of the demo dialogue
 * (big-endian files, multi-interface pcapng, raw IP, BSD loopback, SLL2).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyseCaptures } from '../../src/analyse.js';
import type { SessionRecord } from '../../src/smtp/records.js';
import { analyseBuffer } from '../helpers/analyse-buffer.js';
import { type Frame, writePcap, writePcapng } from '../helpers/capture-writer.js';
import { EXIM_CLIENT, EXIM_SERVER, EXIM_TELNET_STEPS } from '../helpers/exim-telnet.js';
import { ethernet, nullLoopback, sll2, tcpDialogue } from '../helpers/frames.js';

const REAL = join(import.meta.dirname, '../../fixtures/real');

/** What must not depend on the container: everything but timestamps' precision. */
function essence(sessions: SessionRecord<unknown>[]) {
  return sessions.map((s) => ({
    client: s.client,
    server: s.server,
    commands: s.commands.map((c) => [c.verb, c.arg, c.reply?.code ?? null]),
    transactions: s.transactions.map((t) => ({
      mailFrom: t.mailFrom,
      rcptTo: t.rcptTo.map((r) => [r.address, r.params, r.reply?.code, r.accepted]),
      data: t.data && { ...t.data, reply: t.data.reply?.code },
      status: t.status,
    })),
    bytes: s.bytes,
  }));
}

const VARIANTS: Record<string, string[]> = {
  '01-plain-ehlo.pcap': [
    '01-plain-ehlo.nano.pcap',
    '01-plain-ehlo.editcap.nsec.pcap',
    '01-plain-ehlo.dumpcap.pcapng',
    '01-plain-ehlo.editcap.pcapng',
    '01-plain-ehlo.any-sll.pcap',
    '01-plain-ehlo.any-sll2.pcap',
  ],
  '04-multi-message-session.pcap': [
    '04-multi-message-session.editcap.pcapng',
    '04-multi-message-session.editcap.nsec.pcap',
  ],
  '13-bdat-chunking.pcap': ['13-bdat-chunking.editcap.pcapng', '13-bdat-chunking.editcap.nsec.pcap'],
};

describe('format variants of real captures', () => {
  for (const [plain, variants] of Object.entries(VARIANTS)) {
    for (const variant of variants) {
      it(`${variant} equals ${plain}`, async () => {
        const base = await analyseCaptures([join(REAL, plain)]);
        const other = await analyseCaptures([join(REAL, variant)]);
        assert.ok(base.sessions[0].transactions.length > 0);
        assert.deepEqual(essence(other.sessions), essence(base.sessions));
      });
    }
  }

  it('nanosecond captures keep nanoseconds in every timestamp', async () => {
    const { sessions } = await analyseCaptures([join(REAL, '01-plain-ehlo.nano.pcap')]);
    assert.match(sessions[0].start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.match(sessions[0].transactions[0].start, /\.\d{9}Z$/);
  });
});

describe('writer-built containers and link types', () => {
  const packets = tcpDialogue({ client: EXIM_CLIENT, server: EXIM_SERVER, steps: EXIM_TELNET_STEPS });
  const frames = (wrap: (ip: Buffer) => Buffer): Frame[] =>
    packets.map((ip, i) => ({ data: wrap(ip), tsSec: 1_673_342_043 + i, tsNsec: 123_456_789 }));
  const builds: Record<string, () => Buffer> = {
    'pcap, big-endian, nanoseconds': () =>
      writePcap(frames(ethernet), { linkType: 1, bigEndian: true, nanosecond: true }),
    'pcapng, big-endian': () =>
      writePcapng(frames(ethernet), { interfaces: [{ linkType: 1 }], bigEndian: true }),
    'pcapng, simple packet blocks': () =>
      writePcapng(frames(ethernet), { interfaces: [{ linkType: 1 }], blockKind: 'spb' }),
    'pcapng, obsolete packet blocks, no end-of-options': () =>
      writePcapng(frames(ethernet), { interfaces: [{ linkType: 1 }], blockKind: 'pb', endOfOptions: false }),
    'pcapng, two interfaces (raw IP and Ethernet), 2^-20 resolution': () =>
      writePcapng(
        packets.map((ip, i) => ({
          data: i % 2 ? ip : ethernet(ip),
          interfaceId: i % 2,
          tsSec: 1_673_342_043 + i,
          tsNsec: 0,
        })),
        { interfaces: [{ linkType: 1, tsresol: 0x94 }, { linkType: 101 }], unknownBlocks: true },
      ),
    'raw IPv4 (228)': () =>
      writePcap(
        frames((ip) => ip),
        { linkType: 228 },
      ),
    'BSD loopback (0), big-endian family': () =>
      writePcap(
        frames((ip) => nullLoopback(ip, 4, { bigEndian: true })),
        { linkType: 0 },
      ),
    'Linux SLL2 (276)': () =>
      writePcap(
        frames((ip) => sll2(ip)),
        { linkType: 276 },
      ),
    'Ethernet with QinQ tags': () =>
      writePcap(
        frames((ip) => ethernet(ip, { vlans: [100, 200] })),
        { linkType: 1 },
      ),
  };
  let reference: ReturnType<typeof essence> | null = null;
  for (const [name, build] of Object.entries(builds)) {
    it(name, async () => {
      const { sessions } = await analyseBuffer(build());
      assert.equal(sessions.length, 1);
      assert.equal(sessions[0].transactions[0]?.status, 'delivered');
      reference ??= essence(sessions);
      assert.deepEqual(essence(sessions), reference);
    });
  }
});
