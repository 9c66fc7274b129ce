export {
  ExtractError,
  type ExtractedAttachment,
  type ExtractedMessage,
  Extractor,
  type ExtractorOptions,
} from './extractor.js';
export { asctime, fromLine, MboxrdQuoter, MboxWriter } from './mbox.js';
export {
  createMessageParserSink,
  DEFAULT_MESSAGE_LIMITS,
  MESSAGE_ANOMALIES,
  type MessageLimits,
  MessageParserSink,
  type MessageParserSinkOptions,
} from './message-parser-sink.js';
export type * from './message-record.js';
export { MIME_ANOMALIES, type PartInfo, type PartWriter } from './mime-scanner.js';
export { safeFileName, subjectSlug } from './safe-name.js';
