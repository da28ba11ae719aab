import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@cti/testkit';
import { type Notifier, startupProgress, startWatchdog } from './systemd-notifier.ts';

// systemd itself cannot run here; the notifier is the seam (the spawned-service test in cli.test.ts
// covers the real systemd-notify binary against a notify socket).
function recordingNotifier(watchdogMs: number | null): Notifier & { sent: string[] } {
  const sent: string[] = [];
  return {
    enabled: true,
    watchdogMs,
    sent,
    send: (...assignments: string[]) => {
      sent.push(...assignments);
      return Promise.resolve();
    },
    sendSync: (...assignments: string[]) => {
      sent.push(assignments.join('\n'));
    },
  };
}

test('watchdog: pings every half period while healthy, withholds them while not, resumes after', async () => {
  const notifier = recordingNotifier(40);
  let health = { ok: true, reason: null as string | null };
  const withheld: (string | null)[] = [];
  const stop = startWatchdog({ notifier, healthy: () => health, onUnhealthy: (r) => withheld.push(r) });
  try {
    await waitFor(() => notifier.sent.length >= 3, { what: 'three pings while healthy' });
    assert.ok(notifier.sent.every((m) => m === 'WATCHDOG=1'));
    health = { ok: false, reason: 'no frames for 6 s' };
    const atUnhealthy = notifier.sent.length; // health is read at each tick: no ping can follow
    await waitFor(() => withheld.length >= 3, { what: 'three ticks while unhealthy' });
    assert.equal(notifier.sent.length, atUnhealthy, 'no ping while the capture loop is unhealthy');
    assert.ok(withheld.every((r) => r === 'no frames for 6 s'));
    health = { ok: true, reason: null };
    await waitFor(() => notifier.sent.length >= atUnhealthy + 3, { what: 'pings resume once healthy' });
  } finally {
    stop();
  }
  const stopped = notifier.sent.length;
  await sleep(60);
  assert.equal(notifier.sent.length, stopped, 'no ping after stop');
});

test('watchdog: without WATCHDOG_USEC nothing is scheduled', async () => {
  const notifier = recordingNotifier(null);
  let asked = 0;
  const stop = startWatchdog({
    notifier,
    healthy: () => {
      asked++;
      return { ok: true, reason: null };
    },
  });
  await sleep(50);
  stop();
  assert.equal(asked, 0);
  assert.deepEqual(notifier.sent, []);
});

test('start-up progress: extends the start timeout at once, then at most every interval, with what it does', () => {
  const notifier = recordingNotifier(null);
  let now = 1000;
  const progress = startupProgress({ notifier, intervalMs: 5000, extendMs: 60_000, now: () => now });
  progress({ done: 0, total: 900 });
  for (let done = 1; done <= 900; done++) {
    now += 20; // 20 ms a capture: 18 s in all
    progress({ done, total: 900 });
  }
  assert.deepEqual(
    notifier.sent.map((m) => m.split('\n')[1]?.replace(/ \(.*/, '')),
    [
      'STATUS=re-importing 0 of 900 captures',
      ...[250, 500, 750].map((n) => `STATUS=re-importing ${n} of 900 captures`),
    ],
  );
  assert.ok(notifier.sent.every((m) => m.startsWith('EXTEND_TIMEOUT_USEC=60000000\n')));
});

test('start-up progress: a failing systemd-notify is reported once and the work goes on', () => {
  const errors: unknown[] = [];
  const notifier = {
    ...recordingNotifier(null),
    sendSync: () => {
      throw new Error('spawn systemd-notify ENOENT');
    },
  };
  let now = 0;
  const progress = startupProgress({ notifier, now: () => (now += 10_000), onError: (e) => errors.push(e) });
  for (let done = 0; done < 5; done++) progress({ done, total: 5 });
  assert.equal(errors.length, 1);
});
