import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createManualTimers } from '../test-support/manual-timers.ts';
import { createButton, type Level } from './button.ts';

// A fake line: the one thing that cannot exist here is a GPIO interrupt, so edges are injected.
function rig(opts: { lockoutMs?: number; longPressMs?: number } = {}) {
  const timers = createManualTimers(1000);
  let level: Level = 1; // pull-up: idle high, pressed low
  const button = createButton({ pressedLevel: 0, readLevel: () => level, debounceMs: 30, timers, ...opts });
  const presses: number[] = [];
  let longs = 0;
  button.onPress((at) => presses.push(at));
  button.onLongPress(() => {
    longs += 1;
  });
  const set = (l: Level) => {
    level = l;
    button.edge();
  };
  return { timers, button, presses, longs: () => longs, set };
}

describe('button debounce, lockout and long press', () => {
  test('a bouncing press fires once, timed from its first edge', () => {
    const r = rig();
    r.set(0);
    r.timers.advance(2);
    r.set(1);
    r.timers.advance(3);
    r.set(0);
    r.timers.advance(100);
    assert.deepEqual(r.presses, [1000]);
    r.set(1);
    r.timers.advance(100);
    assert.equal(r.button.isPressed(), false);
  });

  test('a spike shorter than the debounce time (level back before the re-check) is ignored', () => {
    const r = rig();
    r.set(0);
    r.timers.advance(5);
    r.set(1);
    r.timers.advance(100);
    assert.deepEqual(r.presses, []);
    assert.equal(r.button.stats().bounces, 1);
  });

  test('a second press inside the lockout is ignored, one after it counts', () => {
    const r = rig({ lockoutMs: 1500 });
    r.set(0);
    r.timers.advance(100);
    r.set(1);
    r.timers.advance(300);
    r.set(0);
    r.timers.advance(100);
    r.set(1);
    r.timers.advance(1500);
    r.set(0);
    r.timers.advance(100);
    assert.deepEqual(r.presses, [1000, 3000]);
    assert.equal(r.button.stats().lockedOut, 1);
  });

  test('holding past the long-press time fires the second action once; a short press does not', () => {
    const r = rig({ longPressMs: 3000, lockoutMs: 0 });
    r.set(0);
    r.timers.advance(500);
    r.set(1);
    r.timers.advance(4000);
    assert.equal(r.longs(), 0);
    r.set(0);
    r.timers.advance(3100);
    assert.equal(r.longs(), 1);
    r.timers.advance(10_000);
    assert.equal(r.longs(), 1);
    assert.equal(r.presses.length, 2);
  });

  test('a release bounce during a long hold cancels nothing if the line settles pressed', () => {
    const r = rig({ longPressMs: 1000, lockoutMs: 0 });
    r.set(0);
    r.timers.advance(400);
    r.set(1);
    r.timers.advance(5);
    r.set(0);
    r.timers.advance(1000);
    assert.equal(r.longs(), 1);
    assert.equal(r.presses.length, 1);
  });
});
