#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { type AnalyseOptions, analyseCaptures } from './analyse.js';
import { CaptureInputError } from './capture/errors.js';
import { formatWarning } from './capture/read-capture.js';
import type { MessageRecord } from './mail/message-record.js';
import { decideColour } from './report/colour.js';
import { escapeForTerminal } from './report/escape.js';
import { jsonDocument, ndjsonLine } from './report/json.js';
import { renderSessionsTable } from './report/session-table.js';
import { computeStats, renderStats } from './report/stats.js';
import { renderTranscript } from './report/transcript.js';
import type { DialogueEvent } from './smtp/dialogue.js';
import type { SessionRecord } from './smtp/records.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Exit codes: 0 success, 1 unreadable or non-capture input, 2 usage error. */
const EXIT_INPUT_ERROR = 1;
const EXIT_USAGE = 2;

interface CommonOptions {
  port?: number[];
  session?: string[];
  color?: boolean;
  quiet?: boolean;
}

type Session = SessionRecord<MessageRecord>;

function parsePort(value: string, previous: number[] | undefined): number[] {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CommanderError(EXIT_USAGE, 'smtpcap.invalidPort', `invalid port: ${value}`);
  }
  return [...(previous ?? []), port];
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new CommanderError(EXIT_USAGE, 'smtpcap.invalidCount', `invalid count: ${value}`);
  return n;
}

function withCommonOptions(command: Command): Command {
  return command
    .argument('<capture...>', 'pcap or pcapng files; - reads stdin')
    .option('-p, --port <port>', 'also read this port as SMTP (repeatable)', parsePort)
    .option('-s, --session <id>', 'only this session, e.g. S3 (repeatable)', collect)
    .option('--color', 'colour the output')
    .option('--no-color', 'never colour the output')
    .option('-q, --quiet', 'no warnings on stderr');
}

function stdoutColour(options: CommonOptions): boolean {
  return decideColour({ flag: options.color, env: process.env, stream: process.stdout });
}

function selected(sessions: Session[], options: CommonOptions): Session[] {
  const wanted = options.session;
  if (!wanted || wanted.length === 0) return sessions;
  const ids = new Set(wanted.map((id) => id.toUpperCase()));
  return sessions.filter((s) => ids.has(s.id));
}

async function analyse(files: string[], options: CommonOptions, extra: AnalyseOptions<MessageRecord> = {}) {
  const result = await analyseCaptures<MessageRecord>(files, { ports: options.port, ...extra });
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

  withCommonOptions(
    program.command('sessions', { isDefault: true }).description('table of sessions and their transactions'),
  ).action(async (files: string[], options: CommonOptions) => {
    const { sessions } = await analyse(files, options);
    await write(renderSessionsTable(selected(sessions, options), { colour: stdoutColour(options) }));
  });

  withCommonOptions(
    program
      .command('transcript')
      .description('the dialogue of each session, client and server in two colours'),
  )
    .option('--body-lines <n>', 'show at most N lines of each message body', parseCount)
    .action(async (files: string[], options: CommonOptions & { bodyLines?: number }) => {
      const events = new Map<string, DialogueEvent[]>();
      const wanted = options.session ? new Set(options.session.map((id) => id.toUpperCase())) : null;
      const dialogue = (id: string, event: DialogueEvent): void => {
        if (wanted && !wanted.has(id)) return;
        const list = events.get(id);
        if (list) list.push(event);
        else events.set(id, [event]);
      };
      const { sessions } = await analyse(files, options, { dialogue });
      const colour = stdoutColour(options);
      const parts = selected(sessions, options).map((session) =>
        renderTranscript(session, events.get(session.id) ?? [], { colour, bodyLines: options.bodyLines }),
      );
      await write(parts.join('\n'));
    });

  withCommonOptions(program.command('json').description('sessions as JSON (the schema is in the README)'))
    .option('--ndjson', 'one session per line, as each session ends')
    .action(async (files: string[], options: CommonOptions & { ndjson?: boolean }) => {
      if (options.ndjson) {
        const wanted = options.session ? new Set(options.session.map((id) => id.toUpperCase())) : null;
        const lines: string[] = [];
        await analyse(files, options, {
          onSession: (session) => {
            if (!wanted || wanted.has(session.id)) lines.push(ndjsonLine(session));
          },
        });
        await write(lines.join(''));
        return;
      }
      const { inputs, sessions } = await analyse(files, options);
      await write(jsonDocument(inputs, selected(sessions, options), version));
    });

  withCommonOptions(
    program.command('stats').description('counts: sessions, statuses, reply codes, top senders, anomalies'),
  ).action(async (files: string[], options: CommonOptions) => {
    const { sessions } = await analyse(files, options);
    await write(renderStats(computeStats(selected(sessions, options)), { colour: stdoutColour(options) }));
  });

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
      if (err.code.startsWith('smtpcap.')) process.stderr.write(`smtpcap: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof CaptureInputError) {
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
