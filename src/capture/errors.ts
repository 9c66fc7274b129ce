/**
 * An input that cannot be read as a capture at all: missing, unreadable, empty, not a capture, or
 * cut inside its file header. `message` is one line naming the file, fit for stderr as is; the CLI
 * maps this class to exit code 1.
 */
export class CaptureInputError extends Error {
  override readonly name = 'CaptureInputError';

  constructor(
    /** The input as the user named it ('stdin' for '-'). */
    readonly file: string,
    /** What is wrong, without the file name. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${reason}`, options);
  }
}

/**
 * Thrown by a reader that cannot go on from the very start (bad magic, header cut short). Readers
 * do not know the file name: readCapture turns this into a CaptureInputError.
 */
export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
}
