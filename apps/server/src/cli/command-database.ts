import type { Sql } from 'postgres';
import { ConfigError, databaseUrl } from '../config-parsers.ts';
import { createDatabaseClient } from '../db/database-client.ts';

/** Where a one-shot command writes (the process's stdout/stderr, or a test's strings). */
export type CommandIo = { out: (s: string) => void; err: (s: string) => void };

export const processIo: CommandIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/**
 * The one connection a one-shot `cti-server` command works on, from DATABASE_URL in `env`; null when it
 * is missing or malformed, after printing `cti-server: configuration error: …` (the caller exits
 * EXIT_CONFIG). The caller ends it (`sql.end`).
 */
export function commandDatabase(env: NodeJS.ProcessEnv, io: CommandIo, applicationName: string): Sql | null {
  let url: string;
  try {
    url = databaseUrl(env, 'DATABASE_URL');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`cti-server: configuration error: ${err.message}\n`);
    return null;
  }
  return createDatabaseClient({ url, max: 1, connectTimeoutSeconds: 10, applicationName });
}
