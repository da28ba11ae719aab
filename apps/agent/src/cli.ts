#!/usr/bin/env node
import { parseCliArgs } from '@cti/contracts/cli-args';
import {
  captureCommand,
  doctorCommand,
  hintCommand,
  type Io,
  outboxCommand,
  statusCommand,
} from './cli/commands.ts';
import { OutcomeUnknownError, ServiceUnavailableError } from './cli/local-client.ts';
import { type AgentConfig, ConfigError, DEFAULT_CONFIG_PATH, loadConfig } from './config/agent-config.ts';
import { type AgentEnvFile, DEFAULT_AGENT_ENV_FILE, loadAgentEnvFile } from './config/agent-env-file.ts';
import { OutboxDbError, OutboxMissingError, outboxUsage } from './outbox/index.ts';
import { invokingUser } from './startup/data-dir.ts';
import { StartupError } from './startup/startup-errors.ts';
import { GpioUnavailableError } from './trigger/gpio-lines.ts';

const USAGE = `usage: cti-agent [--config <file>] <command>
  run                 run the capture service (systemd runs this)
  capture             take a capture through the running service (exit 0 taken, 3 refused,
                      2 service not running, 4 outcome unknown: check \`sudo cti-agent outbox list\`)
  status              probe, trigger, clock, disk and outbox summary
  doctor              check GPIO, probe, S3, disk, clock, config; each failure with a fix
  hint <image>        run the on-device ribeye hint on an image file, print JSON
  outbox <command>    list | show <id> | retry [<id>] | quarantine | export <id> <dir> | discard <id>
                      | downgrade
                      (see \`cti-agent outbox\`)
config: ${DEFAULT_CONFIG_PATH} unless --config or CTI_AGENT_CONFIG is given; every command but
  run also reads ${DEFAULT_AGENT_ENV_FILE} (S3 credentials, overrides) as the service gets it, unless
  CTI_AGENT_ENV_FILE names another (empty: none); variables already set win
`;

/** Commands that take nothing after their name (`--config` aside). */
const NO_ARGUMENTS = new Set(['run', 'capture', 'status', 'doctor']);

/** The request reached the service, which died or hung before answering (see OutcomeUnknownError). */
const EXIT_OUTCOME_UNKNOWN = 4;

/**
 * cti-agent's own options come before the command: `--config <file>` (also taken after the command, as
 * ever) and `-h`/`--help`. Any other option there is a usage error, reported before the config is read:
 * `cti-agent --x` with a bad config file said what was wrong with the file, not with the command line.
 * What follows the command is the command's (`outbox list --json`).
 */
function parse(argv: string[]): { configPath: string; command: string | undefined; rest: string[] } {
  const args = [...argv];
  let configPath = process.env.CTI_AGENT_CONFIG ?? DEFAULT_CONFIG_PATH;
  const i = args.indexOf('--config');
  if (i >= 0) {
    const value = args[i + 1];
    if (!value) throw new ConfigError('--config needs a file path');
    configPath = value;
    args.splice(i, 2);
  }
  const at = args.findIndex((arg) => !arg.startsWith('-'));
  const head = at < 0 ? args : args.slice(0, at);
  const { values } = parseCliArgs({
    args: head,
    options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const command = values.help ? 'help' : args[head.length];
  return { configPath: values.config ?? configPath, command, rest: args.slice(head.length + 1) };
}

export async function main(argv: string[], io: Io = process): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    if (!(err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw err;
    io.stderr.write(`cti-agent: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { configPath, command, rest } = parsed;
  if (!command || command === 'help') {
    io.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  // `status --x` ran the status as if nothing followed; a command that takes nothing says so, before
  // the config is read (as for an unknown option before the command).
  if (NO_ARGUMENTS.has(command) && rest.length > 0) {
    const what = rest[0]!.startsWith('-') ? 'option' : 'argument';
    io.stderr.write(
      `cti-agent: ${command} takes no arguments: unknown ${what} ${JSON.stringify(rest[0])}\n${USAGE}`,
    );
    return 2;
  }
  // The outbox's usage and help need neither the config nor the database (as the top-level --help).
  if (command === 'outbox') {
    const usage = outboxUsage(rest, io);
    if (usage !== null) return usage;
  }
  // The service gets agent.env from the unit's EnvironmentFile=; the other commands read it here, so
  // doctor checks the credentials and overrides the service uses (review r22 F7).
  const envFile = command === 'run' ? null : loadEnvFile();
  try {
    return await dispatch(loadConfig(configPath), command, rest, io, envFile);
  } catch (err) {
    if (!(err instanceof OutboxMissingError)) throw err;
    // Most often a typo in data_dir, or the wrong config: name where the path comes from.
    io.stderr.write(
      `cti-agent: ${err.message}. Fix: check data_dir in ${configPath} (or --config / CTI_AGENT_CONFIG); ` +
        'the service creates it at its first start\n',
    );
    return 1;
  }
}

/** agent.env (or CTI_AGENT_ENV_FILE's file; set but empty: none) into process.env, below what is set. */
function loadEnvFile(): AgentEnvFile | null {
  const path = process.env.CTI_AGENT_ENV_FILE ?? DEFAULT_AGENT_ENV_FILE;
  return path === '' ? null : loadAgentEnvFile(path, process.env, invokingUser());
}

async function dispatch(
  config: AgentConfig,
  command: string,
  rest: string[],
  io: Io,
  envFile: AgentEnvFile | null,
): Promise<number> {
  switch (command) {
    case 'run': {
      const { runAgent } = await import('./main.ts');
      try {
        await runAgent(config);
      } catch (err) {
        // runAgent stopped what it had started; should any handle still hold the event loop, the
        // process must not linger as a headless second agent: exit anyway once the error is printed.
        setTimeout(() => process.exit(process.exitCode ?? 1), 2000).unref();
        throw err;
      }
      return -1; // keeps running; exits through the shutdown handler
    }
    case 'capture':
      return captureCommand(config, io);
    case 'status':
      return statusCommand(config, io);
    case 'doctor':
      return doctorCommand(config, io, envFile);
    case 'hint':
      return hintCommand(config, rest[0], io);
    case 'outbox':
      return outboxCommand(config, rest, io);
    default:
      io.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

/** What a shell reports for a program killed by SIGPIPE (128 + 13). */
const EXIT_OUTPUT_CLOSED = 141;

/**
 * A reader that closed our output (`cti-agent outbox list | head`) ends the command quietly, as git
 * and coreutils do: they die of SIGPIPE at the next write, which shells report as 141 (git exits
 * 141 itself where it cannot). Node ignores SIGPIPE and raises EPIPE on the stream instead, which
 * was an unhandled 'error' with a stack; exiting 141 keeps `$?`, PIPESTATUS and `pipefail` as for
 * those tools. The error is emitted after the write's synchronous caller returned, so an outbox's
 * close (and the removal of a snapshot copy) has run by then. The service logs through pino's own
 * fd 1 destination, not these streams.
 */
function endOnClosedOutput(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(EXIT_OUTPUT_CLOSED);
  throw err;
}
process.stdout.on('error', endOnClosedOutput);
process.stderr.on('error', endOnClosedOutput);

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof OutcomeUnknownError) {
      process.stderr.write(`cti-agent: ${err.message}\n`);
      process.exitCode = EXIT_OUTCOME_UNKNOWN;
      return;
    }
    const known =
      err instanceof ConfigError ||
      err instanceof ServiceUnavailableError ||
      err instanceof GpioUnavailableError;
    // A damaged outbox database, or a start-up refused for a named reason (another owner, a read-only
    // data_dir, the port taken), is a message with its fix (exit 1), not a stack trace.
    const described = known || err instanceof OutboxDbError || err instanceof StartupError;
    process.stderr.write(
      `cti-agent: ${described ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`,
    );
    process.exitCode = known ? 2 : 1;
  },
);
