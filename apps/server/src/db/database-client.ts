import postgres, { type Sql } from 'postgres';

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
}: DatabaseClientOptions): Sql {
  return postgres(url, {
    max,
    connect_timeout: connectTimeoutSeconds,
    backoff: (retries: number) => Math.min(0.02 * 2 ** retries, 0.5),
    onnotice: () => {},
    connection: {
      application_name: applicationName,
      ...(genericPlans ? { plan_cache_mode: 'force_generic_plan' } : {}),
    },
  });
}
