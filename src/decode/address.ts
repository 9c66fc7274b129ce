/**
 * Text form of an address held in a buffer: IPv4 dotted quad, IPv6 in RFC 5952 canonical form.
 * Called once per connection, not per packet, so clarity wins over speed here.
 */
export function formatAddress(buf: Buffer, offset: number, family: number): string {
  if (family === 4) return formatIpv4(buf, offset);
  if (family === 6) return formatIpv6(buf, offset);
  throw new RangeError(`unknown address family ${family}`);
}

function formatIpv4(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

function formatIpv6(buf: Buffer, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2));
  // RFC 5952 §5: IPv4-mapped addresses keep their dotted quad.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(buf, offset + 12)}`;
  }
  // §4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}
