/**
 * Whether a request whose signature was not verified may still write its ingestion_log row: a token
 * bucket of `perMinute` rows, refilled continuously (`perMinute` / 60 per second) and holding at most
 * `perMinute`, so a burst of a minute's worth is logged in full and a flood costs at most `perMinute`
 * rows a minute. The webhook must be reachable from the internet (the Lambda calls it); anyone can send
 * it requests without a secret, and one row each would let them grow the table at the rate they send
 * (review r21 F4). Per process, on the injected clock.
 *
 * @example const gate = createUnverifiedLogGate({ perMinute: 60, clock: Date.now }); if (gate.take()) write(row);
 */
export function createUnverifiedLogGate({ perMinute, clock }: { perMinute: number; clock: () => number }) {
  let tokens = perMinute;
  let at = clock();
  return {
    /** True when a row may be written now (and takes its token). */
    take(): boolean {
      const now = clock();
      // A clock that steps back refills nothing and charges nothing: the next reading starts from it.
      tokens = Math.min(perMinute, tokens + (Math.max(0, now - at) * perMinute) / 60_000);
      at = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
