import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SCAN_ASPECT, MIN_SCAN_SIDE, scanShapeProblem } from './scan-shape.ts';

test('scanShapeProblem: scanner screens, crops and square frames are scans', () => {
  for (const [w, h] of [
    [940, 720],
    [309, 213],
    [32, 32],
    [1920, 540],
    [MIN_SCAN_SIDE * MAX_SCAN_ASPECT, MIN_SCAN_SIDE],
    [MIN_SCAN_SIDE, MIN_SCAN_SIDE * MAX_SCAN_ASPECT],
  ] as const)
    assert.equal(scanShapeProblem(w, h), null, `${w}×${h}`);
});

test('scanShapeProblem: a side under 32 px or a sliver longer than 8:1 is named', () => {
  assert.equal(scanShapeProblem(31, 500), 'under 32 px on a side, too small to be a scan');
  assert.equal(scanShapeProblem(7, 5), 'under 32 px on a side, too small to be a scan');
  assert.equal(
    scanShapeProblem(32, 4000),
    '125:1, a sliver: a scan is at most 8 times as long as it is wide',
  );
  assert.equal(
    scanShapeProblem(4000, 32),
    '125:1, a sliver: a scan is at most 8 times as long as it is wide',
  );
  assert.equal(
    scanShapeProblem(33, 2000),
    '60.6:1, a sliver: a scan is at most 8 times as long as it is wide',
  );
  assert.equal(
    scanShapeProblem(32, 257),
    '8.03:1, a sliver: a scan is at most 8 times as long as it is wide',
  );
});
