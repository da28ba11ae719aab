#!/usr/bin/env node
// cti-db: apply or inspect migrations against DATABASE_URL. Exit 0 ok, 1 migration problem or
// database not current (status), 2 bad usage, missing setting or unreachable database.
import { runMigrateCommand } from './migrate-command.ts';
import { dropAllTestDatabases } from './testing.ts';

const USAGE = `usage: cti-db <command>
  migrate               apply pending migrations to DATABASE_URL (idempotent)
  status                list applied/pending migrations and problems; exit 1 unless current
  drop-test-databases   drop the cti_test_*/cti_tmpl_* databases made from CTI_TEST_DATABASE_URL's
                        base database (leftovers of crashed test runs; never while tests run)`;

type Command = () => Promise<number>;

const io = { out: (line: string) => console.log(line), err: (line: string) => console.error(line) };
const shared = (command: 'migrate' | 'status') => () =>
  runMigrateCommand(command, {
    env: process.env,
    io,
    program: 'cti-db',
    label: `cti-db ${command}`,
    applicationName: `cti-db ${command}`,
  });

const commands: Record<string, Command> = {
  migrate: shared('migrate'),
  status: shared('status'),
  'drop-test-databases': async () => {
    const dropped = await dropAllTestDatabases();
    console.log(
      `dropped ${dropped.length} test database(s)${dropped.length ? `: ${dropped.join(', ')}` : ''}`,
    );
    return 0;
  },
};

/** What is wrong with argv, in one line naming it; null when argv is one known command. */
function usageProblem(argv: string[]): string | null {
  const [name, ...rest] = argv;
  if (name!.startsWith('-')) return `unknown option ${JSON.stringify(name)}`;
  if (!Object.hasOwn(commands, name!)) return `unknown command ${JSON.stringify(name)}`;
  if (rest.length > 0) {
    const extra = rest[0]!;
    return `${extra.startsWith('-') ? 'unknown option' : 'unexpected argument'} ${JSON.stringify(extra)}`;
  }
  return null;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'help' || argv.some((a) => a === '--help' || a === '-h')) {
    console.log(USAGE);
    return 0;
  }
  if (argv.length === 0) {
    console.error(USAGE);
    return 2;
  }
  const problem = usageProblem(argv);
  if (problem) {
    console.error(`cti-db: ${problem}\n${USAGE}`);
    return 2;
  }
  const command = commands[argv[0]!]!;
  try {
    return await command();
  } catch (err) {
    console.error(`cti-db ${argv[0]}: ${(err as Error).message}`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
