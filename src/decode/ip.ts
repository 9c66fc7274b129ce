/** IP protocol numbers (IPv4 protocol field, IPv6 next header) the decoder cares about. */
export const IpProtocol = {
  HopByHop: 0,
  Tcp: 6,
  Udp: 17,
  Routing: 43,
  Fragment: 44,
  Esp: 50,
  Ah: 51,
  Icmpv6: 58,
  NoNext: 59,
  DestinationOptions: 60,
  Mobility: 135,
  Hip: 139,
  Shim6: 140,
} as const;

/**
 * What the IPv4 or IPv6 decoder found; one object reused for every packet. Offsets are into the
 * buffer that was decoded (the frame, or a datagram rebuilt from fragments).
 */
export interface IpInfo {
  /** 4 or 6. */
  family: number;
  /** Offset of the IP header. */
  offset: number;
  srcOffset: number;
  dstOffset: number;
  /** Upper-layer protocol (for a fragment: the next header its Fragment header names). */
  protocol: number;
  /** Offset of the TCP header, or of the fragment's data. */
  payloadOffset: number;
  /** End of the datagram's captured bytes: link padding after the datagram is excluded. */
  end: number;
  /** Bytes the IP header announces that the capture does not hold (snaplen cut). */
  missing: number;
  /** True when this packet is a fragment that needs reassembly (not an atomic fragment). */
  fragment: boolean;
  /** Byte offset of the fragment's data in the datagram. */
  fragmentOffset: number;
  moreFragments: boolean;
  /** IPv4 identification or IPv6 Fragment header identification. */
  fragmentId: number;
}

export function newIpInfo(): IpInfo {
  return {
    family: 4,
    offset: 0,
    srcOffset: 0,
    dstOffset: 0,
    protocol: 0,
    payloadOffset: 0,
    end: 0,
    missing: 0,
    fragment: false,
    fragmentOffset: 0,
    moreFragments: false,
    fragmentId: 0,
  };
}

/** Result of the IPv4 and IPv6 decoders. */
export const IpStatus = {
  /** A whole TCP segment: payloadOffset is the TCP header. */
  Tcp: 0,
  /** A fragment of a datagram that may carry TCP: hand it to the Defragmenter. */
  Fragment: 1,
  /** Anything else: no warning. */
  NotTcp: 2,
  /** Malformed: already reported. */
  Bad: 3,
} as const;
export type IpStatus = (typeof IpStatus)[keyof typeof IpStatus];

/** Largest IP datagram (IPv4 total length, IPv6 payload length) without jumbograms. */
export const MAX_DATAGRAM = 65535;
