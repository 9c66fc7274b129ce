#!/usr/bin/env node
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { type AnalyseOptions, type AnalysisResult, analyseCaptures } from './analyse.js';
import { CaptureInputError } from './capture/errors.js';
import { formatWarning } from './capture/read-capture.js';
import { ExtractError, Extractor } from './mail/extractor.js';
import { createMessageParserSink } from './mail/message-parser-sink.js';
import type { MessageRecord } from './mail/message-record.js';
import { analyseInParallel, defaultWorkers } from './parallel.js';
import { decideColour } from './report/colour.js';
import { escapeForTerminal } from './report/escape.js';
import {
  compileSelection,
  parseTime,
  type Selection,
  type SelectionOptions,
  textMatcher,
} from './report/filter.js';
import { jsonDocument, ndjsonLine } from './report/json.js';
import { ProgressBar, type ProgressFigures } from './report/progress.js';
import { renderSessionsTable } from './report/session-table.js';
import { computeStats, renderStats } from './report/stats.js';
import { renderTranscript } from './report/transcript.js';
import type { DialogueEvent } from './smtp/dialogue.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Exit codes: 0 success, 1 unreadable or non-capture input, 2 usage error. */
const EXIT_INPUT_ERROR = 1;
const EXIT_USAGE = 2;

interface CommonOptions extends SelectionOptions {
  port?: number[];
  color?: boolean;
  quiet?: boolean;
  /** False with --no-mime: messages are hashed, not parsed. */
  mime?: boolean;
  workers?: number;
}

function usageError(message: string): CommanderError {
  return new CommanderError(EXIT_USAGE, 'smtpcap.usage', message);
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
  return command
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
    .option('-q, --quiet', 'no warnings on stderr');
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw usageError(`invalid worker count: ${value}`);
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
    'threads to spread connections over (default: one per core, fewer for small inputs)',
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

/** The thread count: as asked, else by input size; stdin is read once, so by one thread. */
function workerCount(files: string[], asked: number | undefined, bytes: number | null): number {
  if (files.includes('-')) return 1;
  if (asked !== undefined) return asked;
  return bytes === null ? 1 : defaultWorkers(bytes);
}

function stdoutColour(options: CommonOptions): boolean {
  return decideColour({ flag: options.color, env: process.env, stream: process.stdout });
}

async function analyse(files: string[], options: CommonOptions, extra?: AnalyseOptions<MessageRecord>) {
  const mime = options.mime !== false;
  const bytes = inputBytes(files);
  const bar = !options.quiet && process.stderr.isTTY && bytes !== null ? new ProgressBar(bytes) : null;
  const onProgress = bar ? (figures: ProgressFigures) => bar.update(figures) : undefined;
  let result: AnalysisResult<MessageRecord>;
  try {
    // Callbacks (dialogue, streaming, extraction) stay on this thread; whole records may not.
    result = extra
      ? await analyseCaptures<MessageRecord>(files, {
          ports: options.port,
          messageSink: mime ? createMessageParserSink() : undefined,
          onProgress,
          ...extra,
        })
      : await analyseInParallel(files, {
          ports: options.port,
          mime,
          workers: workerCount(files, options.workers, bytes),
          onProgress,
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
  return result;
}

function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

function buildProgram(): Command {
  const program = new Command('smtpcap')
    .description('Everything that happened over SMTP in packet captures: sessions, mails, credentials.')
    .version(version)
    .showHelpAfterError()
    .exitOverride();

  subcommand(program, 'sessions', 'table of sessions and their transactions', {
    isDefault: true,
    workers: true,
  }).action(async (files: string[], options: CommonOptions) => {
    const { sessions } = await analyse(files, options);
    const selection = compileSelection(options);
    await write(renderSessionsTable(sessions.filter(selection.session), { colour: stdoutColour(options) }));
  });

  subcommand(program, 'transcript', 'the dialogue of each session, client and server in two colours')
    .option('--body-lines <n>', 'show at most N lines of each message body', parseCount)
    .action(async (files: string[], options: CommonOptions & { bodyLines?: number }) => {
      const events = new Map<string, DialogueEvent[]>();
      const ids = options.session ? new Set(options.session.map((id) => id.toUpperCase())) : null;
      const dialogue = (id: string, event: DialogueEvent): void => {
        if (ids && !ids.has(id)) return;
        const list = events.get(id);
        if (list) list.push(event);
        else events.set(id, [event]);
      };
      const { sessions } = await analyse(files, options, { dialogue });
      const colour = stdoutColour(options);
      const parts = sessions
        .filter(compileSelection(options).session)
        .map((session) =>
          renderTranscript(session, events.get(session.id) ?? [], { colour, bodyLines: options.bodyLines }),
        );
      await write(parts.join('\n'));
    });

  subcommand(program, 'json', 'sessions as JSON (the schema is in the README)', { workers: true })
    .option('--ndjson', 'one session per line, as each session ends (read by one thread)')
    .action(async (files: string[], options: CommonOptions & { ndjson?: boolean }) => {
      const selection = compileSelection(options);
      if (options.ndjson) {
        const lines: string[] = [];
        await analyse(files, options, {
          onSession: (session) => {
            if (selection.session(session)) lines.push(ndjsonLine(session));
          },
        });
        await write(lines.join(''));
        return;
      }
      const { inputs, sessions } = await analyse(files, options);
      await write(jsonDocument(inputs, sessions.filter(selection.session), version));
    });

  subcommand(program, 'stats', 'counts: sessions, statuses, reply codes, top senders, anomalies', {
    workers: true,
  }).action(async (files: string[], options: CommonOptions) => {
    const { sessions } = await analyse(files, options);
    const selected = sessions.filter(compileSelection(options).session);
    await write(renderStats(computeStats(selected), { colour: stdoutColour(options) }));
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
        const extractor = new Extractor({
          dir: options.output,
          mbox: options.mbox,
          all: options.all,
          force: options.force,
          filter: selection.transaction,
        });
        try {
          await analyse(files, options, {
            messageSink: extractor.sinkFactory,
            onSession: (session) => extractor.addSession(session),
          });
        } finally {
          const written = extractor.close();
          const attachments = written.reduce((n, m) => n + m.attachments.length, 0);
          process.stderr.write(
            `smtpcap: wrote ${written.length} message${written.length === 1 ? '' : 's'} and ${attachments} attachment${attachments === 1 ? '' : 's'} to ${escapeForTerminal(options.output)}\n`,
          );
        }
      },
    );

  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
        return 0;
      if (err.code === 'smtpcap.usage') process.stderr.write(`smtpcap: ${err.message}\n`);
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
