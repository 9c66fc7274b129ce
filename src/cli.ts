#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=65536 node --max-semi-space-size=4 --heap-growing-percent=20
// V8 flags: 4 MB semi-spaces collect per-packet garbage sooner; and after each full collection
// old space may grow by 20% instead of up to 4x. The state of each connection is allocated in
// old space, so a flood of short connections fills it with dead state: with V8's own growth
// 110,000 connections peak at 450 MB whatever the connection cap, with these flags at 120 MB
// (README, Limits). 8 MB semi-spaces cost 15-20 MB more at the peak of a flood.
// glibc: buffers from 64 KiB up (stream rings, batches) are mapped on their own and given back
// when freed, not left as holes in the heap (its own threshold climbs to the largest buffer
// freed): 200 connections each sending 3.9 MB after a hole peaked at 156 MB, 134 MB with this.
// 32 KiB saved a little more and cost 7-15% of wall time in page faults on the benchmark.
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type AnalyseOptions, type AnalysisResult, analyseCaptures } from './analyse.js';
import { firstDamage } from './capture/damage.js';
import { CaptureInputError } from './capture/errors.js';
import { expandInputs } from './capture/expand-inputs.js';
import { checkCaptureInput, formatWarning } from './capture/read-capture.js';
import { ExtractError, Extractor } from './mail/extractor.js';
import type { MessageRecord } from './mail/message-record.js';
import { analyseInParallel, defaultWorkers, type MessageParsing, messageSinkFor } from './parallel.js';
import { decideColour } from './report/colour.js';
import { credsJson, renderCredsTable } from './report/creds.js';
import { DialogueStore } from './report/dialogue-store.js';
import { escapeForTerminal } from './report/escape.js';
import {
  compileSelection,
  parseTime,
  type Selection,
  type SelectionOptions,
  textMatcher,
} from './report/filter.js';
import { plural } from './report/format.js';
import { JsonDocumentWriter, ndjsonLine, sessionText } from './report/json.js';
import { ProgressBar, type ProgressFigures } from './report/progress.js';
import { SessionsTable } from './report/session-table.js';
import { renderStats, StatsAccumulator } from './report/stats.js';
import { writeTranscript } from './report/transcript.js';
import { InOrder } from './session-order.js';
import type { DialogueEvent } from './smtp/dialogue.js';
import { type SessionRecord, sessionOrdinal } from './smtp/records.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Exit codes: 0 success, 1 unreadable or non-capture input, 2 usage error. */
const EXIT_INPUT_ERROR = 1;
const EXIT_USAGE = 2;

/** Report text handed to stdout at a time (a JSON document, the sessions table). */
const OUTPUT_CHUNK = 64 * 1024;

interface CommonOptions extends SelectionOptions {
  port?: number[];
  color?: boolean;
  quiet?: boolean;
  /** False with --no-mime: messages are hashed, not parsed. */
  mime?: boolean;
  workers?: number;
  /** False with --no-detect: only the SMTP ports and --port are read. */
  detect?: boolean;
  showSecrets?: boolean;
  strict?: boolean;
}

/** A bad option value: commander prints it with the usage line and exits 2. */
function usageError(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message);
}

function parsePort(value: string, previous: number[] | undefined): number[] {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usageError(`invalid port: ${value}`);
  return [...(previous ?? []), port];
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw usageError(`invalid count: ${value}`);
  return n;
}

function checkedPattern(value: string): string {
  try {
    textMatcher(value);
  } catch {
    throw usageError(`invalid regular expression: ${value}`);
  }
  return value;
}

function checkedTime(value: string): string {
  try {
    parseTime(value);
  } catch {
    throw usageError(`not a time (use ISO 8601, e.g. 2026-12-03T10:00:00Z): ${value}`);
  }
  return value;
}

function withCommonOptions(command: Command): Command {
  const withOptions = command
    .argument('<capture...>', 'pcap or pcapng files; - reads stdin')
    .option('-p, --port <port>', 'also read this port as SMTP (repeatable)', parsePort)
    .option('-s, --session <id>', 'only this session, e.g. S3 (repeatable)', collect)
    .option(
      '--from <pattern>',
      'only transactions whose MAIL FROM matches (substring, or /regex/)',
      checkedPattern,
    )
    .option('--to <pattern>', 'only transactions with a recipient that matches', checkedPattern)
    .option('--subject <pattern>', 'only messages whose subject matches', checkedPattern)
    .option('--since <time>', 'only transactions that began at or after this capture time', checkedTime)
    .option('--until <time>', 'only transactions that began at or before this capture time', checkedTime)
    .option('--color', 'colour the output')
    .option('--no-color', 'never colour the output')
    .option('--strict', 'exit 1 when an input is damaged (cut or corrupt) instead of reporting what was read')
    .option('--no-detect', 'read only the SMTP ports and --port (no SMTP detection on other ports)')
    .option('--show-secrets', 'show passwords, SASL responses and tokens in tables and transcripts')
    .option('-q, --quiet', 'no warnings and no progress bar on stderr');
  return usageHint(withOptions);
}

/** After a usage error: the usage line and where the options are, not the whole help. */
function usageHint(command: Command): Command {
  const name = `smtpcap ${command.name()}`;
  return command.showHelpAfterError(`Usage: ${name} ${command.usage()}\n(${name} --help lists the options)`);
}

/** Each worker is a V8 isolate of some 40 MB: past 64, a typo more likely than a machine. */
const MAX_WORKERS = 64;

function parseWorkers(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= MAX_WORKERS)) throw usageError(`invalid worker count: ${value} (1 to ${MAX_WORKERS})`);
  return n;
}

/**
 * A report subcommand: the common options, --no-mime, and --workers for the reports built from
 * whole session records (those may run on several threads).
 */
function subcommand(
  program: Command,
  name: string,
  description: string,
  options: { isDefault?: boolean; workers?: boolean } = {},
): Command {
  const command = withCommonOptions(
    program.command(name, { isDefault: options.isDefault }).description(description),
  ).option('--no-mime', 'do not parse messages (message: null); hashes stay');
  if (!options.workers) return command;
  return command.option(
    '-w, --workers <n>',
    'threads for reassembly, SMTP and MIME (default: one per core with full message parsing of inputs over 128 MB, else one)',
    parseWorkers,
  );
}

/** Total size of the inputs, or null when one is stdin or cannot be looked at (the reader says why). */
function inputBytes(files: string[]): number | null {
  let bytes = 0;
  for (const file of files) {
    if (file === '-') return null;
    try {
      bytes += statSync(file).size;
    } catch {
      return null;
    }
  }
  return bytes;
}

/**
 * The thread count: as asked, else one per core for full message parsing of a big input, else
 * one. Every worker reads and decodes the whole input and keeps its shard of the connections;
 * measured on 2 cores, only full MIME parsing gains enough to pay for that. stdin is read once,
 * by one thread.
 */
function workerCount(
  files: string[],
  asked: number | undefined,
  bytes: number | null,
  messages: MessageParsing,
): number {
  if (files.includes('-')) return 1;
  if (asked !== undefined) return asked;
  return bytes === null || messages !== 'full' ? 1 : defaultWorkers(bytes);
}

function stdoutColour(options: CommonOptions): boolean {
  return decideColour({ flag: options.color, env: process.env, stream: process.stdout });
}

/** How a subcommand takes the sessions. */
interface Run {
  /** Each selected session (--session and the filters), in `order`. */
  onSession?: (session: SessionRecord<MessageRecord>) => void;
  /** Each session the selection leaves out (a report in `any` order keeps its place). */
  onUnselected?: (session: SessionRecord<MessageRecord>) => void;
  /**
   * By first packet (S1, S2, ...; default), as each session ends in the capture (NDJSON; one
   * thread), or in any order (a report that only counts; threads allowed, nothing waits).
   */
  order?: 'end' | 'first-packet' | 'any';
  /** Also return every session (default false: reports that stream keep memory flat). */
  keep?: boolean;
  /** Parse only the top header block (the table needs the subject, nothing more). */
  headersOnly?: boolean;
  /** Compute data.sha256 (default true): only the JSON output and extraction show it. */
  hashMessages?: boolean;
  /** Callbacks that must run on this thread (dialogue, extraction): one thread reads. */
  local?: Pick<AnalyseOptions<MessageRecord>, 'dialogue' | 'messageSink'>;
}

/** The inputs, directories expanded, each checked: called before any output is made. */
async function checkedInputs(files: string[]): Promise<string[]> {
  const paths = expandInputs(files);
  // A report never stops halfway on a bad file.
  for (const path of paths) await checkCaptureInput(path);
  return paths;
}

async function analyse(files: string[], options: CommonOptions, run: Run = {}) {
  const paths = await checkedInputs(files);
  const messages: MessageParsing = options.mime === false ? 'none' : run.headersOnly ? 'headers' : 'full';
  const bytes = inputBytes(paths);
  const bar = !options.quiet && process.stderr.isTTY && bytes !== null ? new ProgressBar(bytes) : null;
  const onProgress = bar ? (figures: ProgressFigures) => bar.update(figures) : undefined;
  const selection = compileSelection(options);
  const consumer = run.onSession;
  const onSession = consumer
    ? (session: SessionRecord<MessageRecord>) => {
        if (selection.session(session)) consumer(selection.narrow(session));
        else run.onUnselected?.(session);
      }
    : undefined;
  const common = {
    ports: options.port,
    detect: options.detect,
    onProgress,
    onSession,
    keep: run.keep ?? false,
    hashMessages: run.hashMessages ?? true,
    read: { pace: paceOutput },
  };
  let result: AnalysisResult<MessageRecord>;
  try {
    result =
      run.local || run.order === 'end'
        ? await analyseCaptures<MessageRecord>(paths, {
            ...common,
            order: run.order === 'end' ? 'end' : 'first-packet',
            messageSink: messageSinkFor(messages),
            ...run.local,
          })
        : await analyseInParallel(paths, {
            ...common,
            messages,
            order: run.order === 'any' ? 'end' : 'first-packet',
            workers: workerCount(paths, options.workers, bytes, messages),
          });
  } finally {
    bar?.stop();
  }
  if (!options.quiet) {
    for (const input of result.inputs) {
      for (const warning of input.warnings) {
        process.stderr.write(`smtpcap: warning: ${escapeForTerminal(formatWarning(input.file, warning))}\n`);
      }
    }
  }
  const damage = options.strict ? firstDamage(result.inputs) : null;
  if (damage)
    throw new CaptureInputError(damage.file, `--strict: ${formatWarning('damaged', damage.warning)}`);
  return { inputs: result.inputs, sessions: result.sessions.filter(selection.session).map(selection.narrow) };
}

/**
 * Reading waits while stdout holds more than its buffer: a pipe to a slower reader (`| gzip`)
 * would otherwise queue every report written during the run (800 MB for 110,000 sessions).
 */
function paceOutput(): Promise<void> | undefined {
  if (!process.stdout.writableNeedDrain) return undefined;
  return once(process.stdout, 'drain').then(() => undefined);
}

function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

/** What commander cannot check alone; each is a usage error (exit 2). */
function checkArguments(program: Command, command: Command): void {
  const files = command.processedArgs[0];
  const options = command.opts<CommonOptions>();
  const fail = (message: string): never => command.error(`error: ${message}`, { exitCode: EXIT_USAGE });
  if (Array.isArray(files)) {
    if (files.filter((f) => f === '-').length > 1) fail('stdin (-) can be read only once');
    // `smtpcap --no-color json x.pcap` runs the default command on the files "json" and "x.pcap".
    const first = files[0];
    const named = program.commands.find((c) => c.name() === first);
    if (named && !existsSync(first))
      fail(`"${first}" is a command: put it first (smtpcap ${first} [options] <capture...>)`);
  }
  if (options.subject !== undefined && options.mime === false)
    fail('--subject needs the message headers: it cannot go with --no-mime');
  if (options.since !== undefined && options.until !== undefined) {
    if (parseTime(options.since) > parseTime(options.until))
      fail(`--since ${options.since} is after --until ${options.until}: no transaction can match`);
  }
}

function buildProgram(): Command {
  const program = new Command('smtpcap')
    .description('Everything that happened over SMTP in packet captures: sessions, mails, credentials.')
    .version(version)
    .showHelpAfterError('(smtpcap <command> --help lists the options)')
    .exitOverride()
    .hook('preAction', (_program, command) => checkArguments(program, command));

  subcommand(program, 'sessions', 'table of sessions and their transactions', {
    isDefault: true,
    workers: true,
  }).action(async (files: string[], options: CommonOptions) => {
    const table = new SessionsTable({ colour: stdoutColour(options), showSecrets: options.showSecrets });
    // The table puts its rows in order itself: no session waits for an earlier one.
    await analyse(files, options, {
      order: 'any',
      headersOnly: true,
      hashMessages: false,
      onSession: (session) => table.add(session),
    });
    // Written in pieces: a table of 100,000 rows drawn whole would be a string of 50 MB and more.
    for (const chunk of table.chunks()) await write(chunk);
  });

  subcommand(program, 'transcript', 'the dialogue of each session, client and server in two colours')
    .option('--body-lines <n>', 'show at most N lines of each message body', parseCount)
    .action(async (files: string[], options: CommonOptions & { bodyLines?: number }) => {
      const store = new DialogueStore();
      const ids = options.session ? new Set(options.session.map((id) => id.toUpperCase())) : null;
      const dialogue = (id: string, event: DialogueEvent): void => {
        if (!ids || ids.has(id)) store.add(id, event);
      };
      const colour = stdoutColour(options);
      let separator = '';
      // --strict must be able to print nothing when an input turns out damaged: it holds the text.
      const held: string[] = [];
      const out = options.strict
        ? (text: string) => held.push(text)
        : (text: string) => process.stdout.write(text);
      // Each session is printed when its record comes (by first packet) and its lines let go.
      await analyse(files, options, {
        local: { dialogue },
        hashMessages: false,
        onSession: (session) => {
          const dialogueHeld = store.take(session.id);
          out(separator);
          separator = '\n';
          writeTranscript(
            session,
            dialogueHeld.events,
            { colour, bodyLines: options.bodyLines, showSecrets: options.showSecrets },
            { lines: dialogueHeld.omittedLines, bytes: dialogueHeld.omittedBytes },
            out,
          );
        },
      });
      await write(held.join(''));
    });

  subcommand(program, 'json', 'sessions as JSON (the schema is in the README)', { workers: true })
    .addOption(
      new Option('--ndjson', 'one session per line, as each session ends (read by one thread)').conflicts(
        'workers',
      ),
    )
    .action(async (files: string[], options: CommonOptions & { ndjson?: boolean }) => {
      // Output streams as sessions come, except with --strict, which must be able to print
      // nothing when an input turns out damaged: then it is held until the end.
      const held: string[] = [];
      const out = options.strict
        ? (text: string) => held.push(text)
        : (text: string) => process.stdout.write(text);
      if (options.ndjson) {
        await analyse(files, options, { order: 'end', onSession: (session) => out(ndjsonLine(session)) });
        await write(held.join(''));
        return;
      }
      // Sessions go out in pieces of about 64 KiB: a write per session costs a buffer and a
      // system call each, 100,000 of them for a big capture.
      let pending = '';
      const outBatched = (text: string): void => {
        pending += text;
        if (pending.length < OUTPUT_CHUNK) return;
        out(pending);
        pending = '';
      };
      // The head goes out with the first session (or at the end), once the inputs have opened.
      const writer = new JsonDocumentWriter(version);
      let head = writer.head();
      const begin = (): string => {
        const text = head;
        head = '';
        return text;
      };
      // Each session is stringified as it ends; the texts (not the records) wait for their turn.
      const inOrder = new InOrder<string | null>((text) => {
        if (text !== null) outBatched(begin() + writer.place(text));
      });
      const { inputs } = await analyse(files, options, {
        order: 'any',
        onSession: (session) => inOrder.put(sessionOrdinal(session.id), sessionText(session)),
        onUnselected: (session) => inOrder.put(sessionOrdinal(session.id), null),
      });
      await write(held.join('') + pending + begin() + writer.tail(inputs));
    });

  subcommand(program, 'stats', 'counts: sessions, statuses, reply codes, top senders, anomalies', {
    workers: true,
  }).action(async (files: string[], options: CommonOptions) => {
    const stats = new StatsAccumulator();
    // Counts do not depend on order: no session waits for an earlier one that stays open.
    await analyse(files, options, {
      hashMessages: false,
      order: 'any',
      onSession: (session) => stats.add(session),
    });
    await write(renderStats(stats.result(), { colour: stdoutColour(options) }));
  });

  subcommand(program, 'creds', 'AUTH attempts: user, password or challenge/response, outcome', {
    workers: true,
  })
    .option('--json', 'a JSON array of the attempts (secrets included)')
    .action(async (files: string[], options: CommonOptions & { json?: boolean }) => {
      // Only sessions with an AUTH attempt are kept, and only what the report reads of them.
      const selected: SessionRecord<MessageRecord>[] = [];
      // Messages are not read, except their top header block when --subject needs it.
      await analyse(
        files,
        { ...options, mime: options.subject !== undefined },
        {
          headersOnly: true,
          hashMessages: false,
          onSession: (session) => {
            if (session.auth.length > 0) selected.push({ ...session, transactions: [], anomalies: [] });
          },
        },
      );
      await write(
        options.json
          ? credsJson(selected)
          : renderCredsTable(selected, { colour: stdoutColour(options), showSecrets: options.showSecrets }),
      );
    });

  withCommonOptions(
    program
      .command('extract')
      .description('write each message as .eml, its attachments, index.json/.csv, optionally an mbox'),
  )
    .requiredOption('-o, --output <dir>', 'folder to write into (refused when not empty, unless --force)')
    .option('--mbox <file>', 'also write the messages to this mboxrd file')
    .option('--all', 'also rejected, aborted and incomplete messages (marked as such)')
    .option('--force', 'write into a non-empty folder, replace an existing mbox')
    .action(
      async (
        files: string[],
        options: CommonOptions & { output: string; mbox?: string; all?: boolean; force?: boolean },
      ) => {
        const selection: Selection = compileSelection(options);
        // Before the output folder is made (analyse checks again: it costs a few bytes read).
        await checkedInputs(files);
        const extractor = new Extractor({
          dir: options.output,
          mbox: options.mbox,
          all: options.all,
          force: options.force,
          filter: selection.transaction,
        });
        try {
          await analyse(files, options, {
            local: { messageSink: extractor.sinkFactory },
            // As each session ends: the extractor finds its messages' files by the transaction
            // objects its sinks were made for, which a record waiting for an earlier session
            // would not keep (past 64 they are serialised). The index is put in order at the end.
            order: 'end',
            onSession: (session) => extractor.addSession(session),
          });
        } finally {
          const written = extractor.close();
          if (extractor.unfiled > 0)
            process.stderr.write(
              `smtpcap: warning: ${plural(extractor.unfiled, 'message')} not written: no bytes kept for them\n`,
            );
          process.stderr.write(
            `smtpcap: wrote ${plural(written.messages, 'message')} and ${plural(written.attachments, 'attachment')} to ${escapeForTerminal(options.output)}\n`,
          );
        }
      },
    );

  return program;
}

/** Options that take no value: `smtpcap --no-color json x.pcap` means `smtpcap json --no-color x.pcap`. */
const FLAGS = new Set([
  '--color',
  '--no-color',
  '--strict',
  '--no-detect',
  '--show-secrets',
  '-q',
  '--quiet',
  '--no-mime',
]);

/** The command moved before the value-less options typed ahead of it (commander wants it first). */
function commandFirst(argv: string[], commands: readonly string[]): string[] {
  const [node, script, ...args] = argv;
  const at = args.findIndex((arg) => !FLAGS.has(arg));
  if (at <= 0 || !commands.includes(args[at])) return argv;
  return [node, script, args[at], ...args.slice(0, at), ...args.slice(at + 1)];
}

async function main(argv: string[]): Promise<number> {
  // A reader that stops early (`smtpcap json x | head`) is no error of ours: stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const program = buildProgram();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    await program.parseAsync(
      commandFirst(
        argv,
        program.commands.map((c) => c.name()),
      ),
    );
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
        return 0;
      return EXIT_USAGE;
    }
    if (err instanceof CaptureInputError || err instanceof ExtractError) {
      process.stderr.write(`smtpcap: ${escapeForTerminal(err.message)}\n`);
      return EXIT_INPUT_ERROR;
    }
    throw err;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `smtpcap: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 70;
  },
);
