import { createHash, type Hash } from 'node:crypto';
import type { MailFrom, MessageData, Recipient, Reply, Transaction, TransactionStatus } from './records.js';
import { isFailure, isPositive, queueIdOf } from './reply-line.js';

/** Where a transaction's message bytes go besides the hash: the mail layer, a file, nothing. */
export interface MessageSink<M> {
  write(bytes: Buffer): void;
  /** `length` bytes of the message are missing from the capture at this point. */
  gap(length: number): void;
  /** The message is over (complete or not); returns what the sink made of it, now or later. */
  end(): M | null | Promise<M | null>;
}

export type MessageSinkFactory<M> = (transaction: Transaction<M>) => MessageSink<M> | null;

/** What ended a transaction before its data was answered. */
export type EndedBy = 'rset' | 'helo' | 'quit' | null;

/**
 * Collects the facts of one transaction as commands and replies arrive (possibly out of step,
 * with PIPELINING), and turns them into the record with its status by DESIGN.md's rules.
 */
export class TransactionBuilder<M> {
  readonly record: Transaction<M>;
  /** Set once the client can add nothing more (data ended, RSET, QUIT, HELO, the next MAIL). */
  closed = false;
  endedBy: EndedBy = null;
  mailRefused = false;
  dataRefused = false;
  /** DATA got its 354, or a BDAT chunk began. */
  dataBegan = false;
  /** The end of the message (end mark, BDAT LAST bytes) was seen. */
  dataEnded = false;
  /** The capture began inside the message: its first bytes are missing (length unknown). */
  startMissing = false;
  private finalReply: Reply | null = null;
  /** Message bytes are being taken: from beginData until finish. */
  private writing = false;
  private hash: Hash | null = null;
  private sink: MessageSink<M> | null = null;

  constructor(
    index: number,
    start: string,
    mailFrom: MailFrom | null,
    private readonly sinkFactory: MessageSinkFactory<M> | undefined,
    private readonly hashMessage: boolean,
  ) {
    this.record = {
      index,
      start,
      end: start,
      mailFrom,
      rcptTo: [],
      data: null,
      status: 'incomplete',
      message: null,
    };
  }

  touch(ts: string): void {
    this.record.end = ts;
  }

  addRecipient(recipient: Recipient): void {
    this.record.rcptTo.push(recipient);
  }

  beginData(method: 'DATA' | 'BDAT'): MessageData {
    if (!this.record.data) {
      this.record.data = { method, size: 0, sha256: null, reply: null, queueId: null, gaps: [] };
      if (method === 'BDAT') this.record.data.chunks = [];
      this.writing = true;
      if (this.hashMessage) this.hash = createHash('sha256');
      this.sink = this.sinkFactory?.(this.record) ?? null;
    }
    this.dataBegan = true;
    return this.record.data;
  }

  write(bytes: Buffer): void {
    const data = this.record.data;
    if (!data || !this.writing) return;
    data.size += bytes.length;
    this.hash?.update(bytes);
    this.sink?.write(bytes);
  }

  gap(length: number): void {
    const data = this.record.data;
    if (!data) return;
    data.gaps.push({ offset: data.size, length });
    this.sink?.gap(length);
  }

  endData(): void {
    this.dataEnded = true;
    this.closed = true;
  }

  /** The reply to the end of the message (DATA's end mark, BDAT LAST). */
  setFinalReply(reply: Reply): void {
    this.finalReply = reply;
    const data = this.record.data;
    if (data) {
      data.reply = reply;
      data.queueId = isPositive(reply) ? queueIdOf(reply) : null;
    }
  }

  end(by: EndedBy): void {
    if (this.closed) return;
    this.closed = true;
    this.endedBy = by;
  }

  /**
   * Completes the record: hash, status, message. Called once, when the session ends; returns a
   * promise when the sink is still working on the message (the record's `message` is set then).
   */
  finish(): Promise<void> | null {
    const data = this.record.data;
    this.record.status = this.status();
    if (data && this.startMissing) data.startMissing = true;
    if (!data || !this.writing) return null;
    this.writing = false;
    data.sha256 = this.hash?.digest('hex') ?? null;
    this.hash = null;
    const message = this.sink?.end() ?? null;
    if (!(message instanceof Promise)) {
      this.record.message = message;
      return null;
    }
    return message.then((parsed) => {
      this.record.message = parsed;
    });
  }

  private status(): TransactionStatus {
    const missingBytes = (this.record.data?.gaps.length ?? 0) > 0 || this.startMissing;
    if ((this.dataBegan && !this.dataEnded) || missingBytes) return 'incomplete';
    const rcpts = this.record.rcptTo;
    // LMTP: each accepted recipient has its own reply after the message; delivered when any
    // recipient got the message (the per-recipient replies say which).
    const deliveries = rcpts.filter((r) => r.delivery);
    if (deliveries.length > 0) {
      return deliveries.some((r) => isPositive(r.delivery ?? null)) ? 'delivered' : 'rejected';
    }
    if (this.finalReply && isPositive(this.finalReply)) return 'delivered';
    const everyRcptRefused = rcpts.length > 0 && rcpts.every((r) => isFailure(r.reply));
    if (isFailure(this.finalReply) || this.mailRefused || this.dataRefused || everyRcptRefused)
      return 'rejected';
    if (this.endedBy !== null) return 'aborted';
    return 'incomplete';
  }
}
