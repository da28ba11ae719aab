import postgres, { type Sql } from 'postgres';
import { type ReplyDeadlineOptions, replyDeadlineSocket } from './reply-deadline-socket.ts';
import { textArrayType } from './text-array.ts';

export type DatabaseClientOptions = {
  url: string;
  max: number;
  connectTimeoutSeconds: number;
  applicationName?: string;
  /**
   * Plan each statement once per connection (`plan_cache_mode = force_generic_plan`) instead of for
   * every call. Only for statements whose best plan does not depend on their parameter values (see
   * createApp's `plannedSql`): planning the scans list's 8-table statement cost more Postgres CPU
   * (~1.5 ms) than running it (~0.9 ms).
   */
  genericPlans?: boolean;
  /**
   * Client-side reply deadline (reply-deadline-socket.ts): a connection that owes a reply and has
   * received nothing for this long is closed (its queries fail as a lost connection, the pool opens a
   * new one). Undefined: wait as long as TCP does. The server-side bounds below are separate choices.
   */
  replyTimeoutSeconds?: number;
  onSilentConnection?: ReplyDeadlineOptions['onSilent'];
  /**
   * The server cancels a statement running this long (`statement_timeout`, fails as `57014` on a live
   * connection). Below the reply deadline (e.g. 80 % of it), a slow but healthy statement is then
   * cancelled, not taken for silence, and its backend stops working for nobody. Undefined: none.
   */
  statementTimeoutMs?: number;
  /**
   * The server ends a transaction left idle this long (`idle_in_transaction_session_timeout`): the
   * transaction of a client that gave up on a silent connection, whose side of it the server never
   * sees closed, so its row locks are released. Undefined: never.
   */
  idleInTransactionTimeoutMs?: number;
};

/**
 * The server-side bounds that go with a reply deadline (createDatabaseClient's options): transactions
 * left idle as long as the deadline end, statements are cancelled at 80 % of it.
 *
 * @example createDatabaseClient({ url, max, connectTimeoutSeconds, replyTimeoutSeconds: 30, ...serverTimeoutsFor(30) })
 */
export function serverTimeoutsFor(
  replyTimeoutSeconds: number | undefined,
): Pick<DatabaseClientOptions, 'statementTimeoutMs' | 'idleInTransactionTimeoutMs'> {
  if (replyTimeoutSeconds === undefined) return {};
  const ms = replyTimeoutSeconds * 1000;
  return { statementTimeoutMs: Math.floor(ms * 0.8), idleInTransactionTimeoutMs: ms };
}

/**
 * The server's postgres.js pool. Reconnect backoff is short and capped (postgres.js defaults to up to
 * 20 s): during an outage a webhook should get its 503 within about a second, so the relay's own
 * backoff, not a request parked inside the server, decides when to try again. text[] and varchar[]
 * are read by text-array.ts: a NULL item is null (postgres.js alone reads it as 'NULL').
 *
 * @example const sql = createDatabaseClient({ url, max: 10, connectTimeoutSeconds: 5 });
 */
export function createDatabaseClient({
  url,
  max,
  connectTimeoutSeconds,
  applicationName = 'cti-server',
  genericPlans = false,
  replyTimeoutSeconds,
  onSilentConnection,
  statementTimeoutMs,
  idleInTransactionTimeoutMs,
}: DatabaseClientOptions): Sql {
  const deadlineMs = replyTimeoutSeconds === undefined ? undefined : replyTimeoutSeconds * 1000;
  return postgres(url, {
    // postgres.js documents `socket` (README "Custom socket"); its types lack it.
    ...(deadlineMs === undefined
      ? {}
      : { socket: replyDeadlineSocket({ replyTimeoutMs: deadlineMs, onSilent: onSilentConnection }) }),
    max,
    connect_timeout: connectTimeoutSeconds,
    backoff: (retries: number) => Math.min(0.02 * 2 ** retries, 0.5),
    onnotice: () => {},
    // A NULL item of a text[] or varchar[] read as null, not as the string 'NULL' (text-array.ts,
    // porsager/postgres#1124).
    types: { textArray: textArrayType },
    connection: {
      application_name: applicationName,
      // Shortest exact digits for every float8, whatever the database or role sets (a DBA's
      // extra_float_digits = 0 rounds to 15 digits: measurements would lose their last bits and the
      // export lines Postgres writes would differ from csv.ts's, csv-sql.ts).
      extra_float_digits: 1,
      ...(genericPlans ? { plan_cache_mode: 'force_generic_plan' } : {}),
      ...(idleInTransactionTimeoutMs === undefined
        ? {}
        : { idle_in_transaction_session_timeout: idleInTransactionTimeoutMs }),
      ...(statementTimeoutMs === undefined ? {} : { statement_timeout: statementTimeoutMs }),
    },
  });
}
