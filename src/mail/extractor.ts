/**
 * `smtpcap extract`: .eml files, decoded attachments, index.json/.csv and an optional mboxrd file.
 *
 * Lifecycle: `new Extractor(options)` prepares DIR; its `sinkFactory` goes to the SMTP layer, so
 * each message streams to a temporary file in DIR (and its attachments, decoded, beside it) while
 * it is parsed; `addSession(record)`, once the record's messages are ready, keeps or deletes each
 * transaction's files by status and filter and gives them their final names; `close()` writes the
 * index files and removes what is left of the temporary directory.
 *
 * Every file is created with O_EXCL | O_NOFOLLOW and every directory by us, so nothing placed in
 * DIR beforehand (a symlink above all) is followed or overwritten; final names are hard links from
 * the temporary files, which fail rather than replace an existing entry.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmdirSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { SessionRecord, Transaction, TransactionStatus } from '../smtp/records.js';
import type { MessageSink, MessageSinkFactory } from '../smtp/transaction-builder.js';
import { type BatchHolder, BatchPool } from './batch-pool.js';
import { IndexSpool } from './index-spool.js';
import { MboxWriter, writeAll } from './mbox.js';
import { type MessageLimits, MessageParserSink, resolveLimits } from './message-parser-sink.js';
import type { MessageRecord } from './message-record.js';
import { isInlineText, type PartInfo, type PartWriter } from './mime-scanner.js';
import { MAX_NAME_BYTES, safeFileName, shorten, subjectSlug, withSuffix } from './safe-name.js';

export interface ExtractorOptions {
  /** Output directory; created when missing. */
  dir: string;
  /** Write into an existing non-empty DIR (and replace an existing mbox file). */
  force?: boolean;
  /** Keep rejected, aborted and incomplete messages too (marked in names and index). */
  all?: boolean;
  /** mboxrd file to write the kept messages to. */
  mbox?: string;
  /** The CLI's shared filters (--session, --from, --to, --subject, --since/--until). */
  filter?: (session: SessionRecord<MessageRecord>, transaction: Transaction<MessageRecord>) => boolean;
  limits?: Partial<MessageLimits>;
}

export interface ExtractedAttachment {
  /** Relative to DIR. */
  file: string;
  filename: string | null;
  contentType: string;
  size: number;
  sha256: string;
}

export interface ExtractedMessage {
  /** Relative to DIR. */
  file: string;
  sessionId: string;
  transactionIndex: number;
  status: TransactionStatus;
  /** Capture time the transaction began. */
  start: string;
  client: string;
  server: string;
  mailFrom: string | null;
  rcptTo: string[];
  accepted: string[];
  subject: string | null;
  from: string | null;
  date: string | null;
  messageId: string | null;
  size: number;
  sha256: string;
  attachments: ExtractedAttachment[];
}

export class ExtractError extends Error {}

const O_CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
const FILE_BUFFER = 64 * 1024;
/** Bytes of a message file name before `.eml`, leaving room for a collision suffix. */
const MAX_STEM_BYTES = 120;
const INDEX_FILES = ['index.json', 'index.csv'];

const O_APPEND_OWN = constants.O_WRONLY | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0);
/**
 * Write buffers of the files being written, at most 64 out at once: a flood of open messages
 * would otherwise hold a buffer (and a descriptor) per message and part.
 */
const fileBatches = new BatchPool(FILE_BUFFER, 64);

/**
 * A file we create and append to synchronously through a pooled buffer (bounded memory, no
 * backlog). It is created at once (O_EXCL reserves the name) and reopened to append each buffer:
 * thousands of messages may be open at once, and a descriptor each would run out.
 */
class NewFile implements PartWriter, BatchHolder {
  lastUse = 0;
  private batch: Buffer | null = null;
  private length = 0;
  private ended = false;

  constructor(readonly path: string) {
    closeSync(openSync(path, O_CREATE_NEW, 0o644));
  }

  write(bytes: Buffer): void {
    if (this.ended) return;
    if (this.length + bytes.length > FILE_BUFFER) {
      this.flush();
      if (bytes.length >= FILE_BUFFER) {
        this.append(bytes);
        return;
      }
    }
    if (this.batch === null) this.batch = fileBatches.take(this);
    else fileBatches.touch(this);
    bytes.copy(this.batch, this.length);
    this.length += bytes.length;
  }

  end(): void {
    if (this.ended) return;
    this.surrender();
    this.ended = true;
  }

  surrender(): void {
    this.flush();
    if (this.batch !== null) fileBatches.give(this, this.batch);
    this.batch = null;
  }

  private flush(): void {
    if (this.length === 0 || this.batch === null) return;
    this.append(this.batch.subarray(0, this.length));
    this.length = 0;
  }

  private append(bytes: Buffer): void {
    const fd = openSync(this.path, O_APPEND_OWN);
    try {
      writeAll(fd, bytes);
    } finally {
      closeSync(fd);
    }
  }
}

interface Pending {
  eml: NewFile;
  parts: Map<string, NewFile>;
}

/** Parses the message and tees its raw bytes (and decoded attachments) to temporary files. */
class ExtractingSink implements MessageSink<MessageRecord> {
  constructor(
    private readonly parser: MessageParserSink,
    private readonly pending: Pending,
  ) {}

  write(bytes: Buffer): void {
    this.pending.eml.write(bytes);
    this.parser.write(bytes);
  }

  gap(length: number): void {
    this.parser.gap(length);
  }

  end(): Promise<MessageRecord> {
    this.pending.eml.end();
    return this.parser.end();
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/** A system error's code (ENOENT, EACCES, ...), or the error as text. */
function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : String(error);
}

/** Creates a directory, or accepts an existing real directory (never a symlink to one). */
function ensureOwnDir(path: string): void {
  try {
    mkdirSync(path, { mode: 0o755 });
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) throw error;
    const stat = lstatSync(path);
    if (stat.isSymbolicLink() || !stat.isDirectory()) {
      throw new ExtractError(`${path} exists and is not a directory we can write into safely`);
    }
  }
}

/** Hard-links `from` to the first free `name`, `name (2)`, ... in `dir`; returns the name used. */
function linkUnique(from: string, dir: string, name: string): string {
  for (let n = 1; ; n++) {
    const candidate = withSuffix(name, n);
    try {
      linkSync(from, join(dir, candidate));
      return candidate;
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to clean.
  }
}

/** Opens a file of ours for a fresh write, replacing (never following) an old one when forced. */
function createFile(path: string, force: boolean): number {
  if (lstatSync(path, { throwIfNoEntry: false })?.isDirectory())
    throw new ExtractError(`${path} is a directory, not a file to write`);
  if (force) unlinkQuietly(path);
  try {
    return openSync(path, O_CREATE_NEW, 0o644);
  } catch (error) {
    if (isErrno(error, 'EEXIST')) throw new ExtractError(`${path} exists (use --force to replace it)`);
    if (isErrno(error, 'ENOENT')) throw new ExtractError(`${path}: its folder does not exist`);
    throw new ExtractError(`cannot create ${path} (${errorCode(error)})`);
  }
}

/**
 * Creates DIR and its missing parents, one level at a time: Node's recursive mkdirSync spins
 * forever on some paths (e.g. under /proc), and its errors must reach the user as one line.
 */
function makeOutputDirectory(dir: string, wanted = dir, depth = 0): void {
  let failure = tryMkdir(dir);
  const parent = dirname(dir);
  if (failure === 'ENOENT' && parent !== dir && depth < 64) {
    makeOutputDirectory(parent, wanted, depth + 1);
    failure = tryMkdir(dir);
  }
  if (failure !== null) throw new ExtractError(`cannot create the output folder ${wanted} (${failure})`);
}

/** mkdir, or the error code that stopped it; an existing entry is no failure (checked later). */
function tryMkdir(dir: string): string | null {
  try {
    mkdirSync(dir, { mode: 0o755 });
    return null;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return null;
    return errorCode(error);
  }
}

export class Extractor {
  readonly dir: string;
  /** Messages and attachments filed so far. */
  filed = { messages: 0, attachments: 0 };
  private readonly index: IndexSpool;
  private readonly tempDir: string;
  /** Messages streamed to temporary files whose session has not been filed yet. */
  private readonly pending = new Map<Transaction<MessageRecord>, Pending>();
  private readonly limits: MessageLimits;
  private readonly mbox: MboxWriter | null = null;
  private readonly mboxFd: number = -1;
  private counter = 0;
  private closed = false;
  /** Kept transactions with data whose files were not found: they are missing from DIR. */
  unfiled = 0;

  constructor(private readonly options: ExtractorOptions) {
    this.dir = options.dir;
    this.limits = resolveLimits(options.limits ?? {});
    makeOutputDirectory(this.dir);
    // --force writes into a used folder; it never makes a file (or a link to one) a folder.
    if (!statSync(this.dir).isDirectory()) throw new ExtractError(`${this.dir} is not a directory`);
    if (readdirSync(this.dir).length > 0 && !options.force) {
      throw new ExtractError(`${this.dir} is not empty (use --force to write into it)`);
    }
    // What would stop the index at the very end is found before any message is written.
    for (const name of INDEX_FILES) {
      const path = join(this.dir, name);
      if (lstatSync(path, { throwIfNoEntry: false })?.isDirectory())
        throw new ExtractError(`${path} is a directory: the index cannot be written there`);
      if (options.mbox !== undefined && resolve(options.mbox) === resolve(path))
        throw new ExtractError(`--mbox ${options.mbox} is where the index goes: name another file`);
    }
    // The mbox first: a refused one leaves nothing behind in DIR.
    if (options.mbox) {
      this.mboxFd = createFile(options.mbox, options.force ?? false);
      this.mbox = new MboxWriter(this.mboxFd);
    }
    this.tempDir = join(this.dir, `.smtpcap-partial-${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(this.tempDir, { mode: 0o700 });
    this.index = new IndexSpool(join(this.tempDir, 'index'));
  }

  /** The sink factory to hand to the SMTP layer (in place of createMessageParserSink). */
  readonly sinkFactory: MessageSinkFactory<MessageRecord> = (transaction) => {
    const id = ++this.counter;
    const pending: Pending = { eml: new NewFile(join(this.tempDir, `m${id}.eml`)), parts: new Map() };
    this.pending.set(transaction, pending);
    const onPart = (part: PartInfo): PartWriter | null => {
      if (isInlineText(part) || pending.parts.has(part.path)) return null;
      const file = new NewFile(join(this.tempDir, `m${id}-p${part.path}`));
      pending.parts.set(part.path, file);
      return file;
    };
    return new ExtractingSink(new MessageParserSink(this.limits, onPart), pending);
  };

  /** Files one finished session's messages; call once its `ready` promise has settled. */
  addSession(session: SessionRecord<MessageRecord>): void {
    for (const transaction of session.transactions) {
      const pending = this.pending.get(transaction);
      if (!pending) {
        // Not a transaction our sinks saw (a copy of the record): its bytes are not here.
        if (transaction.data !== null && this.keeps(session, transaction)) this.unfiled++;
        continue;
      }
      this.pending.delete(transaction);
      try {
        if (this.keeps(session, transaction)) {
          closePending(pending);
          this.file(session, transaction, pending);
        }
      } finally {
        discardPending(pending);
      }
    }
  }

  /** Writes index.json and index.csv (by first packet) and removes the temporary directory. */
  close(): { messages: number; attachments: number } {
    if (this.closed) return this.filed;
    this.closed = true;
    const force = this.options.force ?? false;
    const [json, csv] = INDEX_FILES.map((name) => createFile(join(this.dir, name), force));
    // The same text as JSON.stringify({ messages }, null, 2), an entry at a time.
    const some = this.index.size > 0;
    this.index.writeSorted(
      {
        fd: json,
        head: some ? '{\n  "messages": [\n' : '{\n  "messages": []',
        separator: ',\n',
        tail: some ? '\n  ]\n}\n' : '\n}\n',
      },
      { fd: csv, head: `${CSV_COLUMNS.join(',')}\r\n` },
    );
    closeSync(json);
    closeSync(csv);
    if (this.mboxFd >= 0) closeSync(this.mboxFd);
    // Messages whose session never reached addSession are not filed: their files go.
    for (const pending of this.pending.values()) discardPending(pending);
    this.pending.clear();
    rmdirSync(this.tempDir);
    return this.filed;
  }

  private keeps(session: SessionRecord<MessageRecord>, transaction: Transaction<MessageRecord>): boolean {
    if (!this.options.all && transaction.status !== 'delivered') return false;
    return this.options.filter?.(session, transaction) ?? true;
  }

  private file(
    session: SessionRecord<MessageRecord>,
    transaction: Transaction<MessageRecord>,
    pending: Pending,
  ): void {
    const message = transaction.message;
    const status = transaction.status === 'delivered' ? '' : `-${transaction.status}`;
    const stem = shorten(
      `${session.id}-${transaction.index}${status}-${subjectSlug(message?.subject ?? null)}`,
      MAX_STEM_BYTES,
    );
    const file = linkUnique(pending.eml.path, this.dir, safeFileName(`${stem}.eml`, 'message.eml'));
    const fileStem = file.slice(0, -'.eml'.length);
    const attachments: ExtractedAttachment[] = [];
    for (const attachment of message?.attachments ?? []) {
      const temp = pending.parts.get(attachment.path);
      if (!temp) continue;
      const root = join(this.dir, 'attachments');
      ensureOwnDir(root);
      const dir = join(root, fileStem);
      ensureOwnDir(dir);
      const name = linkUnique(
        temp.path,
        dir,
        safeFileName(attachment.filename, `part-${attachment.path}`, MAX_NAME_BYTES),
      );
      attachments.push({
        file: join('attachments', fileStem, name),
        filename: attachment.filename,
        contentType: attachment.contentType,
        size: attachment.size,
        sha256: attachment.sha256,
      });
    }
    if (this.mbox) {
      const path = join(this.dir, file);
      this.mbox.append(transaction.mailFrom?.address ?? null, new Date(transaction.start), (write) =>
        pumpFile(path, write),
      );
    }
    const entry: ExtractedMessage = {
      file,
      sessionId: session.id,
      transactionIndex: transaction.index,
      status: transaction.status,
      start: transaction.start,
      client: endpoint(session.client),
      server: endpoint(session.server),
      mailFrom: transaction.mailFrom?.address ?? null,
      rcptTo: transaction.rcptTo.map((r) => r.address),
      accepted: transaction.rcptTo.filter((r) => r.accepted).map((r) => r.address),
      subject: message?.subject ?? null,
      from: message?.from ?? null,
      date: message?.date?.raw ?? null,
      messageId: message?.messageId ?? null,
      size: transaction.data?.size ?? 0,
      sha256: transaction.data?.sha256 ?? '',
      attachments,
    };
    // Indented as the document's array holds it (JSON.stringify puts no raw newline in a string).
    const json = `    ${JSON.stringify(entry, null, 2).replace(/\n/g, '\n    ')}`;
    this.index.add(Number(session.id.slice(1)), transaction.index, json, `${csvLine(entry)}\r\n`);
    this.filed.messages++;
    this.filed.attachments += attachments.length;
  }
}

function closePending(pending: Pending): void {
  pending.eml.end();
  for (const part of pending.parts.values()) part.end();
}

function discardPending(pending: Pending): void {
  closePending(pending);
  unlinkQuietly(pending.eml.path);
  for (const part of pending.parts.values()) unlinkQuietly(part.path);
}

function endpoint(e: { ip: string; port: number }): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** Streams a file we wrote through `write` in fixed pieces. */
function pumpFile(path: string, write: (bytes: Buffer) => void): void {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    const buffer = Buffer.allocUnsafe(FILE_BUFFER);
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) write(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

const CSV_COLUMNS = [
  'file',
  'session',
  'transaction',
  'status',
  'start',
  'client',
  'server',
  'mail_from',
  'rcpt_to',
  'subject',
  'from',
  'date',
  'message_id',
  'size',
  'sha256',
  'attachments',
];

/** RFC 4180 field; a leading = + - @ is defused so a spreadsheet never runs message text as a formula. */
export function csvField(value: string | number | null): string {
  let text = value === null ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The message's index.csv line (without its CRLF). */
export function csvLine(m: ExtractedMessage): string {
  return [
    m.file,
    m.sessionId,
    m.transactionIndex,
    m.status,
    m.start,
    m.client,
    m.server,
    m.mailFrom,
    m.rcptTo.join(' '),
    m.subject,
    m.from,
    m.date,
    m.messageId,
    m.size,
    m.sha256,
    m.attachments.map((a) => a.file).join(' '),
  ]
    .map(csvField)
    .join(',');
}
