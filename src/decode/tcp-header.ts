import type { TcpSegment } from './tcp-segment.js';
import { DecodeWarningCode, type Warn } from './warning-codes.js';

export const TCP_MIN_HEADER = 20;
const SEQ_OFFSET = 4;
const ACK_OFFSET = 8;
const DATA_OFFSET_OFFSET = 12;
const FLAGS_OFFSET = 13;
const WINDOW_OFFSET = 14;
/** Ports, seq, ack, data offset and flags: enough to place a segment whose header the snaplen cut. */
const PLACEABLE_HEADER = 14;

/**
 * Fills the TCP fields of `out` from the header at `off`; `end` is the end of the datagram's
 * captured bytes and `missing` the bytes the IP header announces past it (snaplen cut). Options
 * are skipped (only the header length matters) and the checksum is never looked at: loopback and
 * offloaded captures carry wrong ones.
 */
export function decodeTcpHeader(
  buf: Buffer,
  off: number,
  end: number,
  missing: number,
  out: TcpSegment,
  warn: Warn,
): boolean {
  const available = end - off;
  // A snaplen that cuts into the header (64 bytes and TCP options, say) still leaves the fields
  // that place the segment; its payload is then a gap of known length, never dropped.
  const cutHeader = missing > 0 && available >= PLACEABLE_HEADER;
  if (available < TCP_MIN_HEADER && !cutHeader) {
    warn(
      DecodeWarningCode.TruncatedTcpHeader,
      `TCP header needs 20 bytes, ${Math.max(available, 0)} captured`,
    );
    return false;
  }
  const headerLength = (buf[off + DATA_OFFSET_OFFSET] >> 4) * 4;
  if (headerLength < TCP_MIN_HEADER) {
    warn(DecodeWarningCode.BadTcpHeader, `TCP data offset ${headerLength} is below 20`);
    return false;
  }
  if (headerLength > available + missing || (headerLength > available && !cutHeader)) {
    warn(
      DecodeWarningCode.TruncatedTcpHeader,
      `TCP data offset ${headerLength} is beyond the ${available} bytes captured`,
    );
    return false;
  }
  out.srcPort = buf.readUInt16BE(off);
  out.dstPort = buf.readUInt16BE(off + 2);
  out.seq = buf.readUInt32BE(off + SEQ_OFFSET);
  out.ack = buf.readUInt32BE(off + ACK_OFFSET);
  out.flags = buf[off + FLAGS_OFFSET];
  out.window = available >= WINDOW_OFFSET + 2 ? buf.readUInt16BE(off + WINDOW_OFFSET) : 0;
  if (headerLength <= available) {
    out.payload = buf.subarray(off + headerLength, end);
    out.missingPayload = missing;
  } else {
    out.payload = buf.subarray(end, end);
    out.missingPayload = available + missing - headerLength;
  }
  return true;
}
