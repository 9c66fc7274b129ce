import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureInputError } from './errors.js';
import { createReader } from './read-capture.js';

/** Bytes read from each file of a directory to tell a capture by its magic. */
const MAGIC_LENGTH = 4;

/**
 * The inputs as the reader takes them: a directory becomes the captures directly inside it (not
 * its subdirectories), in natural name order (`cap`, `cap1`, `cap2`, ..., `cap10`, as `tcpdump -C`
 * and `-W` name their files), keeping only regular files that start with a pcap or pcapng magic;
 * everything else (files, `-` for stdin) is passed on unchanged for the reader to open or report.
 * Throws CaptureInputError for a directory without captures or one that cannot be listed.
 */
export function expandInputs(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    if (path === '-' || !isDirectory(path)) {
      out.push(path);
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (err) {
      throw new CaptureInputError(path, `cannot list the directory (${errorCode(err)})`, { cause: err });
    }
    const captures = names
      .sort(naturalCompare)
      .map((name) => join(path, name))
      .filter(looksLikeCapture);
    if (captures.length === 0) {
      const what = names.length === 0 ? 'an empty directory' : `a directory of ${names.length} entries`;
      throw new CaptureInputError(path, `${what} without captures (no pcap or pcapng file in it)`);
    }
    out.push(...captures);
  }
  return out;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // missing or unreadable: the reader says so, naming the file
  }
}

/** A regular file (a symlink to one counts) whose first bytes are a pcap or pcapng magic. */
function looksLikeCapture(path: string): boolean {
  let fd = -1;
  try {
    if (!statSync(path).isFile()) return false;
    fd = openSync(path, 'r');
    const head = Buffer.alloc(MAGIC_LENGTH);
    if (readSync(fd, head, 0, MAGIC_LENGTH, 0) < MAGIC_LENGTH) return false;
    return typeof createReader(head) !== 'string';
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err);
}

/** Compares names with runs of digits as numbers: `a2` < `a10`; ties broken by plain order. */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
