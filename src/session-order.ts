/**
 * Numbers sessions S1, S2, ... in the order of their first packet and hands their records on
 * without holding more than it must, whether one thread or several produced them.
 *
 * A session's place is its key: (input index, packet number of its first packet). A key gets
 * its number once nothing can still appear before it: no connection with a smaller key is still
 * undecided (a probe that may yet turn out to be SMTP), and every source (worker) has read past
 * it. Records then go out either in number order (a document, a table) or as soon as they are
 * both closed and numbered (NDJSON, in the order sessions end).
 */
import { type ConnectionKey, keyId } from './smtp/session-factory.js';
import { WaitingRecords } from './waiting-records.js';

/** A session's place: (input index, first packet), as the SMTP layer keys connections. */
export type SessionKey = ConnectionKey;

function compareKeys(a: SessionKey, b: SessionKey): number {
  return a[0] - b[0] || a[1] - b[1];
}

export function parseKeyId(id: string): SessionKey {
  const [input, packet] = id.split(':').map(Number);
  return [input, packet];
}

/** A sorted list of keys (small: the connections open at one time). */
class KeyList {
  readonly keys: SessionKey[] = [];

  add(key: SessionKey): void {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.keys[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.keys.splice(lo, 0, key);
  }

  remove(key: SessionKey): boolean {
    const i = this.keys.findIndex((k) => compareKeys(k, key) === 0);
    if (i < 0) return false;
    this.keys.splice(i, 1);
    return true;
  }

  get first(): SessionKey | undefined {
    return this.keys[0];
  }
}

const PAST_EVERYTHING: SessionKey = [Number.POSITIVE_INFINITY, 0];

export interface OrderedSession<R> {
  /** The final id, `S<n>`. */
  id: string;
  record: R;
}

/**
 * Hands values numbered 1, 2, 3, ... on in number order, whatever order they come in: those that
 * come early wait (past the live limit in a spill file, see WaitingRecords). A report that only
 * needs its output in order gives it the text it made of each session, not the record.
 */
export class InOrder<T> {
  private readonly waiting: WaitingRecords<T>;
  private next = 1;

  constructor(
    private readonly emit: (value: T, number: number) => void,
    liveLimit?: number,
  ) {
    this.waiting = new WaitingRecords<T>(liveLimit);
  }

  put(number: number, value: T): void {
    if (number !== this.next) {
      this.waiting.set(number, value);
      return;
    }
    this.emit(value, this.next++);
    for (let early = this.waiting.take(this.next); early !== undefined; early = this.waiting.take(this.next))
      this.emit(early, this.next++);
  }
}

export class SessionOrderer<R> {
  /** Connections that may still become sessions. */
  private readonly undecided = new KeyList();
  /** Sessions (open or closed) waiting for their number. */
  private readonly unnumbered = new KeyList();
  private readonly numbers = new Map<string, number>();
  /** Closed records by key id, until they go out. */
  private readonly closed = new Map<string, R>();
  /** Numbered, closed records, out in number order (document order). */
  private readonly inOrder: InOrder<R>;
  private nextNumber = 1;
  private readonly positions: SessionKey[];

  /**
   * @param sources how many producers report positions (workers); with one synchronous
   *   producer, pass 0: every key it opens is final at once.
   * @param inKeyOrder true: records go out by number (S1, S2, ...); false: as each closes.
   * @param liveLimit records waiting in number order kept as objects (see WaitingRecords).
   */
  constructor(
    sources: number,
    private readonly inKeyOrder: boolean,
    private readonly emit: (session: OrderedSession<R>) => void,
    liveLimit?: number,
  ) {
    this.inOrder = new InOrder<R>((record, number) => this.emit({ id: `S${number}`, record }), liveLimit);
    this.positions = Array.from({ length: sources }, (): SessionKey => [0, 0]);
  }

  /** A connection that may become a session (content detection still deciding). */
  probe(key: SessionKey): void {
    this.undecided.add(key);
  }

  /** The probe was not SMTP. */
  discard(key: SessionKey): void {
    this.undecided.remove(key);
    this.settle();
  }

  /** A session exists (opened on an SMTP port, or a probe that turned out SMTP). */
  open(key: SessionKey): void {
    this.undecided.remove(key);
    this.unnumbered.add(key);
    this.settle();
  }

  close(key: SessionKey, record: R): void {
    const id = keyId(key);
    const number = this.numbers.get(id);
    if (number === undefined) this.closed.set(id, record);
    else this.release(number, id, record);
  }

  /** Source `index` has read every packet up to `key`: nothing it opens later comes before it. */
  position(index: number, key: SessionKey): void {
    this.positions[index] = key;
    this.settle();
  }

  /** Every source is done: everything left goes out. */
  finish(): void {
    for (let i = 0; i < this.positions.length; i++) this.positions[i] = PAST_EVERYTHING;
    for (const key of [...this.undecided.keys]) this.undecided.remove(key);
    this.settle();
  }

  private settle(): void {
    for (let key = this.unnumbered.first; key !== undefined; key = this.unnumbered.first) {
      const blocker = this.undecided.first;
      if (blocker !== undefined && compareKeys(blocker, key) < 0) return;
      if (this.positions.some((p) => compareKeys(p, key) < 0)) return;
      this.unnumbered.remove(key);
      const id = keyId(key);
      const number = this.nextNumber++;
      this.numbers.set(id, number);
      const record = this.closed.get(id);
      if (record !== undefined) {
        this.closed.delete(id);
        this.release(number, id, record);
      }
    }
  }

  private release(number: number, id: string, record: R): void {
    this.numbers.delete(id);
    if (!this.inKeyOrder) {
      this.emit({ id: `S${number}`, record });
      return;
    }
    this.inOrder.put(number, record);
  }
}
