import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddress } from '../../src/decode/address.js';
import { addressBytes } from '../helpers/frames.js';

function roundTrip(text: string): string {
  const bytes = addressBytes(text);
  // Put it at an offset to check the offset is honoured.
  const buf = Buffer.concat([Buffer.from([0xaa, 0xbb, 0xcc]), bytes]);
  return formatAddress(buf, 3, bytes.length === 4 ? 4 : 6);
}

describe('formatAddress', () => {
  it('writes IPv4 dotted quads', () => {
    assert.equal(roundTrip('192.0.2.254'), '192.0.2.254');
    assert.equal(roundTrip('0.0.0.0'), '0.0.0.0');
    assert.equal(formatAddress(Buffer.from([10, 1, 2, 3]), 0, 4), '10.1.2.3');
  });

  it('writes IPv6 in RFC 5952 canonical form', () => {
    const cases: Array<[string, string]> = [
      ['::1', '::1'],
      ['::', '::'],
      ['2001:0DB8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
      // Longest run wins.
      ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
      // First of two equal runs wins.
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      // A single zero group is never compressed.
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['fe80::a00:27ff:fe4e:66a1', 'fe80::a00:27ff:fe4e:66a1'],
      ['ff02::1:ff00:0', 'ff02::1:ff00:0'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['0:0:0:0:0:0:0:8', '::8'],
    ];
    for (const [input, expected] of cases) assert.equal(roundTrip(input), expected, input);
  });

  it('shows IPv4-mapped addresses with a dotted quad', () => {
    assert.equal(roundTrip('::ffff:192.0.2.1'), '::ffff:192.0.2.1');
    assert.equal(roundTrip('0:0:0:0:0:ffff:c000:0201'), '::ffff:192.0.2.1');
  });
});
