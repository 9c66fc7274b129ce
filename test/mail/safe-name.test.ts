import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeFileName, subjectSlug, withSuffix } from '../../src/mail/safe-name.js';

describe('safeFileName', () => {
  const cases: [string | null, string][] = [
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['/abs/path', 'path'],
    ['C:\\x', 'x'],
    ['C:x.exe', 'x.exe'],
    ['dir\\..\\..\\win.ini', 'win.ini'],
    ['..', 'fallback'],
    ['', 'fallback'],
    [null, 'fallback'],
    ['CON', '_CON'],
    ['con.txt', '_con.txt'],
    ['Lpt9.tar.gz', '_Lpt9.tar.gz'],
    ['com¹', '_com¹'],
    ['console.txt', 'console.txt'],
    ['a\u0000b.txt', 'a_b.txt'],
    ['new\nline.txt', 'new_line.txt'],
    ['\u001b[31mred.txt', '_[31mred.txt'],
    ['invoice\u202efdp.exe', 'invoice_fdp.exe'],
    ['what?<>|*".txt', 'what______.txt'],
    [' .hidden. ', 'hidden'],
    ['Grüße.txt', 'Grüße.txt'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(safeFileName(input, 'fallback'), expected);
    });
  }

  it('caps an over-long name at 150 UTF-8 bytes, keeping the extension and whole characters', () => {
    const name = safeFileName(`${'é'.repeat(10_000)}.pdf`, 'f');
    assert.equal(name, `${'é'.repeat(73)}.pdf`);
    assert.equal(Buffer.byteLength(name), 150);
    assert.equal(safeFileName('a'.repeat(10_000), 'f'), 'a'.repeat(150));
  });

  it('numbers collisions before the extension, within the cap', () => {
    assert.equal(withSuffix('a.txt', 1), 'a.txt');
    assert.equal(withSuffix('a.txt', 2), 'a (2).txt');
    assert.equal(withSuffix('noext', 3), 'noext (3)');
    const long = withSuffix(`${'x'.repeat(146)}.txt`, 12);
    assert.equal(long, `${'x'.repeat(141)} (12).txt`);
    assert.equal(Buffer.byteLength(long), 150);
  });
});

describe('subjectSlug', () => {
  it('keeps letters and digits of any script, joined with dashes, at most 40 characters', () => {
    assert.equal(subjectSlug('Re: [URGENT] Invoice #4411 / Grüße 📧'), 'Re-URGENT-Invoice-4411-Grüße');
    assert.equal(subjectSlug(null), 'no-subject');
    assert.equal(subjectSlug('../..'), 'no-subject');
    assert.equal(subjectSlug('word '.repeat(20)), 'word-word-word-word-word-word-word-word');
    assert.equal(subjectSlug('x'.repeat(50)), 'x'.repeat(40));
  });
});
