import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Frame } from '../frames/frame-source.ts';
import { createFrameRing } from './frame-ring.ts';

const frame = (seq: number, receivedAt: number): Frame => ({
  seq,
  receivedAt,
  width: 2,
  height: 1,
  gray: new Uint8Array(2),
  acquisition: {},
  origin: 'test',
});

test('frames older than ringMs leave the ring and are released at once when nobody holds them', () => {
  const released: number[] = [];
  const ring = createFrameRing({ ringMs: 100, onRelease: (f) => released.push(f.seq) });
  for (let i = 0; i < 5; i++) ring.push(frame(i, i * 40));
  // at 160 ms the horizon is 60 ms: frames at 0 and 40 ms are gone
  assert.deepEqual(released, [0, 1]);
  assert.deepEqual(
    ring.between(0, 1000).map((f) => f.seq),
    [2, 3, 4],
  );
});

test('a held frame is released only after its last hold ends, and only if it has left the ring', () => {
  const released: number[] = [];
  const ring = createFrameRing({ ringMs: 100, onRelease: (f) => released.push(f.seq) });
  const kept = frame(0, 0);
  ring.push(kept);
  ring.hold(kept);
  ring.hold(kept);
  ring.release(kept); // still in the ring and still held once
  for (let i = 1; i < 5; i++) ring.push(frame(i, i * 40));
  assert.deepEqual(released, [1], 'frame 0 left the ring but is held');
  ring.release(kept);
  assert.deepEqual(released, [1, 0]);
  const live = ring.latest()!;
  ring.hold(live);
  ring.release(live);
  assert.deepEqual(released, [1, 0], 'a frame still in the ring is not released by its holder');
});

test('the count bound applies too (a source flooding frames with one timestamp)', () => {
  const released: number[] = [];
  const ring = createFrameRing({ ringMs: 2000, maxFrames: 3, onRelease: (f) => released.push(f.seq) });
  for (let i = 0; i < 5; i++) ring.push(frame(i, 0));
  assert.equal(ring.size(), 3);
  assert.deepEqual(released, [0, 1]);
});
