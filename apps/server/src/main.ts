#!/usr/bin/env node
import type { ServerCommand } from './cli/command.ts';
import { EXIT_USAGE } from './cli/command.ts';
import { COMMAND_USAGE, type CommandName } from './cli/command-usage.ts';

/**
 * Every sub-command, one file each under src/cli/ (or its feature folder), imported only when it runs:
 * `cti-server worker` never loads the dashboard's pages (hono/jsx, markdown-it, the page modules) and
 * `cti-server serve` never loads onnxruntime and the models. `--help` needs only the usage lines.
 */
const commands: Record<CommandName, () => Promise<ServerCommand>> = {
  serve: async () => (await import('./cli/serve-command.ts')).serveCommand,
  migrate: async () => (await import('./cli/migrate-command.ts')).migrateCommand,
  device: async () => (await import('./devices/device-command.ts')).deviceCommand,
  farm: async () => (await import('./cli/farm-command.ts')).farmCommand,
  user: async () => (await import('./cli/user-command.ts')).userCommand,
  worker: async () => (await import('./grading/worker-command.ts')).workerCommand,
  regrade: async () => (await import('./grading/regrade-command.ts')).regradeCommand,
  calibration: async () => (await import('./grading/calibration-command.ts')).calibrationCommand,
  'export-labels': async () => (await import('./corrections/export-labels-command.ts')).exportLabelsCommand,
};

const usage = () =>
  `usage: cti-server <command> [options]\n\n${Object.values(COMMAND_USAGE)
    .map((line) => `  ${line}`)
    .join('\n')}\nConfiguration comes from the environment; see apps/server/README.md.`;

async function main(argv: string[]): Promise<number | undefined> {
  const [name = 'serve', ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  if (!Object.hasOwn(commands, name)) {
    console.error(`cti-server: unknown command ${JSON.stringify(argv.join(' '))}\n${usage()}`);
    return EXIT_USAGE;
  }
  const command = await commands[name as CommandName]();
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  async (err: unknown) => {
    const command = process.argv[2] ?? 'serve';
    // HOST/PORT (CTI_WORKER_HOST/_PORT) unusable: one line naming them (http-server.ts ListenError).
    // Checked first: a host that does not resolve fails with ENOTFOUND, a code the database shares.
    if ((err as { code?: unknown } | null)?.code === 'listen_failed') {
      console.error(`cti-server ${command}: ${(err as Error).message}`);
      process.exit(1);
    }
    // The database unreachable or not migrated: one line saying so, not a driver stack trace.
    const { describeDatabaseFailure } = await import('./db/database-errors.ts');
    const described = describeDatabaseFailure(err);
    if (described) console.error(`cti-server ${command}: ${described}`);
    else console.error('cti-server: failed to start:', err);
    process.exit(1);
  },
);
