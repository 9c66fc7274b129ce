/**
 * Reads a V8 .cpuprofile (from `node --cpu-prof`) and sums self time per function and per file.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based. */
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  name: string;
  /** Where: a path relative to the repo, `node_modules/<pkg>/...`, `node:...`, or '' for VM entries. */
  where: string;
  selfMs: number;
  /** Share of all sampled time, 0..1. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  functions: ProfileEntry[];
  /** Self time per group: a src/ file, an npm package, node internals, GC, idle. */
  groups: ProfileEntry[];
}

export function summariseProfile(path: string, repoRoot: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    // timeDeltas[i] is the time between sample i-1 and sample i: the time sample i-1 stood for.
    for (let i = 0; i < samples.length; i++) {
      const us = i + 1 < deltas.length ? deltas[i + 1] : 0;
      selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, us));
    }
  } else {
    const interval = (profile.endTime - profile.startTime) / Math.max(1, countHits(profile.nodes));
    for (const node of profile.nodes) selfUs.set(node.id, (node.hitCount ?? 0) * interval);
  }
  const fnTotals = new Map<string, ProfileEntry>();
  const groupTotals = new Map<string, ProfileEntry>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || us === 0) continue;
    totalUs += us;
    const frame = node.callFrame;
    const where = location(frame.url, repoRoot);
    const name = shorten(frame.functionName || (frame.url ? '(anonymous)' : ''));
    const fnKey = `${name}\u0000${where}\u0000${frame.lineNumber}`;
    const label = where ? `${where}:${frame.lineNumber + 1}` : '';
    add(fnTotals, fnKey, name, label, us);
    const group = groupOf(where, name);
    add(groupTotals, group, group, '', us);
  }
  const finish = (map: Map<string, ProfileEntry>): ProfileEntry[] =>
    [...map.values()]
      .map((e) => ({ ...e, selfMs: e.selfMs / 1000, share: totalUs > 0 ? e.selfMs / totalUs : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: totalUs / 1000, functions: finish(fnTotals), groups: finish(groupTotals) };
}

/** Regexp sources can be kilobytes long; a table cell needs the start. */
function shorten(name: string): string {
  const clean = name.replace(/\s+/g, ' ').replace(/\|/g, '\\|').replace(/`/g, "'");
  return clean.length > 60 ? `${clean.slice(0, 59)}…` : clean;
}

function countHits(nodes: ProfileNode[]): number {
  let n = 0;
  for (const node of nodes) n += node.hitCount ?? 0;
  return n;
}

function add(map: Map<string, ProfileEntry>, key: string, name: string, where: string, us: number): void {
  const entry = map.get(key);
  if (entry) entry.selfMs += us;
  else map.set(key, { name, where, selfMs: us, share: 0 });
}

function location(url: string, repoRoot: string): string {
  if (url === '') return '';
  let path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + 1);
  const root = repoRoot.endsWith('/') ? repoRoot : `${repoRoot}/`;
  if (path.startsWith(root)) path = path.slice(root.length);
  return path;
}

/** dist/foo/bar.js -> src/foo/bar.ts (the source file to look at); packages by name. */
function groupOf(where: string, name: string): string {
  if (where === '') return name || '(vm)';
  if (where.startsWith('node_modules/')) {
    const parts = where.split('/');
    const pkg = parts[1].startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1];
    return `npm:${pkg}`;
  }
  if (where.startsWith('node:')) return 'node internals';
  if (where.startsWith('dist/')) return `src/${where.slice('dist/'.length).replace(/\.js$/, '.ts')}`;
  return where;
}
