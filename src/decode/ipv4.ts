import { type IpInfo, IpProtocol, IpStatus } from './ip.js';
import { DecodeWarningCode, type Warn } from './warning-codes.js';

// Module-local copies of shared constants: under tsx (esbuild) an imported object is read through
// a getter on every access, which showed in profiles of the per-packet path.
const TCP = IpProtocol.Tcp;
const STATUS_TCP = IpStatus.Tcp;
const STATUS_FRAGMENT = IpStatus.Fragment;
const STATUS_NOT_TCP = IpStatus.NotTcp;
const STATUS_BAD = IpStatus.Bad;

export const IPV4_MIN_HEADER = 20;
const TOTAL_LENGTH_OFFSET = 2;
const ID_OFFSET = 4;
const FLAGS_FRAGMENT_OFFSET = 6;
const PROTOCOL_OFFSET = 9;
const SRC_OFFSET = 12;
const DST_OFFSET = 16;
const MORE_FRAGMENTS = 0x2000;
/** Fragment offset in units of 8 bytes. */
const FRAGMENT_OFFSET_MASK = 0x1fff;

/**
 * Decodes the IPv4 header at `off`. `lengthlessMissing` is what the capture says it cut (wire
 * length minus captured length): the missing length when the total length field is 0
 * (segmentation offload leaves it so), and 0 makes a total length beyond the frame a warning.
 */
export function decodeIpv4(
  buf: Buffer,
  off: number,
  lengthlessMissing: number,
  info: IpInfo,
  warn: Warn,
): IpStatus {
  const available = buf.length - off;
  if (available < IPV4_MIN_HEADER) {
    warn(DecodeWarningCode.TruncatedIpHeader, `IPv4 header needs 20 bytes, ${available} captured`);
    return STATUS_BAD;
  }
  const first = buf[off];
  if (first >> 4 !== 4) {
    warn(DecodeWarningCode.BadIpHeader, `IP version ${first >> 4} where IPv4 was announced`);
    return STATUS_BAD;
  }
  // Everything but TCP leaves here, before any other field is read.
  const protocol = buf[off + PROTOCOL_OFFSET];
  if (protocol !== TCP) return STATUS_NOT_TCP;

  const headerLength = (first & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER) {
    warn(DecodeWarningCode.BadIpHeader, `IPv4 header length ${headerLength} is below 20`);
    return STATUS_BAD;
  }
  if (headerLength > available) {
    warn(
      DecodeWarningCode.TruncatedIpHeader,
      `IPv4 header length ${headerLength}, ${available} bytes captured`,
    );
    return STATUS_BAD;
  }
  const totalLength = buf.readUInt16BE(off + TOTAL_LENGTH_OFFSET);
  if (totalLength === 0) {
    info.end = buf.length;
    info.missing = lengthlessMissing;
  } else if (totalLength < headerLength) {
    warn(
      DecodeWarningCode.BadIpHeader,
      `IPv4 total length ${totalLength} is below its header length ${headerLength}`,
    );
    return STATUS_BAD;
  } else if (totalLength <= available) {
    // Anything after the datagram is link padding, not payload.
    info.end = off + totalLength;
    info.missing = 0;
  } else {
    if (lengthlessMissing === 0) {
      // Not a snaplen cut: the capture holds the whole frame, so the header lies (or the frame
      // was damaged). The bytes present are still used; the rest is a gap, never invented.
      warn(
        DecodeWarningCode.BadIpHeader,
        `IPv4 total length ${totalLength} exceeds the ${available} bytes of a frame the capture did not cut`,
      );
    }
    info.end = buf.length;
    info.missing = totalLength - available;
  }

  info.family = 4;
  info.offset = off;
  info.srcOffset = off + SRC_OFFSET;
  info.dstOffset = off + DST_OFFSET;
  info.protocol = protocol;
  info.payloadOffset = off + headerLength;
  const flags = buf.readUInt16BE(off + FLAGS_FRAGMENT_OFFSET);
  info.fragmentOffset = (flags & FRAGMENT_OFFSET_MASK) * 8;
  info.moreFragments = (flags & MORE_FRAGMENTS) !== 0;
  info.fragment = info.moreFragments || info.fragmentOffset !== 0;
  if (!info.fragment) return STATUS_TCP;
  info.fragmentId = buf.readUInt16BE(off + ID_OFFSET);
  return STATUS_FRAGMENT;
}

/** Writes the fields that make a rebuilt datagram whole: its length, and no fragment bits. */
export function markIpv4Reassembled(datagram: Buffer, totalLength: number): void {
  datagram.writeUInt16BE(totalLength, TOTAL_LENGTH_OFFSET);
  // Keep DF and the reserved bit; clear MF and the offset.
  datagram.writeUInt16BE(datagram.readUInt16BE(FLAGS_FRAGMENT_OFFSET) & 0xc000, FLAGS_FRAGMENT_OFFSET);
}
