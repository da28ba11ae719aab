import { type ParseArgsConfig, parseArgs } from 'node:util';
import { isValidDeviceCode } from '@cti/contracts';
import { startsWithCalendarDate } from '@cti/runtime';
import type { Sql } from 'postgres';
import { EXIT_CONFIG, EXIT_USAGE, type ServerCommand } from '../cli/command.ts';
import { ConfigError, databaseUrl } from '../config-parsers.ts';
import { createDatabaseClient } from '../db/database-client.ts';

/** A bad command line: printed with the usage, exit 2. */
export class UsageError extends Error {}

/** The request cannot be carried out (an unknown device…): printed, exit 1. */
export class CommandError extends Error {}

/** A command's `--options` (strict: an unknown or malformed one is a UsageError). */
export function parseOptions(
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args, strict: true, options }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `--device`: a device code as the agent's device_code (`Pi 5` or '' is a UsageError, not an unknown device). */
export function parseDeviceCode(text: string): string {
  if (!isValidDeviceCode(text)) {
    throw new UsageError(
      `--device ${JSON.stringify(text)} is not a device code (1-63 of a-z 0-9 _ -, as in the agent's device_code)`,
    );
  }
  return text;
}

/** A date-time without a zone (`2025-09-01T12:00`, `…12:00:30.5`, a space for the T). */
const ZONELESS_DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;

/**
 * `--since`: a date or an ISO instant, UTC unless it says otherwise; anything else is a UsageError.
 * `new Date` reads a date-time without a zone in the process's time zone (TZ) — a date alone as UTC —
 * so a zoneless one is given its `Z` here: the same text selects the same window on every host.
 */
export function parseSince(text: string): Date {
  const date = new Date(ZONELESS_DATE_TIME.test(text) ? `${text.slice(0, 10)}T${text.slice(11)}Z` : text);
  if (!startsWithCalendarDate(text) || Number.isNaN(date.getTime())) {
    throw new UsageError(
      `--since ${JSON.stringify(text)} is not a date such as 2025-09-01 or 2025-09-01T12:00:00Z`,
    );
  }
  return date;
}

/**
 * A one-shot `cti-server` command on the database (regrade, calibration): parses its arguments (a
 * UsageError exits 2 with the usage), reads DATABASE_URL (exit 78 naming it), runs on one connection,
 * prints the lines it returns (a CommandError exits 1 with its message) and closes the connection.
 *
 * @example export const regradeCommand = databaseCommand({ name: 'regrade', usage, parse, run });
 */
export function databaseCommand<T>({
  name,
  usage,
  parse,
  run,
}: {
  name: string;
  usage: string;
  parse: (args: string[]) => T;
  run: (sql: Sql, request: T) => Promise<string[]>;
}): ServerCommand {
  return {
    usage,
    async run(args) {
      let request: T;
      let url: string;
      try {
        request = parse(args);
        url = databaseUrl(process.env, 'DATABASE_URL');
      } catch (err) {
        if (err instanceof UsageError) {
          console.error(`cti-server ${name}: ${err.message}\nusage: cti-server ${usage}`);
          return EXIT_USAGE;
        }
        if (err instanceof ConfigError) {
          console.error(`cti-server ${name}: configuration error: ${err.message}`);
          return EXIT_CONFIG;
        }
        throw err;
      }
      const sql = createDatabaseClient({
        url,
        max: 1,
        connectTimeoutSeconds: 10,
        applicationName: `cti-server ${name}`,
      });
      try {
        for (const line of await run(sql, request)) console.log(line);
        return 0;
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        console.error(`cti-server ${name}: ${err.message}`);
        return 1;
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}
