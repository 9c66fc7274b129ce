import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { Endpoint } from './stream.js';

const TCP_PROTOCOL = 6;

/**
 * Community ID v1 (seed 0) of a TCP flow, so our records join with Zeek and Suricata logs.
 * The endpoint that sorts lower (address bytes, then port) goes first, whichever side it is.
 */
export function communityId(a: Endpoint, b: Endpoint, seed = 0): string {
  const aIp = addressBytes(a.ip);
  const bIp = addressBytes(b.ip);
  const order = Buffer.compare(aIp, bIp);
  const aFirst = order < 0 || (order === 0 && a.port <= b.port);
  const [ip1, ip2, port1, port2] = aFirst ? [aIp, bIp, a.port, b.port] : [bIp, aIp, b.port, a.port];
  const head = Buffer.alloc(2);
  head.writeUInt16BE(seed);
  const tail = Buffer.alloc(6);
  tail.writeUInt8(TCP_PROTOCOL, 0);
  tail.writeUInt8(0, 1);
  tail.writeUInt16BE(port1, 2);
  tail.writeUInt16BE(port2, 4);
  const digest = createHash('sha1').update(head).update(ip1).update(ip2).update(tail).digest('base64');
  return `1:${digest}`;
}

/** The network-order bytes of a textual IPv4 or IPv6 address. */
export function addressBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  const out = Buffer.alloc(16);
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
  if (tailBytes.length === 4) Buffer.from(tailBytes).copy(out, 12);
  return out;
}
