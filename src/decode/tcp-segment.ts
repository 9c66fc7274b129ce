/**
 * A decoded TCP segment. The decoder fills one reused object per packet (gopacket style): its
 * fields are valid only until the next packet is decoded, so a consumer copies what it keeps.
 * Addresses stay as offsets into `ipBuffer` so packets of other connections cost no string work.
 */
export interface TcpSegment {
  packet: number;
  tsSec: number;
  tsNsec: number;
  tsDigits: number;
  /** 4 or 6. */
  family: number;
  /** Buffer holding the IP header: the frame itself, or a datagram rebuilt from fragments. */
  ipBuffer: Buffer;
  /** Offsets of the source and destination addresses in ipBuffer (4 bytes for IPv4, 16 for IPv6). */
  srcAddrOffset: number;
  dstAddrOffset: number;
  srcPort: number;
  dstPort: number;
  /** Unsigned 32-bit sequence and acknowledgement numbers. */
  seq: number;
  ack: number;
  /** TCP flag bits (TcpFlag). */
  flags: number;
  window: number;
  /** Captured payload (a view). */
  payload: Buffer;
  /** Payload bytes the IP header announces but the capture does not hold (snaplen cut). */
  missingPayload: number;
  /** Outermost 802.1Q/802.1ad VLAN id, or -1 when untagged. */
  vlan: number;
}

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
} as const;

export function newTcpSegment(): TcpSegment {
  return {
    packet: 0,
    tsSec: 0,
    tsNsec: 0,
    tsDigits: 6,
    family: 4,
    ipBuffer: Buffer.alloc(0),
    srcAddrOffset: 0,
    dstAddrOffset: 0,
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    payload: Buffer.alloc(0),
    missingPayload: 0,
    vlan: -1,
  };
}

/** A problem with one packet: reported with its number, and processing goes on. */
export interface DecodeWarning {
  code: string;
  packet: number;
  detail: string;
}
