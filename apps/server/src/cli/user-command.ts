import { parseArgs } from 'node:util';
import { hashPassword } from '../auth/password-hash.ts';
import { checkPasswordPolicy } from '../auth/password-policy.ts';
import { ROLE_NAMES, type RoleName } from '../auth/roles.ts';
import { createUser, normalizeEmail } from '../auth/user-accounts.ts';
import { ConfigError, loadAuthConfig } from '../config.ts';
import { databaseUrl } from '../config-parsers.ts';
import { createDatabaseClient } from '../db/database-client.ts';
import { HttpError } from '../errors.ts';
import { EXIT_CONFIG, EXIT_USAGE, type ServerCommand } from './command.ts';
import { COMMAND_USAGE } from './command-usage.ts';
import { readPassword } from './read-password.ts';

const USAGE = COMMAND_USAGE.user;

/**
 * `cti-server user add`: creates an account from the command line — how the first admin comes to be.
 * The password passes the same policy as in the dashboard and is never taken from argv.
 */
export const userCommand: ServerCommand = {
  usage: USAGE,
  async run(args) {
    const [sub, ...rest] = args;
    let values: { email?: string; role?: string; name?: string };
    try {
      ({ values } = parseArgs({
        args: rest,
        options: { email: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' } },
      }));
    } catch (err) {
      console.error(`cti-server user: ${(err as Error).message}\nusage: cti-server ${USAGE}`);
      return EXIT_USAGE;
    }
    if (sub !== 'add' || !values.email || !values.role || !ROLE_NAMES.includes(values.role as RoleName)) {
      console.error(`usage: cti-server ${USAGE}`);
      return EXIT_USAGE;
    }
    let url: string;
    let auth: ReturnType<typeof loadAuthConfig>;
    try {
      url = databaseUrl(process.env, 'DATABASE_URL');
      auth = loadAuthConfig(process.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(`cti-server: configuration error: ${err.message}`);
      return EXIT_CONFIG;
    }
    const email = normalizeEmail(values.email);
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      console.error(`cti-server user add: --email ${JSON.stringify(values.email)} is not an email address`);
      return EXIT_USAGE;
    }
    let password: string;
    try {
      password = await readPassword();
    } catch (err) {
      console.error(`cti-server user add: ${(err as Error).message}`);
      return 1;
    }
    const problems = checkPasswordPolicy(password, email);
    if (problems.length > 0) {
      console.error(`cti-server user add: the password ${problems.map((p) => p.message).join('; ')}`);
      return 1;
    }
    const sql = createDatabaseClient({
      url,
      max: 1,
      connectTimeoutSeconds: 10,
      applicationName: 'cti-server user',
    });
    try {
      const passwordHash = await hashPassword(password, auth.scrypt);
      const id = await sql.begin((tx) =>
        createUser(tx, {
          email,
          fullName: values.name?.trim() || null,
          roles: [values.role as RoleName],
          passwordHash,
        }),
      );
      console.log(JSON.stringify({ created: id, email, role: values.role }));
      return 0;
    } catch (err) {
      if (err instanceof HttpError) {
        console.error(`cti-server user add: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      await sql.end({ timeout: 5 });
    }
  },
};
