import type { Warn } from './warning-codes.js';
import { DecodeWarningCode } from './warning-codes.js';

/** LINKTYPE_* values we decode (tcpdump.org/linktypes.html). */
export const LinkType = {
  Null: 0,
  Ethernet: 1,
  /** DLT_RAW on OpenBSD/BSD/OS-derived platforms: a raw IP packet. */
  RawAlt12: 12,
  RawAlt14: 14,
  Raw: 101,
  Loop: 108,
  LinuxSll: 113,
  Ipv4: 228,
  Ipv6: 229,
  LinuxSll2: 276,
} as const;

export const EtherType = {
  Ipv4: 0x0800,
  Ipv6: 0x86dd,
  Vlan: 0x8100,
  QinQ: 0x88a8,
  /** Pre-standard QinQ outer tag still emitted by some switches. */
  QinQOld: 0x9100,
} as const;

/** BSD address families in the null/loopback header; AF_INET6 differs between the BSDs. */
const AF_INET = 2;
const AF_INET6_NETBSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

const ETHERNET_HEADER = 14;
/** Offset of the EtherType in an Ethernet II header. */
const ETHERNET_TYPE_OFFSET = 12;
/** A VLAN tag: 2 bytes TCI, then the next EtherType. */
const VLAN_TAG = 4;
const VLAN_ID_MASK = 0x0fff;
const SLL_HEADER = 16;
const SLL_PROTOCOL_OFFSET = 14;
const SLL2_HEADER = 20;
const SLL2_PROTOCOL_OFFSET = 0;
const NULL_HEADER = 4;

/** What the link layer found; one object reused for every packet. */
export interface LinkInfo {
  /** 4 or 6 for IP, 0 for anything else (ARP, LLDP, unknown). */
  ipVersion: number;
  /** Offset of the IP header in the frame. */
  ipOffset: number;
  /** Outermost VLAN id, -1 when untagged. */
  vlan: number;
}

export function newLinkInfo(): LinkInfo {
  return { ipVersion: 0, ipOffset: 0, vlan: -1 };
}

/** Result of decodeLink. */
export const LinkStatus = {
  /** IP found: ipVersion and ipOffset are set. */
  Ip: 0,
  /** Not IP: nothing to say. */
  NotIp: 1,
  /** Malformed: already reported through warn. */
  Bad: 2,
  /** Link type we do not decode: the caller reports it (once per type). */
  Unsupported: 3,
} as const;
export type LinkStatus = (typeof LinkStatus)[keyof typeof LinkStatus];

/** Decodes the link-layer header of a frame down to its IP header. */
export function decodeLink(data: Buffer, linkType: number, info: LinkInfo, warn: Warn): LinkStatus {
  info.vlan = -1;
  switch (linkType) {
    case LinkType.Ethernet:
      if (data.length < ETHERNET_HEADER) return truncated(data, 'Ethernet', ETHERNET_HEADER, warn);
      return etherTypeChain(data, ETHERNET_TYPE_OFFSET, info, warn);
    case LinkType.LinuxSll:
      if (data.length < SLL_HEADER) return truncated(data, 'Linux SLL', SLL_HEADER, warn);
      return etherTypeChain(data, SLL_PROTOCOL_OFFSET, info, warn);
    case LinkType.LinuxSll2:
      if (data.length < SLL2_HEADER) return truncated(data, 'Linux SLL2', SLL2_HEADER, warn);
      // SLL2 puts the protocol first; the payload still starts after the whole 20-byte header.
      return etherType(data.readUInt16BE(SLL2_PROTOCOL_OFFSET), SLL2_HEADER, info);
    case LinkType.Raw:
    case LinkType.RawAlt12:
    case LinkType.RawAlt14:
      if (data.length < 1) return truncated(data, 'raw IP', 1, warn);
      return ipByVersion(data[0] >> 4, 0, info);
    case LinkType.Ipv4:
      info.ipVersion = 4;
      info.ipOffset = 0;
      return LinkStatus.Ip;
    case LinkType.Ipv6:
      info.ipVersion = 6;
      info.ipOffset = 0;
      return LinkStatus.Ip;
    case LinkType.Null: {
      if (data.length < NULL_HEADER) return truncated(data, 'null/loopback', NULL_HEADER, warn);
      // Host byte order of the capturing machine: a family fits in 16 bits, so a value with high
      // bits set was written in the other order.
      let family = data.readUInt32LE(0);
      if (family > 0xffff) family = data.readUInt32BE(0);
      return ipByFamily(family, info);
    }
    case LinkType.Loop:
      if (data.length < NULL_HEADER) return truncated(data, 'loop', NULL_HEADER, warn);
      return ipByFamily(data.readUInt32BE(0), info);
    default:
      return LinkStatus.Unsupported;
  }
}

const SUPPORTED: ReadonlySet<number> = new Set(Object.values(LinkType));

/** True for the link types decodeLink understands. */
export function isSupportedLinkType(linkType: number): boolean {
  return SUPPORTED.has(linkType);
}

/** Follows VLAN tags from the EtherType at `typeOffset`; the first tag is the outermost. */
function etherTypeChain(data: Buffer, typeOffset: number, info: LinkInfo, warn: Warn): LinkStatus {
  let at = typeOffset;
  let type = data.readUInt16BE(at);
  while (type === EtherType.Vlan || type === EtherType.QinQ || type === EtherType.QinQOld) {
    if (data.length < at + 2 + VLAN_TAG) {
      warn(
        DecodeWarningCode.TruncatedLinkHeader,
        `VLAN tag at byte ${at} needs ${at + 2 + VLAN_TAG} bytes, frame has ${data.length}`,
      );
      return LinkStatus.Bad;
    }
    if (info.vlan < 0) info.vlan = data.readUInt16BE(at + 2) & VLAN_ID_MASK;
    at += VLAN_TAG;
    type = data.readUInt16BE(at);
  }
  return etherType(type, at + 2, info);
}

function etherType(type: number, ipOffset: number, info: LinkInfo): LinkStatus {
  if (type === EtherType.Ipv4) info.ipVersion = 4;
  else if (type === EtherType.Ipv6) info.ipVersion = 6;
  // ARP, LLDP, 802.3 lengths (LLC frames) and the rest: not ours, and no warning.
  else return LinkStatus.NotIp;
  info.ipOffset = ipOffset;
  return LinkStatus.Ip;
}

function ipByVersion(version: number, ipOffset: number, info: LinkInfo): LinkStatus {
  if (version !== 4 && version !== 6) return LinkStatus.NotIp;
  info.ipVersion = version;
  info.ipOffset = ipOffset;
  return LinkStatus.Ip;
}

function ipByFamily(family: number, info: LinkInfo): LinkStatus {
  if (family === AF_INET) info.ipVersion = 4;
  else if (family === AF_INET6_NETBSD || family === AF_INET6_FREEBSD || family === AF_INET6_DARWIN)
    info.ipVersion = 6;
  else return LinkStatus.NotIp;
  info.ipOffset = NULL_HEADER;
  return LinkStatus.Ip;
}

function truncated(data: Buffer, what: string, need: number, warn: Warn): LinkStatus {
  warn(DecodeWarningCode.TruncatedLinkHeader, `${what} header needs ${need} bytes, frame has ${data.length}`);
  return LinkStatus.Bad;
}
