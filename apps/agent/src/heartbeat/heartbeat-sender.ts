import { type DeviceSecret, type HeartbeatBody, signDeviceRequest } from '@cti/contracts';
import { type Logger, silentLogger } from '@cti/runtime';

export type HeartbeatAttempt = {
  at: string;
  accepted: boolean;
  /** The server's HTTP status; null when it was not reached (offline, DNS, timeout). */
  http_status: number | null;
  /** Why it was not accepted: the server's error code and message, or the network error. */
  error: string | null;
  ms: number;
};

export type HeartbeatSenderOptions = {
  url: string;
  intervalMs: number;
  timeoutMs: number;
  secret: DeviceSecret;
  /** Builds the heartbeat now, with the clock offset measured on the last accepted one. */
  body: (ctx: { clockOffsetMs: number | null }) => HeartbeatBody;
  fetch?: typeof fetch;
  /** Wall clock, ms since the epoch. */
  wallClock?: () => number;
  /**
   * A clock that never steps (ms): what a Retry-After wait is measured on. The wall clock may be put
   * back by hours when NTP corrects a Pi's clock, which would stretch the wait by as much.
   */
  monotonicClock?: () => number;
  log?: Logger;
};

type ServerAnswer = { accepted?: boolean; server_time_ms?: number; error?: string; message?: string };

/**
 * Sends a signed heartbeat on start and every `intervalMs`. Fire and forget: no queue, no retry — an
 * attempt that fails (offline, server down, refused) is dropped, and the next one, built afresh,
 * carries the current state. An attempt still in flight when the next is due makes that one skip.
 * A server that answers 429 or 503 with Retry-After (a device over the server's heartbeat rate, a
 * database away) is left alone until then: attempts due meanwhile are `deferred`, not sent.
 * Each accepted answer carries the server's time; the midpoint of the round trip gives this device's
 * clock offset (NTP-style), reported in the next heartbeat.
 */
export function createHeartbeatSender({
  url,
  intervalMs,
  timeoutMs,
  secret,
  body,
  fetch: fetchImpl = fetch,
  wallClock = Date.now,
  monotonicClock = () => performance.now(),
  log = silentLogger(),
}: HeartbeatSenderOptions) {
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  let last: HeartbeatAttempt | null = null;
  let lastAcceptedAt: string | null = null;
  let clockOffsetMs: number | null = null;
  const counts = { sent: 0, accepted: 0, failed: 0, skipped: 0, deferred: 0 };
  /** Monotonic-clock ms before which no attempt is sent (the server's Retry-After); null: none. */
  let notBefore: number | null = null;
  let failuresInARow = 0;

  const record = (attempt: HeartbeatAttempt) => {
    const previous = last;
    last = attempt;
    if (attempt.accepted) {
      counts.accepted += 1;
      lastAcceptedAt = attempt.at;
      if (failuresInARow > 0) log.info({ after: failuresInARow }, 'heartbeat accepted again');
      failuresInARow = 0;
      return;
    }
    counts.failed += 1;
    failuresInARow += 1;
    // Once per change of reason, then hourly at a one-minute interval: offline Pis must not flood journald.
    if (previous?.error !== attempt.error || failuresInARow % 60 === 1) {
      log.warn(
        { url, status: attempt.http_status, error: attempt.error, failuresInARow },
        'heartbeat not accepted',
      );
    }
  };

  const attempt = async () => {
    const started = wallClock();
    const payload = JSON.stringify(body({ clockOffsetMs }));
    const headers = signDeviceRequest({
      body: payload,
      deviceCode: secret.deviceCode,
      privateKey: secret.privateKey,
      timestamp: Math.floor(started / 1000),
    });
    counts.sent += 1;
    const at = new Date(started).toISOString();
    try {
      const res = await fetchImpl(url, {
        method: 'POST',
        body: payload,
        headers: { ...headers, 'content-type': 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      const answer = (await res.json().catch(() => ({}))) as ServerAnswer;
      const ended = wallClock();
      if (res.ok && answer.accepted === true) {
        if (typeof answer.server_time_ms === 'number')
          clockOffsetMs = Math.round((started + ended) / 2 - answer.server_time_ms);
        record({ at, accepted: true, http_status: res.status, error: null, ms: ended - started });
      } else {
        const wait = retryAfterMs(res);
        if (wait !== null) notBefore = monotonicClock() + wait;
        const error = answer.error ? `${answer.error}: ${answer.message ?? ''}`.trim() : `HTTP ${res.status}`;
        record({ at, accepted: false, http_status: res.status, error, ms: ended - started });
      }
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason =
        e.name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message);
      record({
        at,
        accepted: false,
        http_status: null,
        error: `network: ${reason}`,
        ms: wallClock() - started,
      });
    }
  };

  const tick = () => {
    if (inFlight) {
      counts.skipped += 1;
      return;
    }
    if (notBefore !== null && monotonicClock() < notBefore) {
      counts.deferred += 1;
      return;
    }
    notBefore = null;
    inFlight = attempt().finally(() => {
      inFlight = null;
    });
  };

  return {
    start() {
      if (timer) return;
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    /** Stops the timer and waits for an attempt in flight (bounded by its timeout). */
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await inFlight;
    },
    /** One heartbeat now (tests, `doctor`); resolves when it was answered or failed. */
    async sendNow() {
      tick();
      await inFlight;
    },
    status: () => ({
      enabled: true,
      url,
      interval_s: intervalMs / 1000,
      key: secret.fingerprint,
      last,
      last_accepted_at: lastAcceptedAt,
      clock_offset_ms: clockOffsetMs,
      deferred_until:
        notBefore === null ? null : new Date(wallClock() + notBefore - monotonicClock()).toISOString(),
      ...counts,
    }),
  };
}

export type HeartbeatSender = ReturnType<typeof createHeartbeatSender>;

/** A 429/503's Retry-After in ms (whole seconds, at most an hour); null when absent or not a number. */
function retryAfterMs(res: Response): number | null {
  if (res.status !== 429 && res.status !== 503) return null;
  const value = res.headers.get('retry-after')?.trim() ?? '';
  if (!/^\d{1,9}$/.test(value)) return null;
  return Math.min(Number(value), 3600) * 1000;
}
