/** A message part (or message) that gathers bytes in a pooled batch buffer. */
export interface BatchHolder {
  /** The pool's clock at this holder's last use of its batch. */
  lastUse: number;
  /** Hands on what the batch holds and lets go of it (the pool takes it back). */
  surrender(): void;
}

/**
 * Batch buffers shared by the messages being read, at most `maxOut` handed out at once. A capture
 * may leave hundreds of messages open (sessions cut off by its end, or a flood); each would keep
 * its batch to the end of the run. Past the limit the batch of the holder unused for longest is
 * handed on and taken back: memory stays bounded and the messages in flow keep theirs.
 */
export class BatchPool {
  /** Advanced at each use (see touch): orders holders by their last use. */
  private clock = 0;
  private readonly free: Buffer[] = [];
  private readonly holders = new Set<BatchHolder>();

  constructor(
    private readonly size: number,
    private readonly maxOut: number,
  ) {}

  /** A batch for `holder`, which must give it back (give) or have it taken (surrender). */
  take(holder: BatchHolder): Buffer {
    if (this.holders.size >= this.maxOut) this.oldest()?.surrender();
    this.holders.add(holder);
    this.touch(holder);
    return this.free.pop() ?? Buffer.allocUnsafe(this.size);
  }

  touch(holder: BatchHolder): void {
    holder.lastUse = this.clock++;
  }

  give(holder: BatchHolder, batch: Buffer): void {
    this.holders.delete(holder);
    // Spare buffers for the next messages, up to as many as may be out.
    if (this.free.length < this.maxOut) this.free.push(batch);
  }

  private oldest(): BatchHolder | undefined {
    let oldest: BatchHolder | undefined;
    for (const holder of this.holders)
      if (oldest === undefined || holder.lastUse < oldest.lastUse) oldest = holder;
    return oldest;
  }
}
