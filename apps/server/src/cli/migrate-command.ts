import { runMigrateCommand } from '@cti/db';
import { ConfigError, secretSetting } from '../config-parsers.ts';
import { EXIT_USAGE, type ServerCommand } from './command.ts';
import { COMMAND_USAGE } from './command-usage.ts';

/**
 * `cti-server migrate [status]`: `cti-db migrate|status` inside the server image, whose entrypoint runs
 * only `cti-server` (review r22 F2) — the one-off job `docker compose run --rm server migrate`. Same
 * output and exit codes as cti-db: 0 ok / current, 1 a refused or failed migration / not current,
 * 2 bad usage, DATABASE_URL or CTI_MIGRATE_LOCK_TIMEOUT_MS missing or malformed, database unreachable.
 */
export const migrateCommand: ServerCommand = {
  usage: COMMAND_USAGE.migrate,
  async run(args) {
    const status = args.length === 1 && (args[0] === 'status' || args[0] === '--status');
    if (args.length > 0 && !status) {
      console.error(
        `cti-server migrate: unexpected arguments ${JSON.stringify(args.join(' '))}\nusage: cti-server ${COMMAND_USAGE.migrate}`,
      );
      return EXIT_USAGE;
    }
    const label = status ? 'cti-server migrate status' : 'cti-server migrate';
    // DATABASE_URL_FILE as serve and worker take it (a compose/Kubernetes secret), handed on as
    // DATABASE_URL: the one-off job runs with the same secrets as the services.
    let env: NodeJS.ProcessEnv;
    try {
      const { value } = secretSetting(process.env, 'DATABASE_URL');
      env = { ...process.env, DATABASE_URL: value };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(`cti-server: ${err.message}`);
      return EXIT_USAGE;
    }
    return runMigrateCommand(status ? 'status' : 'migrate', {
      env,
      io: { out: (line) => console.log(line), err: (line) => console.error(line) },
      program: 'cti-server',
      label,
      applicationName: label,
    });
  },
};
