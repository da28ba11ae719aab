import { execFile, execFileSync } from 'node:child_process';

export type Notifier = {
  /** True when running under systemd with a notify socket. */
  enabled: boolean;
  /** Watchdog period systemd expects (WATCHDOG_USEC), or null. */
  watchdogMs: number | null;
  send(...assignments: string[]): Promise<void>;
  /** The same, waiting for systemd-notify: for work that holds the event loop (the re-import at start). */
  sendSync(...assignments: string[]): void;
};

/**
 * sd_notify through the `systemd-notify` binary: Node cannot send on a unix datagram socket. The unit
 * sets NotifyAccess=all because the message comes from that child process; systemd-notify waits until
 * the manager has processed the message (BARRIER), so attribution to our cgroup is not racy.
 */
export function createSystemdNotifier({
  env = process.env,
  binary = 'systemd-notify',
}: {
  env?: NodeJS.ProcessEnv;
  binary?: string;
} = {}): Notifier {
  const socket = env.NOTIFY_SOCKET;
  const usec = Number(env.WATCHDOG_USEC);
  const pidOk = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
  return {
    enabled: Boolean(socket),
    watchdogMs: socket && pidOk && usec > 0 ? usec / 1000 : null,
    send(...assignments) {
      if (!socket) return Promise.resolve();
      return new Promise((resolve, reject) => {
        execFile(binary, assignments, { env: { ...env, NOTIFY_SOCKET: socket }, timeout: 5000 }, (err) =>
          err ? reject(err) : resolve(),
        );
      });
    },
    sendSync(...assignments) {
      if (!socket) return;
      execFileSync(binary, assignments, {
        env: { ...env, NOTIFY_SOCKET: socket },
        timeout: 5000,
        stdio: 'ignore',
      });
    },
  };
}

/**
 * Keeps systemd from killing a start that is making progress: the unit is Type=notify with
 * TimeoutStartSec=90, and a new outbox database re-imports the spool before READY=1, reading and
 * hashing every file (a large backlog on an SD card takes longer than that; review r8 F1). The returned
 * function, called with each capture done, sends at once and then every `intervalMs`
 * `EXTEND_TIMEOUT_USEC` (each extends the start by `extendMs` from now) and a `STATUS=` line saying
 * what the agent does. Synchronous, because the re-import holds the event loop. A failed send is
 * reported once to `onError` and does not stop the work.
 */
export function startupProgress({
  notifier,
  intervalMs = 5_000,
  extendMs = 60_000,
  now = () => performance.now(),
  onError,
}: {
  notifier: Notifier;
  intervalMs?: number;
  extendMs?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}): (progress: { done: number; total: number }) => void {
  let last = Number.NEGATIVE_INFINITY;
  let failed = false;
  return ({ done, total }) => {
    if (!notifier.enabled || failed || now() - last < intervalMs) return;
    last = now();
    try {
      notifier.sendSync(
        `EXTEND_TIMEOUT_USEC=${extendMs * 1000}`,
        `STATUS=re-importing ${done} of ${total} captures (a new outbox database; the spool files are checked)`,
      );
    } catch (err) {
      failed = true;
      onError?.(err);
    }
  };
}

/**
 * Pings WATCHDOG=1 every half period, but only while `healthy()` says the capture loop works: a
 * wedged probe link or stuck event loop then lets systemd restart the service (Restart=always).
 */
export function startWatchdog({
  notifier,
  healthy,
  onUnhealthy,
}: {
  notifier: Notifier;
  healthy: () => { ok: boolean; reason: string | null };
  onUnhealthy?: (reason: string | null) => void;
}): () => void {
  if (notifier.watchdogMs === null) return () => {};
  const timer = setInterval(() => {
    const h = healthy();
    if (h.ok) notifier.send('WATCHDOG=1').catch(() => {});
    else onUnhealthy?.(h.reason);
  }, notifier.watchdogMs / 2);
  return () => clearInterval(timer);
}
