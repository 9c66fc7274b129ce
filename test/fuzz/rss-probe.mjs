/**
 * Preloaded into a child process (`node --import ./test/fuzz/rss-probe.mjs ...`, with or without
 * tsx; plain JavaScript so the compiled CLI can load it too): at exit it writes the process's peak
 * resident set size in KiB to the file named by SMTPCAP_RSS_FILE, so tests measure memory without
 * touching the child's stdout or stderr.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.SMTPCAP_RSS_FILE;
if (target) {
  process.on('exit', () => {
    writeFileSync(target, String(process.resourceUsage().maxRSS));
  });
}
