import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BodyTextScanner, findIndicatorsInBodies, IndicatorCollector } from '../../src/mail/indicators.js';
import { CI_SEED } from '../fuzz/kit.js';

/** Feeds each body through a BodyTextScanner in pieces of `chunk` bytes (copied, then spoiled). */
function streamed(text: string, html: string, chunk: number) {
  const collector = new IndicatorCollector();
  for (const [body, isHtml] of [
    [text, false],
    [html, true],
  ] as const) {
    const scanner = new BodyTextScanner(collector, isHtml);
    const bytes = Buffer.from(body, 'latin1');
    for (let i = 0; i < bytes.length; i += chunk) {
      const piece = Buffer.from(bytes.subarray(i, i + chunk));
      scanner.write(piece);
      piece.fill(0x40);
    }
    scanner.end();
  }
  return collector.result();
}

describe('indicators', () => {
  it('lists URL domains before address domains, text before HTML, each once', () => {
    const text = 'mail bob@Mail.Example.org or see https://www.example.com/a.';
    const html = '<a href="http://x.test/?a=1&amp;b=2">x</a> bob@mail.example.org https://www.example.com/a';
    const expected = {
      urls: ['https://www.example.com/a', 'http://x.test/?a=1&b=2'],
      emails: ['bob@Mail.Example.org', 'bob@mail.example.org'],
      domains: ['www.example.com', 'mail.example.org', 'x.test'],
    };
    assert.deepEqual(findIndicatorsInBodies(text, html), expected);
    for (const chunk of [1, 2, 3, 7, 1000]) assert.deepEqual(streamed(text, html, chunk), expected);
  });

  it('finds the same in a body fed in any pieces as in the whole (UTF-8 read as latin1)', () => {
    const word = fc.constantFrom(
      'http://a.example.com/x?y=1&amp;z',
      'https://b.test/p.',
      'ftp://f.test',
      'user.name+tag@sub.example.org',
      'x@y',
      '://',
      '@',
      'Grüße',
      '日本',
      '&lt;c@d.example&gt;',
      '"q"',
      '[e@f.example]',
      'word',
    );
    const sep = fc.constantFrom(' ', '\r\n', '\n', '\t', '', '<', '>');
    const body = fc.array(fc.tuple(word, sep), { maxLength: 30 }).map((a) => a.flat().join(''));
    fc.assert(
      fc.property(body, body, fc.integer({ min: 1, max: 40 }), (text, html, chunk) => {
        const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
        assert.deepEqual(streamed(latin1(text), latin1(html), chunk), findIndicatorsInBodies(text, html));
      }),
      { numRuns: 500, seed: CI_SEED },
    );
  });
});
