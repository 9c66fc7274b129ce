/** Property tests of TCP reassembly with random segment sets. */
import { describe, it } from 'node:test';
import { CI_SEED } from './kit.js';
import { assertTarget, reassemblerRandom, reassemblerSpan } from './targets.js';

describe('reassembler under random segments', () => {
  it('random segments over a few endpoints, tiny caps: no exception, the seam rules hold', async () => {
    await assertTarget(reassemblerRandom, 400, CI_SEED);
  });

  it('pieces of a known stream lost, duplicated and reordered: delivered + gaps = span, bytes exact', async () => {
    await assertTarget(reassemblerSpan, 400, CI_SEED);
  });
});
