import { type Frame, type PcapngOptions, writePcap, writePcapng } from './capture-writer.js';
import { type DialogueOptions, ethernet, tcpDialogue } from './frames.js';

export interface ScriptedCaptureOptions {
  /** Seconds since the epoch of the first packet. */
  startSec?: number;
  /** Nanoseconds between packets. */
  stepNsec?: number;
  format?: 'pcap' | 'pcapng';
  pcapng?: Omit<PcapngOptions, 'interfaces'>;
}

/** Capture frames (Ethernet) for IP packets, spaced `stepNsec` apart in capture time. */
export function framesOf(packets: Buffer[], startSec = 1_700_000_000, stepNsec = 1_000_000): Frame[] {
  return packets.map((ip, i) => {
    const total = i * stepNsec;
    return {
      data: ethernet(ip, { family: ip[0] >> 4 === 6 ? 6 : 4 }),
      tsSec: startSec + Math.floor(total / 1e9),
      tsNsec: total % 1e9,
    };
  });
}

/** A whole capture file of the packets (already in capture order), as Ethernet frames. */
export function captureOf(packets: Buffer[], options: ScriptedCaptureOptions = {}): Buffer {
  const frames = framesOf(packets, options.startSec, options.stepNsec);
  if (options.format === 'pcapng')
    return writePcapng(frames, { ...options.pcapng, interfaces: [{ linkType: 1 }] });
  return writePcap(frames, { linkType: 1 });
}

/** The capture of one scripted TCP dialogue (see tcpDialogue). */
export function dialogueCapture(dialogue: DialogueOptions, options: ScriptedCaptureOptions = {}): Buffer {
  return captureOf(tcpDialogue(dialogue), options);
}
