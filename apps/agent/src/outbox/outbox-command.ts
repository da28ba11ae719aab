import type { Outbox } from './outbox.ts';
import { OutboxSalvageError } from './outbox-salvage.ts';
import type { OutboxCapture } from './outbox-types.ts';

export interface OutboxCommandIo {
  outbox: Outbox;
  stdout: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
}

const USAGE = `usage: cti-agent outbox <command>
  list [--state pending|uploaded|quarantined|discarded] [--limit N] [--json]   captures, oldest first
  show <capture_id> [--json]                              one capture and its objects
  retry [<capture_id>]                                    requeue quarantined capture(s), retry now
  quarantine [--json]                                     quarantined captures with reasons
  export <capture_id> <dir> [--json]                      copy its files (checked against their sha256) to <dir>/<capture_id>/
  discard <capture_id> [--reason TEXT] [--force] [--delete-files]
                                                          give a quarantined capture up (--force: a pending one);
                                                          its files go to spool/discarded/ unless --delete-files
  downgrade                                               convert the outbox to schema v1 for an older agent
                                                          (service stopped; before installing the older package)
`;
const STATES = ['pending', 'uploaded', 'quarantined', 'discarded'];

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

function captureLine(c: OutboxCapture): string {
  const discarded =
    c.state === 'discarded'
      ? `  discarded ${iso(c.discardedAt)}${c.discardReason ? `: ${c.discardReason}` : ''};`
      : '';
  const reason = `${discarded}${c.quarantineReason ? `  ${c.quarantineReason}` : ''}`;
  return `${c.captureId}  ${c.state.padEnd(11)}  committed ${iso(c.committedAt)}  captured ${c.capturedAt}${reason}\n`;
}

/**
 * Refuses what a sub-command does not take: an unknown option (`--jsno`), an option without its value
 * (`--state` at the end, or followed by another option), a second positional. They were ignored: a
 * typo listed everything with exit 0.
 */
function checkArgs(
  argv: string[],
  { values = [], flags = [], positionals = 0 }: { values?: string[]; flags?: string[]; positionals?: number },
): void {
  let seen = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (values.includes(arg)) {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      i++;
    } else if (arg.startsWith('-')) {
      if (!flags.includes(arg)) throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    } else if (++seen > positionals) {
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    }
  }
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function list(argv: string[], { outbox, stdout }: OutboxCommandIo): number {
  checkArgs(argv, { values: ['--state', '--limit'], flags: ['--json'] });
  const state = flag(argv, '--state') ?? null;
  if (state !== null && !STATES.includes(state)) {
    throw new UsageError(
      `--state must be pending, uploaded, quarantined or discarded, got ${JSON.stringify(state)}`,
    );
  }
  const limit = Number(flag(argv, '--limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
  const rows = outbox.list({ state: state as OutboxCapture['state'] | null, limit });
  if (argv.includes('--json')) stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else for (const row of rows) stdout.write(captureLine(row));
  return 0;
}

function show(argv: string[], { outbox, stdout }: OutboxCommandIo): number {
  checkArgs(argv, { flags: ['--json'], positionals: 1 });
  const id = argv.find((a) => !a.startsWith('--'));
  if (!id) throw new UsageError('show needs a capture id');
  const detail = outbox.show(id);
  if (!detail) throw new UsageError(`no capture ${id} in the outbox`, 1);
  if (argv.includes('--json')) {
    stdout.write(`${JSON.stringify(detail, null, 2)}\n`);
    return 0;
  }
  stdout.write(captureLine(detail));
  if (detail.state === 'discarded') stdout.write(`  files: ${detail.discardedDir ?? 'deleted'}\n`);
  for (const o of detail.objects) {
    const error = o.lastError ? `  last error ${iso(o.lastErrorAt)}: ${o.lastError}` : '';
    stdout.write(
      `  ${o.name.padEnd(12)} ${o.state.padEnd(11)} ${o.sizeBytes} B  attempts ${o.attempts}  ${o.key}${error}\n`,
    );
  }
  return 0;
}

function retry(argv: string[], { outbox, stdout }: OutboxCommandIo): number {
  checkArgs(argv, { positionals: 1 });
  const id = argv.find((a) => !a.startsWith('--'));
  if (id !== undefined && !outbox.show(id)) throw new UsageError(`no capture ${id} in the outbox`, 1);
  const requeued = outbox.retry(id);
  stdout.write(`${requeued} quarantined capture(s) requeued\n`);
  return 0;
}

function quarantine(argv: string[], { outbox, stdout }: OutboxCommandIo): number {
  checkArgs(argv, { flags: ['--json'] });
  const rows = outbox.quarantined();
  if (argv.includes('--json')) stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) stdout.write('no quarantined captures\n');
  else for (const row of rows) stdout.write(captureLine(row));
  return 0;
}

function exportCommand(argv: string[], { outbox, stdout }: OutboxCommandIo): number {
  checkArgs(argv, { flags: ['--json'], positionals: 2 });
  const [id, dir] = argv.filter((a) => !a.startsWith('--'));
  if (!id || !dir) throw new UsageError('export needs a capture id and a directory');
  const result = outbox.exportCapture(id, dir);
  if (argv.includes('--json')) {
    stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  for (const f of result.files) {
    const check =
      f.check === 'ok'
        ? 'ok (sha256 as recorded at capture)'
        : f.check === 'missing'
          ? 'MISSING from the spool'
          : `CHANGED since capture: sha256 ${f.sha256}, expected ${f.expectedSha256}`;
    stdout.write(`  ${f.name.padEnd(12)} ${f.sizeBytes ?? '-'} B  ${check}\n`);
  }
  stdout.write(`exported to ${result.target} (with outbox-record.json)\n`);
  return 0;
}

function discard(argv: string[], { outbox, stdout }: OutboxCommandIo): number {
  checkArgs(argv, { values: ['--reason'], flags: ['--force', '--delete-files'], positionals: 1 });
  const reasonAt = argv.indexOf('--reason');
  const id = argv.find((a, i) => !a.startsWith('--') && (reasonAt < 0 || i !== reasonAt + 1));
  if (!id) throw new UsageError('discard needs a capture id');
  const { capture, filesAt } = outbox.discard(id, {
    reason: flag(argv, '--reason') ?? null,
    force: argv.includes('--force'),
    deleteFiles: argv.includes('--delete-files'),
  });
  stdout.write(captureLine(capture));
  stdout.write(
    filesAt
      ? `its files are in ${filesAt}: delete them when no longer needed\n`
      : 'its files were deleted (or there were none)\n',
  );
  return 0;
}

class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

const commands = { list, show, retry, quarantine, export: exportCommand, discard };

/**
 * Answers `cti-agent outbox` without a sub-command it can run — none, `help`/`--help`/`-h` (also after a
 * sub-command), an unknown one — with the usage and returns the exit code (0 help, 2 usage); null when
 * argv names a sub-command to run.
 * The CLI asks first, so the usage never waits on (or reports) a missing outbox database.
 */
export function outboxUsage(argv: string[], io: Pick<OutboxCommandIo, 'stdout' | 'stderr'>): number | null {
  const [name] = argv;
  const help = (arg: string | undefined) => arg === 'help' || arg === '--help' || arg === '-h';
  // `outbox --help`, and `outbox list --help` as well: the usage, never a look for the database.
  if (help(name) || argv.slice(1).some((arg) => arg === '--help' || arg === '-h')) {
    io.stdout.write(USAGE);
    return 0;
  }
  // downgrade is the CLI's own (cli/commands.ts): it takes the owner lock instead of opening an outbox.
  if (name !== undefined && (Object.hasOwn(commands, name) || name === 'downgrade')) return null;
  (io.stderr ?? io.stdout).write(name ? `unknown outbox command ${JSON.stringify(name)}\n${USAGE}` : USAGE);
  return 2;
}

/**
 * Implements `cti-agent outbox list|show|retry|quarantine|export|discard` on an open outbox; returns
 * the exit code (0 ok, 1 not found, 2 usage). The CLI opens the outbox with `owner: false`.
 *
 * @example
 * process.exitCode = runOutboxCommand(argv.slice(1), { outbox, stdout: process.stdout, stderr: process.stderr });
 */
export function runOutboxCommand(argv: string[], io: OutboxCommandIo): number {
  const [name, ...rest] = argv;
  const command = commands[name as keyof typeof commands];
  const stderr = io.stderr ?? io.stdout;
  const early = outboxUsage(argv, { stdout: io.stdout, stderr });
  if (early !== null) return early;
  if (!command) {
    // downgrade: not on an open outbox (it takes the owner lock and converts the file itself).
    stderr.write(`outbox ${name} is run by \`cti-agent outbox ${name}\`, not on an open outbox\n`);
    return 2;
  }
  try {
    return command(rest, io);
  } catch (error) {
    if (error instanceof OutboxSalvageError) {
      stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    if (!(error instanceof UsageError)) throw error;
    stderr.write(`${error.message}\n${error.exitCode === 2 ? USAGE : ''}`);
    return error.exitCode;
  }
}
