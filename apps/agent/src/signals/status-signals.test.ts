import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createManualTimers } from '../test-support/manual-timers.ts';
import type { Level } from '../trigger/button.ts';
import { createStatusSignals } from './status-signals.ts';

function recorder(timers: { now(): number }) {
  const writes: [number, Level][] = [];
  return { writes, write: (l: Level) => writes.push([timers.now(), l]) };
}

test('ready is steady on; captured winks off-on-off and returns to ready; buzzer beeps once', () => {
  const timers = createManualTimers(0);
  const led = recorder(timers);
  const buzzer = recorder(timers);
  const s = createStatusSignals({ led, buzzer, timers });
  s.start();
  timers.advance(5000);
  assert.deepEqual(led.writes, [[0, 1]]);
  s.show('capturing');
  timers.advance(200);
  s.show('captured');
  timers.advance(2000);
  assert.equal(s.current(), 'ready');
  assert.equal(led.writes.at(-1)![1], 1);
  assert.deepEqual(buzzer.writes, [
    [5200, 1],
    [5280, 0],
  ]);
});

test('refused flashes four times then falls back to the offline-backlog base pattern', () => {
  const timers = createManualTimers(0);
  const led = recorder(timers);
  const s = createStatusSignals({ led, timers });
  s.start();
  s.setBase('offline_backlog');
  s.show('refused');
  timers.advance(1300);
  const ons = led.writes.filter(([t, l]) => t > 0 && t < 1300 && l === 1).length;
  assert.equal(ons, 4);
  assert.equal(s.current(), 'offline_backlog');
  timers.advance(4000);
  // offline backlog: 150 ms blip every 2 s.
  const blips = led.writes.filter(([t, l]) => t >= 1300 && l === 1).length;
  assert.equal(blips, 2);
});

test('an ear tag read: two short LED blips and two short beeps, then back to ready', () => {
  const timers = createManualTimers(0);
  const led = recorder(timers);
  const buzzer = recorder(timers);
  const s = createStatusSignals({ led, buzzer, timers });
  s.start();
  timers.advance(1000);
  s.show('tag_read');
  assert.equal(s.current(), 'tag_read');
  timers.advance(1000);
  assert.deepEqual(led.writes, [
    [0, 1],
    [1000, 0], // the steady "ready" light goes off so the blips can be seen
    [1100, 1],
    [1160, 0],
    [1220, 1],
    [1280, 0],
    [1580, 1], // ready again
  ]);
  assert.deepEqual(buzzer.writes, [
    [1000, 1],
    [1040, 0],
    [1080, 1],
    [1120, 0],
  ]);
  assert.equal(s.current(), 'ready');
});
