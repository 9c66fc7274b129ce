/**
 * Codes of the warnings the decode layer reports (`input.warnings`). One table so the README can
 * list them and callers can match on them; the values are stable API.
 */
export const DecodeWarningCode = {
  /** The frame is shorter than its link-layer header (or a VLAN tag it announces). */
  TruncatedLinkHeader: 'truncated-link-header',
  /** A link type the decoder does not know; reported once per link type. */
  UnsupportedLinkType: 'unsupported-link-type',
  /** Fewer captured bytes than a minimal IP header, or than the header length it announces. */
  TruncatedIpHeader: 'truncated-ip-header',
  /** An IP header whose fields contradict each other (version, IHL, total length). */
  BadIpHeader: 'bad-ip-header',
  /** A TCP header shorter than 20 bytes, or a data offset beyond the captured bytes. */
  TruncatedTcpHeader: 'truncated-tcp-header',
  /** A TCP data offset below the 20-byte minimum. */
  BadTcpHeader: 'bad-tcp-header',
  /** Fragments overlap: the first copy of each byte is kept. */
  FragmentOverlap: 'fragment-overlap',
  /** An incomplete datagram given up (timeout, memory cap, end of capture). */
  FragmentDropped: 'fragment-dropped',
  /** A fragment that cannot belong to a valid datagram (beyond 65535, past the last fragment). */
  BadFragment: 'bad-fragment',
  /** A fragment the snaplen cut: its datagram cannot be rebuilt. */
  FragmentTruncated: 'fragment-truncated',
} as const;

export type DecodeWarningCode = (typeof DecodeWarningCode)[keyof typeof DecodeWarningCode];

/** How layer decoders report a problem; the PacketDecoder adds the packet number. */
export type Warn = (code: DecodeWarningCode, detail: string) => void;
