/** Property tests of the SMTP state machine: random command/reply streams, binary junk, gaps. */
import { describe, it } from 'node:test';
import { CI_SEED } from './kit.js';
import { assertTarget, smtpSession } from './targets.js';

describe('SMTP session under random streams', () => {
  it('no exception, one record, caps hold, every rendering escaped', async () => {
    await assertTarget(smtpSession, 200, CI_SEED);
  });
});
