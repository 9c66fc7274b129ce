import { type IpInfo, IpProtocol, IpStatus } from './ip.js';
import { DecodeWarningCode, type Warn } from './warning-codes.js';

// Module-local copies of shared constants: under tsx (esbuild) an imported object is read through
// a getter on every access, which showed in profiles of the per-packet path.
const TCP = IpProtocol.Tcp;
const STATUS_TCP = IpStatus.Tcp;
const STATUS_FRAGMENT = IpStatus.Fragment;
const STATUS_NOT_TCP = IpStatus.NotTcp;
const STATUS_BAD = IpStatus.Bad;
const { HopByHop, Routing, DestinationOptions, Mobility, Hip, Shim6, Ah, Fragment, Udp, Icmpv6 } = IpProtocol;

export const IPV6_HEADER = 40;
const PAYLOAD_LENGTH_OFFSET = 4;
const NEXT_HEADER_OFFSET = 6;
const SRC_OFFSET = 8;
const DST_OFFSET = 24;
const FRAGMENT_HEADER = 8;
/** Fragment header: offset in 8-byte units in the top 13 bits, M flag in the lowest bit. */
const FRAGMENT_OFFSET_MASK = 0xfff8;
const MORE_FRAGMENTS = 0x0001;

/**
 * Decodes the IPv6 header at `off` and walks its extension headers to the upper layer.
 * `lengthlessMissing`: see decodeIpv4 (a payload length of 0 means offload or a jumbogram).
 */
export function decodeIpv6(
  buf: Buffer,
  off: number,
  lengthlessMissing: number,
  info: IpInfo,
  warn: Warn,
): IpStatus {
  const available = buf.length - off;
  if (available < IPV6_HEADER) {
    warn(DecodeWarningCode.TruncatedIpHeader, `IPv6 header needs 40 bytes, ${available} captured`);
    return STATUS_BAD;
  }
  if (buf[off] >> 4 !== 6) {
    warn(DecodeWarningCode.BadIpHeader, `IP version ${buf[off] >> 4} where IPv6 was announced`);
    return STATUS_BAD;
  }
  let next = buf[off + NEXT_HEADER_OFFSET];
  // Cheap exit for the common non-TCP upper layers.
  if (next === Udp || next === Icmpv6) return STATUS_NOT_TCP;

  const payloadLength = buf.readUInt16BE(off + PAYLOAD_LENGTH_OFFSET);
  const announcedEnd = off + IPV6_HEADER + payloadLength;
  let end: number;
  if (payloadLength === 0) {
    end = buf.length;
    info.missing = lengthlessMissing;
  } else if (announcedEnd <= buf.length) {
    end = announcedEnd;
    info.missing = 0;
  } else {
    if (lengthlessMissing === 0) {
      // The capture holds the whole frame: not a snaplen cut but a header that lies (see ipv4.ts).
      warn(
        DecodeWarningCode.BadIpHeader,
        `IPv6 payload length ${payloadLength} exceeds the ${available - IPV6_HEADER} bytes of a frame the capture did not cut`,
      );
    }
    end = buf.length;
    info.missing = announcedEnd - buf.length;
  }

  info.family = 6;
  info.offset = off;
  info.srcOffset = off + SRC_OFFSET;
  info.dstOffset = off + DST_OFFSET;
  info.end = end;
  info.fragment = false;
  let at = off + IPV6_HEADER;
  for (;;) {
    switch (next) {
      case TCP:
        info.protocol = next;
        info.payloadOffset = at;
        return STATUS_TCP;
      case HopByHop:
      case Routing:
      case DestinationOptions:
      case Mobility:
      case Hip:
      case Shim6: {
        if (at + 2 > end) return truncatedExtension(next, at, end, warn);
        const length = (buf[at + 1] + 1) * 8;
        next = buf[at];
        at += length;
        break;
      }
      case Ah: {
        if (at + 2 > end) return truncatedExtension(next, at, end, warn);
        // AH counts its length in 4-byte units, minus 2.
        const length = (buf[at + 1] + 2) * 4;
        next = buf[at];
        at += length;
        break;
      }
      case Fragment: {
        if (at + FRAGMENT_HEADER > end) return truncatedExtension(next, at, end, warn);
        next = buf[at];
        const field = buf.readUInt16BE(at + 2);
        const fragmentOffset = field & FRAGMENT_OFFSET_MASK;
        const more = (field & MORE_FRAGMENTS) !== 0;
        const id = buf.readUInt32BE(at + 4);
        at += FRAGMENT_HEADER;
        // An atomic fragment (offset 0, no more) is a whole datagram: go on decoding it.
        if (fragmentOffset === 0 && !more) break;
        if (!mayCarryTcp(next)) return STATUS_NOT_TCP;
        info.fragment = true;
        info.fragmentOffset = fragmentOffset;
        info.moreFragments = more;
        info.fragmentId = id;
        info.protocol = next;
        info.payloadOffset = at;
        return STATUS_FRAGMENT;
      }
      default:
        // ESP, no next header, UDP, ICMPv6 and the rest.
        return STATUS_NOT_TCP;
    }
    if (at > end) return truncatedExtension(next, at, end, warn);
  }
}

/** The first header of a fragmentable part that could still lead to TCP. */
function mayCarryTcp(next: number): boolean {
  return next === TCP || next === DestinationOptions || next === Routing || next === Ah || next === HopByHop;
}

function truncatedExtension(next: number, at: number, end: number, warn: Warn): IpStatus {
  warn(
    DecodeWarningCode.TruncatedIpHeader,
    `IPv6 extension header chain (next header ${next}) runs past the datagram: byte ${at} of ${end}`,
  );
  return STATUS_BAD;
}

/** Makes a rebuilt datagram's fixed header whole: its payload length and first next header. */
export function markIpv6Reassembled(datagram: Buffer, payloadLength: number, next: number): void {
  datagram.writeUInt16BE(payloadLength, PAYLOAD_LENGTH_OFFSET);
  datagram[NEXT_HEADER_OFFSET] = next;
}
