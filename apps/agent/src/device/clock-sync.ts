import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export type ClockStatus = {
  synced: boolean;
  /** 'timesyncd' (systemd-timesyncd's flag file), 'kernel' (timedatectl NTPSynchronized, i.e. adjtimex
   *  STA_UNSYNC clear: chrony or ntpd), 'unsynchronized', or 'unknown' (no way to tell here). */
  source: 'timesyncd' | 'kernel' | 'unsynchronized' | 'unknown';
};

export type ClockSyncOptions = {
  /** systemd-timesyncd touches this file once it has synchronised since boot. */
  flagFile?: string;
  /** Returns timedatectl's NTPSynchronized value ('yes'/'no'), or null when timedatectl cannot answer. */
  queryTimedatectl?: () => Promise<string | null>;
  refreshMs?: number;
};

function timedatectl(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      'timedatectl',
      ['show', '--property=NTPSynchronized', '--value'],
      { timeout: 3000 },
      (err, stdout) => resolve(err ? null : stdout.trim()),
    );
  });
}

/**
 * Whether the wall clock was NTP-synchronised, for meta.json's `clock.synced` (a Pi has no RTC and
 * boots with a stale clock). The flag file is checked on every capture (one stat); the timedatectl
 * query runs in the background every `refreshMs`, never on the capture path.
 */
export function createClockSyncMonitor(options: ClockSyncOptions = {}) {
  const {
    flagFile = '/run/systemd/timesync/synchronized',
    queryTimedatectl = timedatectl,
    refreshMs = 30_000,
  } = options;
  let kernel: ClockStatus = { synced: false, source: 'unknown' };
  let timer: NodeJS.Timeout | null = null;

  const refresh = async (): Promise<ClockStatus> => {
    const value = await queryTimedatectl();
    kernel =
      value === 'yes'
        ? { synced: true, source: 'kernel' }
        : value === 'no'
          ? { synced: false, source: 'unsynchronized' }
          : { synced: false, source: 'unknown' };
    return current();
  };
  const current = (): ClockStatus => (existsSync(flagFile) ? { synced: true, source: 'timesyncd' } : kernel);

  return {
    current,
    refresh,
    async start() {
      await refresh();
      timer ??= setInterval(() => void refresh(), refreshMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

export type ClockSyncMonitor = ReturnType<typeof createClockSyncMonitor>;
