import { execFile } from 'node:child_process';

export type Notifier = {
  /** True when running under systemd with a notify socket. */
  enabled: boolean;
  /** Watchdog period systemd expects (WATCHDOG_USEC), or null. */
  watchdogMs: number | null;
  send(...assignments: string[]): Promise<void>;
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
