/** The process's peak resident set size in KiB (see rss-probe.mjs). */
export function peakKiB(): number;
