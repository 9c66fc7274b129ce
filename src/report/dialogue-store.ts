/**
 * The dialogue of the sessions not yet printed, for the transcript, within a budget. A session is
 * printed when its record comes (by first packet), so the lines of sessions still open, or
 * waiting behind an earlier one, are held: past the budget (all sessions together) a line is only
 * counted for its session, and the transcript says what it left out. One session of a million
 * RCPT commands, or thousands of open ones, cost the budget, not gigabytes.
 */
import type { DialogueEvent } from '../smtp/dialogue.js';

export const DIALOGUE_BUDGET = 8 * 1024 * 1024;
/** What an event costs besides its bytes: the object, its timestamp string, the list slot. */
const EVENT_COST = 256;
/** What a message line costs when it joins the lines before it from the same packet. */
const JOINED_LINE_COST = 16;
const LF = 0x0a;

export interface HeldDialogue {
  /** In order; consecutive message lines of one packet come as one `body` event (renderTranscript splits them). */
  events: DialogueEvent[];
  /** Lines (and their bytes) seen past the budget and not kept. */
  omittedLines: number;
  omittedBytes: number;
}

/** A kept event; a body event gathers the lines of its packet as pieces, joined when taken. */
interface KeptEvent {
  event: DialogueEvent;
  pieces: Buffer[] | null;
}

interface Entry {
  kept: KeptEvent[];
  omittedLines: number;
  omittedBytes: number;
  cost: number;
}

export class DialogueStore {
  private readonly sessions = new Map<string, Entry>();
  private held = 0;

  constructor(private readonly budget = DIALOGUE_BUDGET) {}

  add(sessionId: string, event: DialogueEvent): void {
    let entry = this.sessions.get(sessionId);
    if (entry === undefined) {
      entry = { kept: [], omittedLines: 0, omittedBytes: 0, cost: 0 };
      this.sessions.set(sessionId, entry);
    }
    const last = entry.kept.length > 0 ? entry.kept[entry.kept.length - 1] : null;
    const joins = last !== null && last.pieces !== null && continuesBody(last, event);
    const cost = (joins ? JOINED_LINE_COST : EVENT_COST) + event.bytes.length;
    // Once a line is left out, so are the rest: the transcript is a prefix and a count.
    if (entry.omittedLines > 0 || this.held + cost > this.budget) {
      entry.omittedLines++;
      entry.omittedBytes += event.length;
      return;
    }
    this.held += cost;
    entry.cost += cost;
    // The listener's bytes are a view valid during the call.
    const bytes = Buffer.from(event.bytes);
    if (joins) {
      last.pieces!.push(bytes);
      last.event.length += bytes.length;
    } else entry.kept.push({ event: { ...event, bytes }, pieces: event.kind === 'body' ? [bytes] : null });
  }

  /** The session's dialogue, which the store lets go of. */
  take(sessionId: string): HeldDialogue {
    const entry = this.sessions.get(sessionId);
    if (entry === undefined) return { events: [], omittedLines: 0, omittedBytes: 0 };
    this.sessions.delete(sessionId);
    this.held -= entry.cost;
    const events = entry.kept.map(({ event, pieces }) =>
      pieces !== null && pieces.length > 1 ? { ...event, bytes: Buffer.concat(pieces) } : event,
    );
    return { events, omittedLines: entry.omittedLines, omittedBytes: entry.omittedBytes };
  }
}

/** A message line from the same packet as the body lines before it, which ended with a line break. */
function continuesBody(last: KeptEvent, event: DialogueEvent): boolean {
  const pieces = last.pieces!;
  const tail = pieces[pieces.length - 1];
  return (
    event.kind === 'body' &&
    event.packet === last.event.packet &&
    event.dir === last.event.dir &&
    tail.length > 0 &&
    tail[tail.length - 1] === LF
  );
}
