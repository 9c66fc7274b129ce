import type { RawPacket } from '../capture/raw-packet.js';
import { Defragmenter } from './defragmenter.js';
import { type IpInfo, IpStatus, newIpInfo } from './ip.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { decodeLink, LinkStatus, newLinkInfo } from './link-layer.js';
import { decodeTcpHeader } from './tcp-header.js';
import type { DecodeWarning, TcpSegment } from './tcp-segment.js';
import { DecodeWarningCode, type Warn } from './warning-codes.js';

// Module-local copies of shared constants: under tsx (esbuild) an imported object is read through
// a getter on every access, which showed in profiles of the per-packet path.
const LINK_IP = LinkStatus.Ip;
const LINK_UNSUPPORTED = LinkStatus.Unsupported;
const IP_TCP = IpStatus.Tcp;
const IP_FRAGMENT = IpStatus.Fragment;

export interface PacketDecoderOptions {
  onWarning: (w: DecodeWarning) => void;
  /** Capture-time seconds an incomplete fragmented datagram is kept (default 30). */
  fragmentTimeoutSec?: number;
  /** Bytes held for incomplete datagrams before the oldest is dropped (default 64 MiB). */
  maxFragmentBytes?: number;
  /** Incomplete datagrams held before the oldest is dropped (default 10,000). */
  maxFragmentDatagrams?: number;
}

/**
 * Turns captured frames into TCP segments: link layer, VLAN tags, IPv4/IPv6 (with fragment
 * reassembly), TCP. One decoder per capture; it reuses its state and the caller's `out` object,
 * so a packet that is not TCP costs a few byte reads and no allocation.
 */
export class PacketDecoder {
  private readonly onWarning: (w: DecodeWarning) => void;
  private readonly defragmenter: Defragmenter;
  private readonly link = newLinkInfo();
  private readonly ip: IpInfo = newIpInfo();
  /** Unsupported link types already reported: once each is enough. */
  private readonly reportedLinkTypes = new Set<number>();
  /** Number of the packet being decoded, for warnings. */
  private current = 0;
  private readonly warn: Warn = (code, detail) => this.onWarning({ code, packet: this.current, detail });

  constructor(options: PacketDecoderOptions) {
    this.onWarning = options.onWarning;
    this.defragmenter = new Defragmenter({
      onWarning: options.onWarning,
      timeoutSec: options.fragmentTimeoutSec,
      maxBytes: options.maxFragmentBytes,
      maxDatagrams: options.maxFragmentDatagrams,
    });
  }

  /**
   * Fills `out` and returns true when the packet is a TCP segment (or the fragment that
   * completes a TCP datagram); false for anything else, after a warning when it was malformed.
   */
  decode(packet: RawPacket, out: TcpSegment): boolean {
    const data = packet.data;
    this.current = packet.index;
    const link = this.link;
    const linkStatus = decodeLink(data, packet.linkType, link, this.warn);
    if (linkStatus !== LINK_IP) {
      if (linkStatus === LINK_UNSUPPORTED) this.reportLinkType(packet.linkType);
      return false;
    }

    const ip = this.ip;
    const cut = packet.origLength > data.length ? packet.origLength - data.length : 0;
    let status =
      link.ipVersion === 4
        ? decodeIpv4(data, link.ipOffset, cut, ip, this.warn)
        : decodeIpv6(data, link.ipOffset, cut, ip, this.warn);
    let buf = data;
    if (status === IP_FRAGMENT) {
      if (ip.missing > 0) {
        this.warn(
          DecodeWarningCode.FragmentTruncated,
          `IPv${ip.family} fragment id 0x${ip.fragmentId.toString(16)} lacks ${ip.missing} bytes (snaplen); its datagram cannot be rebuilt`,
        );
        return false;
      }
      const datagram = this.defragmenter.add(packet, data, ip);
      if (datagram === null) return false;
      // The rebuilt datagram is decoded from scratch; it carries no fragment fields any more.
      status =
        ip.family === 4
          ? decodeIpv4(datagram, 0, 0, ip, this.warn)
          : decodeIpv6(datagram, 0, 0, ip, this.warn);
      buf = datagram;
    }
    if (status !== IP_TCP) return false;
    if (!decodeTcpHeader(buf, ip.payloadOffset, ip.end, ip.missing, out, this.warn)) return false;

    out.packet = packet.index;
    out.tsSec = packet.tsSec;
    out.tsNsec = packet.tsNsec;
    out.tsDigits = packet.tsDigits;
    out.family = ip.family;
    out.ipBuffer = buf;
    out.srcAddrOffset = ip.srcOffset;
    out.dstAddrOffset = ip.dstOffset;
    out.vlan = link.vlan;
    return true;
  }

  /**
   * Reports every datagram still waiting for fragments as dropped: call once at the end of the
   * capture. `lastPacket` is named in the warnings' detail.
   */
  flush(lastPacket: number = this.current): void {
    this.defragmenter.flush(lastPacket);
  }

  private reportLinkType(linkType: number): void {
    if (this.reportedLinkTypes.has(linkType)) return;
    this.reportedLinkTypes.add(linkType);
    this.warn(
      DecodeWarningCode.UnsupportedLinkType,
      `link type ${linkType} is not decoded; its packets are skipped`,
    );
  }
}
