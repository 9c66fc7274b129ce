import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { Endpoint } from './stream.js';

const TCP_PROTOCOL = 6;

// Scratch space for each hash input: a flood of short sessions would otherwise make four
// buffers per session.
const addrA = Buffer.alloc(16);
const addrB = Buffer.alloc(16);
/** Seed, two addresses, protocol, a zero byte, two ports. */
const input = Buffer.alloc(2 + 16 + 16 + 6);

/**
 * Community ID v1 (seed 0) of a TCP flow, so our records join with Zeek and Suricata logs.
 * The endpoint that sorts lower (address bytes, then port) goes first, whichever side it is.
 */
export function communityId(a: Endpoint, b: Endpoint, seed = 0): string {
  const aLength = writeAddress(a.ip, addrA);
  const bLength = writeAddress(b.ip, addrB);
  const order = addrA.compare(addrB, 0, bLength, 0, aLength);
  const aFirst = order < 0 || (order === 0 && a.port <= b.port);
  input.writeUInt16BE(seed, 0);
  let at = 2;
  at += aFirst ? addrA.copy(input, at, 0, aLength) : addrB.copy(input, at, 0, bLength);
  at += aFirst ? addrB.copy(input, at, 0, bLength) : addrA.copy(input, at, 0, aLength);
  input[at] = TCP_PROTOCOL;
  input[at + 1] = 0;
  input.writeUInt16BE(aFirst ? a.port : b.port, at + 2);
  input.writeUInt16BE(aFirst ? b.port : a.port, at + 4);
  const digest = createHash('sha1')
    .update(input.subarray(0, at + 6))
    .digest('base64');
  return `1:${digest}`;
}

/** Writes the network-order bytes of a textual IPv4 or IPv6 address into `out`; returns 4 or 16. */
function writeAddress(ip: string, out: Buffer): number {
  if (isIPv4(ip)) {
    const octets = ip.split('.');
    for (let i = 0; i < 4; i++) out[i] = Number(octets[i]);
    return 4;
  }
  out.fill(0);
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  let tailBytes: number[] = [];
  if (isIPv4(tail)) {
    tailBytes = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [headText, restText] = text.includes('::') ? text.split('::') : [text, null];
  const headGroups = headText ? headText.split(':') : [];
  const restGroups = restText ? restText.split(':') : [];
  const groups =
    restText === null
      ? headGroups
      : [...headGroups, ...new Array(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  groups.forEach((group, i) => {
    out.writeUInt16BE(Number.parseInt(group, 16) || 0, i * 2);
  });
  if (tailBytes.length === 4) for (let i = 0; i < 4; i++) out[12 + i] = tailBytes[i];
  return 16;
}
