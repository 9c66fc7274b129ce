/** Property tests of the MIME layer: generated trees and mutated real messages. */
import { describe, it } from 'node:test';
import { CI_SEED } from './kit.js';
import { assertTarget, mime } from './targets.js';

describe('MIME layer under mutated messages', () => {
  it('no exception, end() resolves, parts capped', async () => {
    await assertTarget(mime, 80, CI_SEED);
  });
});
