/** Shared by the capture tests: copies of emitted packets and chunked reading. */
import { Readable } from 'node:stream';
import type { InputSummary, RawPacket } from '../../src/capture/raw-packet.js';
import { readCapture, readCaptureBuffer } from '../../src/capture/read-capture.js';

export interface PacketCopy {
  index: number;
  tsSec: number;
  tsNsec: number;
  tsDigits: number;
  linkType: number;
  origLength: number;
  offset: number;
  data: Buffer;
}

/** The reader reuses one RawPacket and its data is a view: keep a copy. */
export function copyPacket(p: RawPacket): PacketCopy {
  return { ...p, data: Buffer.from(p.data) };
}

export interface ReadResult {
  packets: PacketCopy[];
  summary: InputSummary;
}

export function readBuffer(data: Buffer): ReadResult {
  const packets: PacketCopy[] = [];
  const summary = readCaptureBuffer(data, (p) => packets.push(copyPacket(p)));
  return { packets, summary };
}

export function splitChunks(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return chunks;
}

/** Reads `data` through readCapture('-') as chunks of `size` bytes. */
export async function readChunked(data: Buffer, size: number): Promise<ReadResult> {
  const packets: PacketCopy[] = [];
  const stdin = Readable.from(splitChunks(data, size));
  const summary = await readCapture('-', (p) => packets.push(copyPacket(p)), { stdin });
  return { packets, summary };
}

/** Deterministic bytes so a packet can be recognised by its content. */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}
