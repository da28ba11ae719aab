import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameDifference } from '../frame-quality.ts';
import { toGray } from '../gray-image.ts';
import { createPhantomStream } from './phantom-stream.ts';

describe('createPhantomStream', () => {
  it('streams one animal: frames differ a little, labels move with the tissue, deterministic', () => {
    const stream = createPhantomStream({
      seed: 9,
      fps: 10,
      width: 320,
      height: 240,
      layout: 'crop',
      motionMm: 4,
    });
    const f0 = stream.next();
    const f1 = stream.next();
    const f30 = stream.next(30);
    assert.equal(f1.index, 1);
    assert.equal(f30.timestampMs, 3000);
    const small = frameDifference(toGray(f0.image), toGray(f1.image));
    const other = createPhantomStream({ seed: 10, width: 320, height: 240, layout: 'crop' }).next();
    const big = frameDifference(toGray(f0.image), toGray(other.image));
    assert.ok(small > 0.5 && small < big, `frame-to-frame ${small} vs other animal ${big}`);
    assert.ok(f0.labels.ribeyeBbox && f30.labels.ribeyeBbox);
    assert.notDeepEqual(f0.labels.ribeyeBbox, f30.labels.ribeyeBbox);
    const again = createPhantomStream({
      seed: 9,
      fps: 10,
      width: 320,
      height: 240,
      layout: 'crop',
      motionMm: 4,
    }).next(30);
    assert.deepEqual(again.image.data, f30.image.data);
  });

  it('paces frames and stops on abort', async () => {
    const stream = createPhantomStream({ seed: 2, fps: 50, width: 96, height: 64, layout: 'crop' });
    const ac = new AbortController();
    const seen: number[] = [];
    for await (const f of stream.frames({ signal: ac.signal })) {
      seen.push(f.index);
      if (seen.length === 3) ac.abort();
    }
    assert.deepEqual(seen, [0, 1, 2]);
    assert.throws(() => createPhantomStream({ seed: 1, fps: 0 }), /fps/);
  });
});
