import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeBytes, escapeForTerminal } from '../../src/report/escape.js';

const UNSAFE = /[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]/u;

describe('escapeForTerminal', () => {
  it('keeps plain text, including non-ASCII letters and emoji', () => {
    assert.equal(
      escapeForTerminal('MAIL FROM:<a@b.test> Grüße 日本 👍🏽'),
      'MAIL FROM:<a@b.test> Grüße 日本 👍🏽',
    );
  });

  it('escapes C0 controls, DEL and ESC visibly', () => {
    assert.equal(escapeForTerminal('\x1b[2J'), '\\e[2J');
    assert.equal(escapeForTerminal('a\x07b\x08c\x00d\x7f'), 'a\\x07b\\x08c\\x00d\\x7f');
    assert.equal(escapeForTerminal('\r\n\t'), '\\r\\n\\t');
  });

  it('escapes OSC sequences (hyperlink, title) so nothing reaches the terminal raw', () => {
    const osc8 = '\x1b]8;;https://evil.test\x1b\\click\x1b]8;;\x1b\\';
    assert.equal(escapeForTerminal(osc8), '\\e]8;;https://evil.test\\e\\\\click\\e]8;;\\e\\\\');
    assert.equal(escapeForTerminal('\x1b]0;pwned\x07'), '\\e]0;pwned\\x07');
  });

  it('escapes C1 controls including CSI U+009B', () => {
    assert.equal(escapeForTerminal('\u009b2J\u0085'), '\\u009b2J\\u0085');
  });

  it('escapes bidi overrides, isolates, marks and other invisible format characters', () => {
    assert.equal(escapeForTerminal('a\u202eb'), 'a\\u202eb');
    assert.equal(escapeForTerminal('\u2066\u2069\u200e\u200f\u061c'), '\\u2066\\u2069\\u200e\\u200f\\u061c');
    assert.equal(escapeForTerminal('\u200b\ufeff\u2028\u00ad'), '\\u200b\\ufeff\\u2028\\u00ad');
    assert.equal(escapeForTerminal('\u{e0041}'), '\\u{e0041}');
  });

  it('keeps ZWJ so emoji sequences still render', () => {
    assert.equal(escapeForTerminal('👩\u200d💻'), '👩\u200d💻');
  });

  it('doubles backslashes so escapes we print are unambiguous', () => {
    assert.equal(escapeForTerminal('\\e'), '\\\\e');
  });

  it('escapes lone surrogates', () => {
    assert.equal(escapeForTerminal('x\ud800y'), 'x\\ud800y');
  });

  it('leaves nothing unsafe in any BMP character', () => {
    let all = '';
    for (let cp = 0; cp <= 0xffff; cp++) all += String.fromCharCode(cp);
    assert.doesNotMatch(escapeForTerminal(all), UNSAFE);
  });
});

describe('escapeBytes', () => {
  it('decodes valid UTF-8', () => {
    assert.equal(escapeBytes(Buffer.from('Grüße 👍', 'utf8')), 'Grüße 👍');
  });

  it('shows invalid bytes as \\xNN and continues', () => {
    assert.equal(escapeBytes(Buffer.from([0x61, 0xff, 0x62, 0xc3])), 'a\\xffb\\xc3');
    // Overlong encoding of '/' and an encoded surrogate are not UTF-8.
    assert.equal(escapeBytes(Buffer.from([0xc0, 0xaf])), '\\xc0\\xaf');
    assert.equal(escapeBytes(Buffer.from([0xed, 0xa0, 0x80])), '\\xed\\xa0\\x80');
  });

  it('shows a raw C1 CSI byte as \\x9b and an encoded one as \\u009b', () => {
    assert.equal(escapeBytes(Buffer.from([0x9b, 0x32, 0x4a])), '\\x9b2J');
    assert.equal(escapeBytes(Buffer.from([0xc2, 0x9b])), '\\u009b');
  });

  it('escapes control characters inside valid text', () => {
    assert.equal(escapeBytes(Buffer.from('\x1b[31mred\x1b[0m\r\n')), '\\e[31mred\\e[0m\\r\\n');
  });

  it('leaves nothing unsafe in any single byte or byte pair', () => {
    const bytes: number[] = [];
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) bytes.push(a, b);
    assert.doesNotMatch(escapeBytes(Buffer.from(bytes)), UNSAFE);
  });
});
