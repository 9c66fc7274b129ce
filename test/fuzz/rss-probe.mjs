/**
 * Preloaded into a child process (`node --import ./test/fuzz/rss-probe.mjs ...`, with or without
 * tsx; plain JavaScript so the compiled CLI can load it too): at exit it writes the process's peak
 * resident set size in KiB to the file named by SMTPCAP_RSS_FILE, so tests measure memory without
 * touching the child's stdout or stderr.
 *
 * Linux's VmHWM first: getrusage's maxRSS keeps the peak of the process it was forked from across
 * exec, so a child of a big parent would report at least the parent's size.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export function peakKiB() {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

const target = process.env.SMTPCAP_RSS_FILE;
if (target) {
  process.on('exit', () => {
    writeFileSync(target, String(peakKiB()));
  });
}
