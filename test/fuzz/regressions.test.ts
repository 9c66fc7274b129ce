/** Replays every failing input the fuzz campaign saved in test/fuzz/regressions/ (see its README). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deserialise, REGRESSIONS } from './kit.js';
import { targetByName } from './targets.js';

interface Saved {
  target: string;
  input: unknown;
}

const files = readdirSync(REGRESSIONS)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('fuzz regressions', () => {
  it('the folder holds only regression files and their README', () => {
    for (const f of readdirSync(REGRESSIONS)) assert.ok(f.endsWith('.json') || f === 'README.md', f);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      const saved = deserialise(readFileSync(join(REGRESSIONS, file), 'utf8')) as Saved;
      const target = targetByName(saved.target);
      assert.ok(target, `unknown target ${saved.target}`);
      await target.replay(saved.input);
    });
  }
});
