import type { CaptureWarning, InputSummary } from './raw-packet.js';

/**
 * Input warnings that mean the capture file itself is damaged: bytes of it could not be read as
 * records (a cut or corrupt record or block header, an option overrunning its block, a packet of
 * an undeclared interface, a file that changed while threads read it). What `--strict` turns
 * into exit 1. Decode warnings (a malformed packet inside a sound file) are not damage to the file.
 */
export const DAMAGE_WARNING_CODES: ReadonlySet<string> = new Set([
  'truncated-record',
  'corrupt-record-header',
  'corrupt-block',
  'corrupt-option',
  'unknown-interface',
  // Threads read different lengths of a file that changed under them (parallel.ts).
  'input-changed',
]);

export function isDamageWarning(w: CaptureWarning): boolean {
  return DAMAGE_WARNING_CODES.has(w.code);
}

/** The first damage warning of the inputs, in input order, or null when every file is sound. */
export function firstDamage(
  inputs: readonly InputSummary[],
): { file: string; warning: CaptureWarning } | null {
  for (const input of inputs) {
    const warning = input.warnings.find(isDamageWarning);
    if (warning) return { file: input.file, warning };
  }
  return null;
}
