import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@cti/testkit';
import { type Notifier, startWatchdog } from './systemd-notifier.ts';

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
