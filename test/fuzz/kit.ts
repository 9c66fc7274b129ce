/**
 * Shared pieces of the fuzz suite (test/fuzz/*.test.ts) and the long campaign (scripts/fuzz.ts):
 * the seed captures, byte mutations, and the (de)serialisation of failing inputs as regression
 * fixtures in test/fuzz/regressions/.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

export const ROOT = join(import.meta.dirname, '../..');
export const REAL_FIXTURES = join(ROOT, 'fixtures/real');
export const REGRESSIONS = join(ROOT, 'test/fuzz/regressions');

/** Real captures small enough to mutate thousands of times a second (the 5 MB one is left out). */
export const SEED_LIMIT_BYTES = 100_000;

export interface Seed {
  name: string;
  bytes: Buffer;
}

let seedCache: Seed[] | null = null;

/** Every real capture in fixtures/real below SEED_LIMIT_BYTES, plus the demo capture, by name. */
export function seeds(): Seed[] {
  if (seedCache) return seedCache;
  const out: Seed[] = [];
  for (const name of readdirSync(REAL_FIXTURES).sort()) {
    const path = join(REAL_FIXTURES, name);
    if (statSync(path).size <= SEED_LIMIT_BYTES) out.push({ name, bytes: readFileSync(path) });
  }
  out.push({ name: 'exim-telnet.pcap', bytes: readFileSync(join(ROOT, 'fixtures/exim-telnet.pcap')) });
  seedCache = out;
  return out;
}

/** The messages of fixtures/truth (each scenario's sent.eml), as MIME seeds. */
export function messageSeeds(): Buffer[] {
  const dir = join(ROOT, 'fixtures/truth');
  const out: Buffer[] = [];
  for (const name of readdirSync(dir).sort()) {
    try {
      out.push(readFileSync(join(dir, name, 'sent.eml')));
    } catch {
      // a scenario without a message
    }
  }
  return out;
}

// ---- mutations --------------------------------------------------------------------------------

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'u32'; at: number; value: number; bigEndian: boolean }
  | { op: 'truncate'; at: number };

/** Lengths and counts that sit on the edges readers check. */
export const INTERESTING_U32 = [
  0,
  1,
  3,
  4,
  7,
  8,
  11,
  12,
  16,
  20,
  24,
  28,
  31,
  32,
  0x7f,
  0x80,
  0xff,
  0x100,
  0xffff,
  0x10000,
  262_144,
  262_145,
  16 * 1024 * 1024,
  16 * 1024 * 1024 + 1,
  0x7fffffff,
  0x80000000,
  0xfffffffc,
  0xffffffff,
  0x0a0d0d0a,
  0x1a2b3c4d,
  0x4d3c2b1a,
  0xa1b2c3d4,
  0xd4c3b2a1,
];

/** Positions are taken modulo the buffer length when applied, so any nat fits any input. */
export function mutationArb(): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: 1 << 20 });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at, bit: fc.nat({ max: 7 }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at, value: fc.nat({ max: 255 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('insert' as const),
        at,
        bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('delete' as const),
        at,
        length: fc.integer({ min: 1, max: 64 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('u32' as const),
        at,
        value: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.nat({ max: 0xffffffff })),
        bigEndian: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at }) },
  );
}

export function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let buf = Buffer.from(input);
  for (const m of mutations) {
    const n = buf.length;
    if (n === 0 && m.op !== 'insert') continue;
    const at = n === 0 ? 0 : m.at % n;
    switch (m.op) {
      case 'flip':
        buf[at] ^= 1 << m.bit;
        break;
      case 'set':
        buf[at] = m.value;
        break;
      case 'insert':
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from(m.bytes), buf.subarray(at)]);
        break;
      case 'delete':
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(n, at + m.length))]);
        break;
      case 'u32': {
        if (n < 4) break;
        const p = Math.min(at, n - 4);
        if (m.bigEndian) buf.writeUInt32BE(m.value >>> 0, p);
        else buf.writeUInt32LE(m.value >>> 0, p);
        break;
      }
      case 'truncate':
        buf = buf.subarray(0, at);
        break;
    }
  }
  return buf;
}

/** A seed capture with 1-8 mutations: what the readers and the pipeline are fed. */
export function mutatedSeedArb(maxMutations = 8): fc.Arbitrary<Buffer> {
  const all = seeds();
  return fc
    .tuple(
      fc.nat({ max: all.length - 1 }),
      fc.array(mutationArb(), { minLength: 1, maxLength: maxMutations }),
    )
    .map(([i, ms]) => mutate(all[i].bytes, ms));
}

// ---- serialisation of failing inputs -------------------------------------------------------------

/** JSON with Buffers / Uint8Arrays as {"$base64": "..."} so any structured input round-trips. */
export function serialise(value: unknown): string {
  return JSON.stringify(
    value,
    function replacer(this: Record<string, unknown>, key: string, v: unknown) {
      const raw = this[key];
      if (raw instanceof Uint8Array) return { $base64: Buffer.from(raw).toString('base64') };
      if (typeof v === 'bigint') return { $bigint: v.toString() };
      return v;
    },
    1,
  );
}

export function deserialise(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$base64 === 'string' && Object.keys(o).length === 1)
        return Buffer.from(o.$base64, 'base64');
      if (typeof o.$bigint === 'string' && Object.keys(o).length === 1) return BigInt(o.$bigint);
    }
    return v;
  });
}

export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** Rejects after `ms` so a hang shows up as a failure of the input that caused it. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fixed seed of the CI runs, so a failure is reproducible from the log. */
export const CI_SEED = 0x5eed_0007;
