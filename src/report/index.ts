/** The report layer: pure functions from records to text. */
export {
  type ColourOptions,
  type ColourStream,
  createPalette,
  decideColour,
  type Palette,
} from './colour.js';
export {
  type AuthOutcome,
  type CredentialRecord,
  type CredsOptions,
  credentialRecords,
  credsJson,
  outcomeOf,
  renderCredsTable,
} from './creds.js';
export { escapeBytes, escapeForTerminal } from './escape.js';
export { type JsonDocument, jsonDocument, ndjsonLine } from './json.js';
export { renderSessionsTable, type SessionsTableOptions, sessionOutcome } from './session-table.js';
export { computeStats, type Ranked, renderStats, type Stats, type StatsOptions } from './stats.js';
export { renderTranscript, type TranscriptOptions } from './transcript.js';
