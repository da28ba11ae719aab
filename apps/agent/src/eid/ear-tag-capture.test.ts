import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { validateMeta } from '@cti/contracts';
import { createCaptureRig, H, synthetic, W } from '../test-support/capture-rig.ts';
import { createEarTagHolder } from './ear-tag-holder.ts';

// The tag in meta.json: the capture pipeline over a real outbox with the ear-tag holder on its clock.

const A = '982000123456789';
const B = '982000987654321';

function rigWithTags() {
  let rig: ReturnType<typeof createCaptureRig> | undefined;
  const holder = createEarTagHolder({
    windowMs: 120_000,
    now: () => rig!.now(),
    wallClock: () => new Date(Date.UTC(2025, 8, 9, 14, 18, 32) + rig!.now()),
  });
  rig = createCaptureRig({ earTags: holder });
  let n = 0;
  const capture = async () => {
    n += 1;
    rig!.push(synthetic(n));
    rig!.advance(10);
    const result = await rig!.pipeline.capture(rig!.now());
    assert.equal(result.status, 'captured', JSON.stringify(result));
    if (result.status !== 'captured') throw new Error('not captured');
    const stored = JSON.parse(readFileSync(rig!.outbox.spoolPath(result.captureId, 'meta.json'), 'utf8'));
    assert.ok(validateMeta(stored).ok);
    return stored as { animal?: { eid: string; read_at: string } };
  };
  return { rig, holder, capture };
}

describe('ear tags in captures', () => {
  test('a tag read before the press is in the committed meta.json; the next capture does not get it', async () => {
    const { rig, holder, capture } = rigWithTags();
    try {
      holder.offer(A);
      const readAt = new Date(Date.UTC(2025, 8, 9, 14, 18, 32) + rig.now()).toISOString();
      rig.advance(30_000);
      assert.deepEqual((await capture()).animal, { eid: A, read_at: readAt });
      rig.advance(2000);
      assert.equal(
        (await capture()).animal,
        undefined,
        "the previous animal's tag never lands on the next one",
      );
    } finally {
      rig.close();
    }
  });

  test('a read just outside the window is not stamped', async () => {
    const { rig, holder, capture } = rigWithTags();
    try {
      holder.offer(A);
      rig.advance(120_001 - 10);
      assert.equal((await capture()).animal, undefined);
    } finally {
      rig.close();
    }
  });

  test('two reads before one press: the capture carries the second', async () => {
    const { rig, holder, capture } = rigWithTags();
    try {
      holder.offer(A);
      rig.advance(4000);
      holder.offer(B);
      rig.advance(4000);
      assert.equal((await capture()).animal?.eid, B);
    } finally {
      rig.close();
    }
  });

  test('a refused capture keeps the tag for the retake', async () => {
    const { rig, holder, capture } = rigWithTags();
    try {
      holder.offer(A);
      rig.push(new Uint8Array(W * H).fill(3)); // probe lifted: refused as off_animal
      rig.advance(10);
      const refused = await rig.pipeline.capture(rig.now());
      assert.equal(refused.status, 'refused');
      rig.advance(1000);
      assert.equal((await capture()).animal?.eid, A);
    } finally {
      rig.close();
    }
  });

  test('no reader: no animal field, capture unaffected', async () => {
    const rig = createCaptureRig();
    try {
      rig.push(synthetic(7));
      rig.advance(10);
      const result = await rig.pipeline.capture(rig.now());
      assert.equal(result.status, 'captured');
      assert.equal(result.status === 'captured' && 'animal' in result.meta, false);
    } finally {
      rig.close();
    }
  });
});
