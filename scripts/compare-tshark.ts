/**
 * Dev script (not in CI, issue #3): for every capture in ../shared/corpus/ (real/, perf/,
 * public/files/), compares each TCP direction's bytes as our reassembler delivers them with
 * tshark's `follow,tcp,raw` (out-of-order reassembly on) and reports every difference.
 *
 *   npx tsx scripts/compare-tshark.ts [capture...]      (default: the whole corpus)
 *
 * Our side runs src/capture -> src/decode -> src/tcp only, every TCP connection (no port
 * filter, no SMTP), recording data and gaps per direction. Gaps are left out of our bytes
 * (tshark's raw output has no marker for them) and listed with each difference.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readCapture } from '../src/capture/read-capture.js';
import { PacketDecoder } from '../src/decode/packet-decoder.js';
import { newTcpSegment } from '../src/decode/tcp-segment.js';
import { TcpReassembler } from '../src/tcp/reassembler.js';
import {
  type CloseReason,
  type ConnectionInfo,
  Direction,
  type Endpoint,
  type StreamFactory,
  type StreamHandler,
} from '../src/tcp/stream.js';

const CORPUS = join(import.meta.dirname, '../../shared/corpus');
const DIRS = ['real', 'perf', 'public/files'];
/** Streams followed per tshark run (each run reads the whole file). */
const BATCH = 200;

function endpointText(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

interface Side {
  chunks: Buffer[];
  gaps: { offset: number; length: number }[];
  delivered: number;
}

interface Ours {
  info: ConnectionInfo;
  sides: [Side, Side];
  anomalies: string[];
  reason: CloseReason | null;
}

class Recorder implements StreamFactory {
  /** By unordered endpoint pair, in the order the connections opened (4-tuple reuse). */
  readonly byPair = new Map<string, Ours[]>();

  open(info: ConnectionInfo): StreamHandler {
    const side = (): Side => ({ chunks: [], gaps: [], delivered: 0 });
    const conn: Ours = { info, sides: [side(), side()], anomalies: [], reason: null };
    const key = pairKey(endpointText(info.client), endpointText(info.server));
    const list = this.byPair.get(key) ?? [];
    list.push(conn);
    this.byPair.set(key, list);
    return {
      data: (dir, bytes) => {
        conn.sides[dir].chunks.push(Buffer.from(bytes));
        conn.sides[dir].delivered += bytes.length;
      },
      gap: (dir, length) => {
        conn.sides[dir].gaps.push({ offset: conn.sides[dir].delivered, length });
      },
      anomaly: (code, packet, detail) => {
        conn.anomalies.push(`${code} @${packet}: ${detail}`);
      },
      close: (reason) => {
        conn.reason = reason;
      },
    };
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

async function ours(path: string): Promise<Recorder> {
  const rec = new Recorder();
  const reassembler = new TcpReassembler(rec);
  const decoder = new PacketDecoder({ onWarning: () => {} });
  const seg = newTcpSegment();
  await readCapture(
    path,
    (packet) => {
      if (decoder.decode(packet, seg)) reassembler.push(seg);
    },
    { onProgress: () => reassembler.releaseBuffers() },
  );
  reassembler.finish();
  return rec;
}

interface Followed {
  stream: number;
  nodes: [string, string];
  /** [node0 -> node1, node1 -> node0]. */
  bytes: [Buffer, Buffer];
}

function tshark(args: string[]): string {
  return execFileSync('tshark', args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString(
    'latin1',
  );
}

function followAll(path: string): Followed[] {
  const ids = tshark(['-r', path, '-T', 'fields', '-e', 'tcp.stream'])
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
  const count = ids.length === 0 ? 0 : Math.max(...ids) + 1;
  const out: Followed[] = [];
  for (let first = 0; first < count; first += BATCH) {
    const args = ['-r', path, '-o', 'tcp.reassemble_out_of_order:TRUE', '-q'];
    for (let n = first; n < Math.min(count, first + BATCH); n++) args.push('-z', `follow,tcp,raw,${n}`);
    out.push(...parseFollow(tshark(args)));
  }
  return out.sort((a, b) => a.stream - b.stream);
}

function parseFollow(text: string): Followed[] {
  const out: Followed[] = [];
  for (const block of text.split(/^={10,}$/m)) {
    const stream = /^Filter: tcp\.stream eq (\d+)$/m.exec(block);
    const n0 = /^Node 0: (.*)$/m.exec(block);
    const n1 = /^Node 1: (.*)$/m.exec(block);
    if (!stream || !n0 || !n1) continue;
    const parts: [string[], string[]] = [[], []];
    for (const line of block.split('\n')) {
      if (/^\t[0-9a-f]+$/.test(line)) parts[1].push(line.slice(1));
      else if (/^[0-9a-f]+$/.test(line)) parts[0].push(line);
    }
    out.push({
      stream: Number(stream[1]),
      nodes: [n0[1], n1[1]],
      bytes: [Buffer.from(parts[0].join(''), 'hex'), Buffer.from(parts[1].join(''), 'hex')],
    });
  }
  return out;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function preview(b: Buffer, at: number): string {
  return JSON.stringify(b.subarray(Math.max(0, at - 8), at + 24).toString('latin1'));
}

async function compare(
  path: string,
): Promise<{ streams: number; same: number; bytes: number; gapBytes: number; diffs: string[] }> {
  const rec = await ours(path);
  const used = new Map<string, number>();
  const diffs: string[] = [];
  let streams = 0;
  let same = 0;
  let bytes = 0;
  let gapBytes = 0;
  for (const f of followAll(path)) {
    if (f.nodes[0] === ':0') continue;
    streams++;
    const key = pairKey(f.nodes[0], f.nodes[1]);
    const k = used.get(key) ?? 0;
    used.set(key, k + 1);
    const conn = rec.byPair.get(key)?.[k];
    if (conn === undefined) {
      if (f.bytes[0].length + f.bytes[1].length > 0) {
        diffs.push(
          `stream ${f.stream} ${f.nodes.join(' <-> ')}: no connection of ours (tshark: ${f.bytes[0].length}/${f.bytes[1].length} bytes)`,
        );
      } else same++;
      continue;
    }
    let ok = true;
    for (const i of [0, 1]) {
      const from = f.nodes[i];
      const dir =
        from === endpointText(conn.info.client) ? Direction.ClientToServer : Direction.ServerToClient;
      const side = conn.sides[dir];
      const mine = Buffer.concat(side.chunks);
      const theirs = f.bytes[i];
      bytes += theirs.length;
      for (const g of side.gaps) gapBytes += g.length;
      const at = firstDifference(mine, theirs);
      if (at < 0) continue;
      ok = false;
      diffs.push(
        [
          `stream ${f.stream} ${from} -> ${f.nodes[1 - i]}: ours ${mine.length} bytes, tshark ${theirs.length}; first difference at ${at}`,
          `    ours:   ${preview(mine, at)}`,
          `    tshark: ${preview(theirs, at)}`,
          `    our gaps: ${JSON.stringify(side.gaps)}; close: ${conn.reason}; anomalies: ${JSON.stringify(conn.anomalies.slice(0, 3))}`,
        ].join('\n'),
      );
    }
    if (ok) same++;
  }
  return { streams, same, bytes, gapBytes, diffs };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const files =
    args.length > 0
      ? args
      : DIRS.flatMap((d) => {
          const dir = join(CORPUS, d);
          if (!existsSync(dir)) return [];
          return readdirSync(dir)
            .filter((f) => /\.(pcap|pcapng|cap)$/.test(f))
            .sort()
            .map((f) => join(dir, f));
        });
  let total = 0;
  let identical = 0;
  let differing = 0;
  let allBytes = 0;
  let allGaps = 0;
  for (const file of files) {
    const { streams, same, bytes, gapBytes, diffs } = await compare(file);
    total += streams;
    identical += same;
    allBytes += bytes;
    allGaps += gapBytes;
    const name = relative(CORPUS, file);
    const gaps = gapBytes > 0 ? `, ${gapBytes} gap bytes on our side` : '';
    if (diffs.length === 0)
      console.log(`ok    ${name}: ${streams} stream(s), ${bytes} bytes identical${gaps}`);
    else {
      differing++;
      console.log(`DIFF  ${name}: ${same}/${streams} stream(s) identical`);
      for (const d of diffs) console.log(`  ${d}`);
    }
  }
  console.log(
    `\n${files.length} captures, ${total} streams, ${allBytes} bytes: ${identical} streams identical, ${differing} capture(s) with differences; ${allGaps} gap bytes on our side`,
  );
}

await main();
