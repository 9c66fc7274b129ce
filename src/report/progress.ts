import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';

// Loaded only when a bar is drawn (stderr is a terminal): runs into pipes keep its memory.
const load = createRequire(import.meta.url);

/** What the pipeline reports after each chunk it reads. */
export interface ProgressFigures {
  /** Bytes read so far, over all inputs. */
  bytes: number;
  packets: number;
  sessions: number;
  transactions: number;
}

function megabytes(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/**
 * A progress bar on stderr: bytes read of the inputs' total, packets, sessions, mails, ETA.
 * Drawn only when stderr is a terminal (cli-progress writes nothing otherwise), so pipes and
 * logs never see it.
 */
export class ProgressBar {
  private readonly bar: cliProgress.SingleBar;
  private started = false;

  constructor(
    private readonly totalBytes: number,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    const progress = load('cli-progress') as typeof cliProgress;
    this.bar = new progress.SingleBar(
      {
        stream,
        format:
          ' {bar} {percentage}% | {read}/{size} MB | {packets} packets | {sessions} sessions | {transactions} mails | ETA {eta_formatted}',
        fps: 5,
        etaBuffer: 50,
        hideCursor: true,
        clearOnComplete: true,
      },
      progress.Presets.shades_classic,
    );
  }

  update(figures: ProgressFigures): void {
    const payload = {
      read: megabytes(figures.bytes),
      size: megabytes(this.totalBytes),
      packets: figures.packets,
      sessions: figures.sessions,
      transactions: figures.transactions,
    };
    if (!this.started) {
      this.bar.start(this.totalBytes, figures.bytes, payload);
      this.started = true;
    } else this.bar.update(figures.bytes, payload);
  }

  stop(): void {
    if (this.started) this.bar.stop();
  }
}
