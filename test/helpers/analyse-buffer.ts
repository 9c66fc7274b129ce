import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AnalyseOptions, type AnalysisResult, analyseCaptures } from '../../src/analyse.js';

/** Runs the whole pipeline on a capture built in memory (written to a temporary file first). */
export async function analyseBuffer<M = never>(
  capture: Buffer,
  options: AnalyseOptions<M> = {},
  name = 'test.pcap',
): Promise<AnalysisResult<M>> {
  const dir = mkdtempSync(join(tmpdir(), 'smtpcap-'));
  try {
    const path = join(dir, name);
    writeFileSync(path, capture);
    return await analyseCaptures<M>([path], options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
