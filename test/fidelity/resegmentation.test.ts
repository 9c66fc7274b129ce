/**
 * Property (issue #3): for every real capture in fixtures/real/, cutting each stream's segments at
 * random points, reordering the pieces within a window and duplicating random pieces leaves every
 * transaction, message sha256 and reply code unchanged. The capture is rebuilt from its decoded
 * TCP segments (src/decode), keeping sequence and acknowledgement numbers, then mutated.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { analyseCaptures } from '../../src/analyse.js';
import { readCapture } from '../../src/capture/read-capture.js';
import { formatAddress } from '../../src/decode/address.js';
import { PacketDecoder } from '../../src/decode/packet-decoder.js';
import { newTcpSegment, TcpFlag } from '../../src/decode/tcp-segment.js';
import type { SessionRecord } from '../../src/smtp/records.js';
import { analyseBuffer } from '../helpers/analyse-buffer.js';
import { ipTcp, type ParsedTcp } from '../helpers/frames.js';
import { captureOf } from '../helpers/scripted-capture.js';

const REAL = join(import.meta.dirname, '../../fixtures/real');
/** The 5 MB capture would take most of the time budget on its own. */
const MAX_FIXTURE_BYTES = 1024 * 1024;
const RUNS = 12;

interface Seg
  extends Pick<
    ParsedTcp,
    'src' | 'dst' | 'sport' | 'dport' | 'seq' | 'ack' | 'flags' | 'window' | 'payload'
  > {
  /** Connection and direction: pieces are only reordered among neighbours of the same one. */
  flow: string;
}

async function segmentsOf(path: string): Promise<Seg[]> {
  const out: Seg[] = [];
  const decoder = new PacketDecoder({ onWarning: () => {} });
  const seg = newTcpSegment();
  await readCapture(path, (packet) => {
    if (!decoder.decode(packet, seg)) return;
    const src = formatAddress(seg.ipBuffer, seg.srcAddrOffset, seg.family);
    const dst = formatAddress(seg.ipBuffer, seg.dstAddrOffset, seg.family);
    out.push({
      src,
      dst,
      sport: seg.srcPort,
      dport: seg.dstPort,
      seq: seg.seq,
      ack: seg.ack,
      flags: seg.flags,
      window: seg.window,
      payload: Buffer.from(seg.payload),
      flow: `${src}:${seg.srcPort}>${dst}:${seg.dstPort}`,
    });
  });
  return out;
}

/** mulberry32: a small seeded generator, so a failing seed replays exactly. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Mutation {
  seed: number;
  /** Chance that a data segment is cut, and the most cuts in it. */
  cutChance: number;
  maxCuts: number;
  /** Pieces move up to this many places within a run of one flow. */
  window: number;
  dupChance: number;
}

/**
 * Cuts, reorders and duplicates data segments. Pieces only move among consecutive packets of the
 * same flow: moving one past a packet of the peer whose ACK covers it would make it a lost
 * segment, which is a different property.
 */
function mutate(segs: Seg[], m: Mutation): Seg[] {
  const rnd = random(m.seed);
  const pieces: Seg[] = [];
  for (const s of segs) {
    const len = s.payload.length;
    if (len < 2 || (s.flags & TcpFlag.SYN) !== 0 || rnd() >= m.cutChance) {
      pieces.push(s);
      continue;
    }
    const cuts = new Set<number>();
    const n = 1 + Math.floor(rnd() * m.maxCuts);
    for (let i = 0; i < n; i++) cuts.add(1 + Math.floor(rnd() * (len - 1)));
    const bounds = [0, ...[...cuts].sort((a, b) => a - b), len];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const last = i + 2 === bounds.length;
      pieces.push({
        ...s,
        seq: (s.seq + bounds[i]) >>> 0,
        // FIN and PSH stay on the last piece.
        flags: last ? s.flags : s.flags & ~(TcpFlag.FIN | TcpFlag.PSH),
        payload: s.payload.subarray(bounds[i], bounds[i + 1]),
      });
    }
  }
  const out: Seg[] = [];
  let i = 0;
  while (i < pieces.length) {
    let j = i;
    while (j < pieces.length && pieces[j].flow === pieces[i].flow) j++;
    const run = pieces.slice(i, j).map((p, k) => ({ p, key: k + rnd() * m.window }));
    run.sort((a, b) => a.key - b.key);
    for (const { p } of run) {
      out.push(p);
      if (p.payload.length > 0 && rnd() < m.dupChance) out.push(p);
    }
    i = j;
  }
  return out;
}

function captureFrom(segs: Seg[]): Buffer {
  return captureOf(
    segs.map((s) =>
      ipTcp({
        src: s.src,
        dst: s.dst,
        sport: s.sport,
        dport: s.dport,
        seq: s.seq,
        ack: s.ack,
        flags: s.flags,
        window: s.window,
        payload: s.payload,
      }),
    ),
    { stepNsec: 1000 },
  );
}

/** What must not change: transactions, message hashes, reply codes. */
function view(sessions: SessionRecord<unknown>[]) {
  return sessions.map((s) => ({
    client: s.client,
    greeting: s.greeting?.code ?? null,
    commands: s.commands.map((c) => [c.verb, c.arg, c.reply?.code ?? null]),
    transactions: s.transactions.map((t) => ({
      mailFrom: t.mailFrom?.address ?? null,
      rcptTo: t.rcptTo.map((r) => [r.address, r.reply?.code ?? null]),
      data: t.data && [t.data.method, t.data.size, t.data.sha256, t.data.reply?.code ?? null, t.data.gaps],
      status: t.status,
    })),
    bytes: s.bytes,
    gaps: s.gaps,
  }));
}

const fixtures = readdirSync(REAL)
  .filter((f) => statSync(join(REAL, f)).size <= MAX_FIXTURE_BYTES)
  .sort();

describe('re-segmenting, reordering and duplicating real captures changes nothing', () => {
  for (const name of fixtures) {
    it(name, async () => {
      const path = join(REAL, name);
      const expected = view((await analyseCaptures([path])).sessions);
      const segs = await segmentsOf(path);
      // The rebuild itself is faithful.
      assert.deepEqual(view((await analyseBuffer(captureFrom(segs))).sessions), expected, 'rebuilt as is');
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            seed: fc.integer(),
            cutChance: fc.double({ min: 0, max: 0.8, noNaN: true }),
            maxCuts: fc.integer({ min: 1, max: 6 }),
            window: fc.integer({ min: 1, max: 5 }),
            dupChance: fc.double({ min: 0, max: 0.3, noNaN: true }),
          }),
          async (m) => {
            const sessions = (await analyseBuffer(captureFrom(mutate(segs, m)))).sessions;
            assert.deepEqual(view(sessions), expected);
          },
        ),
        { numRuns: RUNS },
      );
    });
  }
});
