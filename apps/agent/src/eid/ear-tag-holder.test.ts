import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Logger, silentLogger } from '@cti/runtime';
import { createEarTagHolder } from './ear-tag-holder.ts';

const A = '982000123456789';
const B = '982000987654321';

function rig(windowMs = 120_000) {
  let mono = 1_000_000;
  const lines: string[] = [];
  const log = {
    ...silentLogger(),
    info: (_o: unknown, m: string) => lines.push(m),
    warn: (_o: unknown, m: string) => lines.push(m),
  } as unknown as Logger;
  const holder = createEarTagHolder({
    windowMs,
    now: () => mono,
    wallClock: () => new Date(Date.UTC(2026, 11, 5) + mono),
    log,
  });
  return { holder, lines, advance: (ms: number) => (mono += ms), now: () => mono };
}

describe('the tag waiting for the next capture', () => {
  test('a read within the window goes to the press, with its read time; a capture consumes it', () => {
    const r = rig();
    assert.equal(r.holder.offer(A), 'new');
    const readAt = r.now();
    r.advance(119_999);
    const tag = r.holder.forPress(r.now());
    assert.equal(tag?.eid, A);
    assert.deepEqual(tag?.readAt, new Date(Date.UTC(2026, 11, 5) + readAt));
    r.holder.consume(tag!);
    assert.equal(r.holder.forPress(r.now()), null, 'the next capture gets no tag: it is another animal');
  });

  test('a read just outside the window is not stamped and is dropped, with a log line', () => {
    const r = rig();
    r.holder.offer(A);
    r.advance(120_001);
    assert.equal(r.holder.forPress(r.now()), null);
    assert.match(
      r.lines.at(-1)!,
      /read 120 s before the press, outside the 120 s window: not stamped, dropped/,
    );
    assert.equal(r.holder.status().pending, null, 'dropped: no later press can get it');
  });

  test('two reads before one press: the second wins, the replacement is logged', () => {
    const r = rig();
    r.holder.offer(A);
    r.advance(5000);
    assert.equal(r.holder.offer(B), 'replaced');
    assert.match(r.lines.at(-1)!, new RegExp(`ear tag ${B} replaces unused tag ${A}`));
    r.advance(1000);
    assert.equal(r.holder.forPress(r.now())?.eid, B);
  });

  test('the same tag read again refreshes its read time without a replacement', () => {
    const r = rig();
    r.holder.offer(A);
    r.advance(100_000);
    assert.equal(r.holder.offer(A), 'repeat');
    r.advance(100_000);
    assert.equal(r.holder.forPress(r.now())?.eid, A, 'within the window of the latest read');
    assert.ok(!r.lines.some((l) => l.includes('replaces')));
  });

  test('a tag read after the press belongs to the next press; consuming an outdated read keeps the new one', () => {
    const r = rig();
    r.holder.offer(A);
    const first = r.holder.forPress(r.now());
    const pressAt = r.now();
    r.advance(500);
    r.holder.offer(B); // read while the first capture is still being written
    assert.equal(r.holder.forPress(pressAt), null, 'B was read after this press');
    r.holder.consume(first!); // A's capture commits: B must survive
    assert.equal(r.holder.forPress(r.now())?.eid, B);
  });

  test('status: reads, last read, the pending tag', () => {
    const r = rig();
    assert.deepEqual(r.holder.status(), { reads: 0, last_read_at: null, pending: null });
    r.holder.offer(A);
    r.holder.offer(A);
    assert.equal(r.holder.status().reads, 2);
    assert.equal(r.holder.status().pending?.eid, A);
  });
});
