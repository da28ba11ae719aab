#!/usr/bin/env node
import type { ServerCommand } from './cli/command.ts';
import { EXIT_USAGE } from './cli/command.ts';
import { serveCommand } from './cli/serve-command.ts';
import { userCommand } from './cli/user-command.ts';
import { exportLabelsCommand } from './corrections/export-labels-command.ts';
import { deviceCommand } from './devices/device-command.ts';
import { calibrationCommand } from './grading/calibration-command.ts';
import { regradeCommand } from './grading/regrade-command.ts';
import { workerCommand } from './grading/worker-command.ts';

/** Every sub-command, one file each under src/cli/ (or its feature folder). */
const commands: Record<string, ServerCommand> = {
  serve: serveCommand,
  device: deviceCommand,
  user: userCommand,
  worker: workerCommand,
  regrade: regradeCommand,
  calibration: calibrationCommand,
  'export-labels': exportLabelsCommand,
};

const usage = () =>
  `usage: cti-server <command> [options]\n\n${Object.values(commands)
    .map((c) => `  ${c.usage}`)
    .join('\n')}\nConfiguration comes from the environment; see apps/server/README.md.`;

async function main(argv: string[]): Promise<number | undefined> {
  const [name = 'serve', ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    console.error(`cti-server: unknown command ${JSON.stringify(argv.join(' '))}\n${usage()}`);
    return EXIT_USAGE;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    console.error('cti-server: failed to start:', err);
    process.exit(1);
  },
);
