import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRetryingOutput, type OpenedOutput } from '../signals/retrying-output.ts';
import { createManualTimers } from '../test-support/manual-timers.ts';
import { createStatusLine, statusText } from './status-line.ts';
import type { Notifier } from './systemd-notifier.ts';

// The real retried outputs (LED, buzzer) on a manual clock, their lines a fake `open` whose writes fail
// while the test says so (onoff's writeSync throwing EIO); systemd is a notifier that records what it
// was sent (the spawned agents in cli-signal-output-down.test.ts and cli-button-down.test.ts send it
// through the real systemd-notify to a notify socket).

const EIO = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });

function output(name: 'LED' | 'buzzer', timers: ReturnType<typeof createManualTimers>) {
  const line = { broken: false };
  const open = async (): Promise<OpenedOutput> => {
    if (line.broken) throw EIO;
    return {
      write() {
        if (line.broken) throw EIO;
      },
      close() {},
    };
  };
  const out = createRetryingOutput({ name, open, timers, random: () => 0.5 });
  return { out, line, watched: { name, state: out.state, onStateChange: out.onStateChange } };
}

/** A notifier whose sends wait until the test lets them through (`hold`), as a slow systemd-notify. */
function recordingNotifier() {
  const sent: string[][] = [];
  let held: Array<() => void> | null = null;
  const notifier: Notifier = {
    enabled: true,
    watchdogMs: null,
    send: (...assignments) => {
      sent.push(assignments);
      if (!held) return Promise.resolve();
      const queue = held;
      return new Promise((resolve) => queue.push(resolve));
    },
    sendSync: () => {},
  };
  return {
    notifier,
    sent,
    hold: () => {
      held = [];
    },
    release: () => {
      const queue = held ?? [];
      held = null;
      for (const resolve of queue) resolve();
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('status text names every line that is down', () => {
  assert.equal(statusText('serial', []), 'capturing from serial');
  assert.equal(statusText('serial', ['LED']), 'capturing from serial (LED down: retrying)');
  assert.equal(
    statusText('folder', ['capture button', 'buzzer']),
    'capturing from folder (capture button and buzzer down: retrying)',
  );
  assert.equal(
    statusText('serial', ['capture button', 'LED', 'buzzer']),
    'capturing from serial (capture button, LED and buzzer down: retrying)',
  );
});

test('the status line follows an output going down and coming back, once per change, and says nothing after stop', async () => {
  const timers = createManualTimers();
  const led = output('LED', timers);
  const buzzer = output('buzzer', timers);
  buzzer.line.broken = true; // cannot be opened at start-up
  await led.out.start();
  await buzzer.out.start();
  const systemd = recordingNotifier();
  const line = createStatusLine({
    notifier: systemd.notifier,
    source: 'serial',
    lines: [led.watched, buzzer.watched],
  });
  await line.ready();
  assert.deepEqual(systemd.sent, [['READY=1', 'STATUS=capturing from serial (buzzer down: retrying)']]);

  led.line.broken = true;
  led.out.write(1); // the failed write takes the LED down
  led.out.write(0); // still down: no change, no message
  await settle();
  assert.deepEqual(systemd.sent.slice(1), [['STATUS=capturing from serial (LED and buzzer down: retrying)']]);
  timers.advance(10_000); // failed retries of both: no change, no message
  await settle();
  assert.equal(systemd.sent.length, 2);

  buzzer.line.broken = false;
  timers.advance(60_000);
  await settle();
  led.line.broken = false;
  timers.advance(60_000);
  await settle();
  assert.deepEqual(systemd.sent.slice(2), [
    ['STATUS=capturing from serial (LED down: retrying)'],
    ['STATUS=capturing from serial'],
  ]);
  assert.equal(line.current(), 'capturing from serial');

  line.stop();
  led.line.broken = true;
  led.out.write(1);
  await settle();
  assert.equal(systemd.sent.length, 4, 'nothing after stop');
  led.out.close();
  buzzer.out.close();
});

test('changes while systemd-notify runs are folded into one message saying the state after them, in order', async () => {
  const timers = createManualTimers();
  const led = output('LED', timers);
  const buzzer = output('buzzer', timers);
  await led.out.start();
  await buzzer.out.start();
  const systemd = recordingNotifier();
  const line = createStatusLine({
    notifier: systemd.notifier,
    source: 'serial',
    lines: [led.watched, buzzer.watched],
  });
  await line.ready();

  systemd.hold();
  led.line.broken = true;
  led.out.write(1); // sent at once, and held
  buzzer.line.broken = true;
  buzzer.out.write(1); // both while the first message is out: not sent yet
  led.line.broken = false;
  timers.advance(60_000); // the LED back
  await settle();
  assert.deepEqual(systemd.sent.slice(1), [['STATUS=capturing from serial (LED down: retrying)']]);
  systemd.release();
  await settle();
  assert.deepEqual(systemd.sent.slice(2), [['STATUS=capturing from serial (buzzer down: retrying)']]);
  await settle();
  assert.equal(systemd.sent.length, 3, 'one message for the three changes');
  line.stop();
  led.out.close();
  buzzer.out.close();
});
