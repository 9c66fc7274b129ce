/**
 * One captured frame as a reader hands it on. Readers reuse a single RawPacket object for every
 * packet of a chunk (no allocation per packet beyond the `data` view): a consumer that keeps
 * anything past its callback must copy it.
 */
export interface RawPacket {
  /** 1-based packet number in its file, as Wireshark numbers packets. */
  index: number;
  /** Whole seconds since the epoch. */
  tsSec: number;
  /** Nanoseconds within the second (0..999,999,999), whatever the file's resolution. */
  tsNsec: number;
  /** Decimal digits of sub-second precision the capture really has (6 for µs pcap, 9 for ns). */
  tsDigits: number;
  /** LINKTYPE_* value of the interface the frame came from. */
  linkType: number;
  /** The captured bytes (a view into the reader's chunk). */
  data: Buffer;
  /** Length of the frame on the wire; larger than data.length when the snaplen cut it. */
  origLength: number;
  /** Byte offset of the record in the file, for warnings. */
  offset: number;
}

export type CaptureFormat = 'pcap' | 'pcapng';

/** Something in the input that could not be used, reported in `input.warnings`. */
export interface CaptureWarning {
  code: string;
  /** Packet number the warning is about (the next packet number when it is about a header). */
  packet: number;
  /** Byte offset in the file, or -1 when it does not apply. */
  offset: number;
  detail: string;
}

/** What reading one input found: the `input` object of the JSON document. */
export interface InputSummary {
  file: string;
  format: CaptureFormat;
  linkTypes: number[];
  packets: number;
  bytes: number;
  warnings: CaptureWarning[];
}
