import postgres, { type Sql } from 'postgres';
import { type ReplyDeadlineOptions, replyDeadlineSocket } from './reply-deadline-socket.ts';

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
   * new one). The server gets the same bound: it ends a transaction left idle this long (a client that
   * gave up on it: its locks are released) and cancels a statement running for 80 % of it, so a slow
   * but healthy query fails as `57014` on a live connection instead of being taken for silence.
   * Undefined: wait as long as TCP does.
   */
  replyTimeoutSeconds?: number;
  onSilentConnection?: ReplyDeadlineOptions['onSilent'];
};

/**
 * The server's postgres.js pool. Reconnect backoff is short and capped (postgres.js defaults to up to
 * 20 s): during an outage a webhook should get its 503 within about a second, so the relay's own
 * backoff, not a request parked inside the server, decides when to try again.
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
    connection: {
      application_name: applicationName,
      ...(genericPlans ? { plan_cache_mode: 'force_generic_plan' } : {}),
      ...(deadlineMs === undefined
        ? {}
        : {
            idle_in_transaction_session_timeout: deadlineMs,
            statement_timeout: Math.floor(deadlineMs * 0.8),
          }),
    },
  });
}
