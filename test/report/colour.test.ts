import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPalette, decideColour } from '../../src/report/colour.js';

const tty = { isTTY: true, hasColors: () => true };
const pipe = { isTTY: false };

describe('decideColour', () => {
  it('the flag wins over everything', () => {
    assert.equal(decideColour({ flag: true, env: { NO_COLOR: '1' }, stream: pipe }), true);
    assert.equal(decideColour({ flag: false, env: { FORCE_COLOR: '1' }, stream: tty }), false);
  });

  it('NO_COLOR non-empty turns colour off, even with FORCE_COLOR and a TTY', () => {
    assert.equal(decideColour({ env: { NO_COLOR: '1', FORCE_COLOR: '1' }, stream: tty }), false);
  });

  it('an empty NO_COLOR is ignored', () => {
    assert.equal(decideColour({ env: { NO_COLOR: '' }, stream: tty }), true);
    assert.equal(decideColour({ env: { NO_COLOR: '', FORCE_COLOR: '1' }, stream: pipe }), true);
  });

  it('FORCE_COLOR 0/false turns colour off, any other value on', () => {
    assert.equal(decideColour({ env: { FORCE_COLOR: '0' }, stream: tty }), false);
    assert.equal(decideColour({ env: { FORCE_COLOR: 'false' }, stream: tty }), false);
    assert.equal(decideColour({ env: { FORCE_COLOR: '1' }, stream: pipe }), true);
    assert.equal(decideColour({ env: { FORCE_COLOR: '3' }, stream: pipe }), true);
    assert.equal(decideColour({ env: { FORCE_COLOR: '' }, stream: pipe }), true);
  });

  it('otherwise asks the stream: a TTY with colours', () => {
    assert.equal(decideColour({ env: {}, stream: tty }), true);
    assert.equal(decideColour({ env: {}, stream: { isTTY: true, hasColors: () => false } }), false);
    assert.equal(decideColour({ env: {}, stream: { isTTY: true } }), false);
    assert.equal(decideColour({ env: {}, stream: pipe }), false);
    assert.equal(decideColour({ env: {}, stream: {} }), false);
  });
});

describe('createPalette', () => {
  it('emits nothing when off', () => {
    const p = createPalette(false);
    assert.equal(p.client('x') + p.server('y') + p.bold('z') + p.dim('w'), 'xyzw');
  });

  it('uses red for the client and blue for the server when on', () => {
    const p = createPalette(true);
    assert.equal(p.client('x'), '\x1b[31mx\x1b[39m');
    assert.equal(p.server('y'), '\x1b[34my\x1b[39m');
    assert.equal(p.client(''), '');
  });
});
