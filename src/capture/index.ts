/** The capture layer: files or stdin in, RawPackets out. */
export { DAMAGE_WARNING_CODES, firstDamage, isDamageWarning } from './damage.js';
export { CaptureFormatError, CaptureInputError } from './errors.js';
export { expandInputs, naturalCompare } from './expand-inputs.js';
export { PcapReader } from './pcap-reader.js';
export { PcapngReader } from './pcapng-reader.js';
export type { CaptureFormat, CaptureWarning, InputSummary, RawPacket } from './raw-packet.js';
export {
  createReader,
  DEFAULT_CHUNK_SIZE,
  formatWarning,
  type ReadCaptureOptions,
  readCapture,
  readCaptureBuffer,
  STDIN_NAME,
} from './read-capture.js';
export type { CaptureReader, PacketCallback } from './reader-base.js';
