import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generatePhantom, type PhantomKind, toGray } from '@cti/imaging';
import { silentLogger } from '@cti/runtime';
import { resolveConfig } from '../config/agent-config.ts';
import { createCaptureRig, H, W } from '../test-support/capture-rig.ts';
import { type Hint, loadHint } from './hint.ts';
import { checkView } from './quality-gate.ts';

// The real hint model and its view verdict on phantom frames of the generator: a transverse ribeye
// view and a longitudinal backfat view over the ribs (the commonest wrong view at the chute).
let hint: Hint;
before(async () => {
  const loaded = await loadHint({ log: silentLogger() });
  assert.ok(loaded, 'the committed hint model loads');
  hint = loaded;
});
after(async () => {
  await hint.close?.();
});

const frame = (kind: PhantomKind, seed: number) =>
  toGray(generatePhantom({ seed, kind, width: W, height: H, channels: 1 }).image).data;

describe('view gate (hint enabled)', () => {
  test('a longitudinal backfat view is refused as not_a_ribeye_view, nothing committed', async () => {
    const rig = createCaptureRig({ hint });
    try {
      rig.push(frame('backfat_longitudinal', 8));
      const result = await rig.pipeline.capture(rig.now());
      assert.equal(result.status, 'refused');
      if (result.status !== 'refused') return;
      assert.equal(result.reason, 'not_a_ribeye_view');
      assert.ok(result.ribeyeView !== undefined && result.ribeyeView < 0.5, `${result.ribeyeView}`);
      // The threshold printed is the view card's (ribeye-view 3.3.0: 0.5, see the models README).
      assert.match(result.message, /^not a ribeye view \(ribeye_view 0\.\d\d < 0\.\d\d.*\): .*probe/);
      assert.deepEqual(rig.outbox.summary().pendingCaptures, 0);
    } finally {
      rig.close();
    }
  });

  test('a ribeye view is captured and its verdict reported', async () => {
    const rig = createCaptureRig({ hint });
    try {
      rig.push(frame('ribeye', 3));
      const result = await rig.pipeline.capture(rig.now());
      assert.equal(result.status, 'captured', result.status === 'refused' ? result.message : '');
      if (result.status !== 'captured') return;
      assert.ok(result.ribeyeView !== undefined && result.ribeyeView >= 0.5);
      assert.ok(result.meta.inference_summary, 'the hint box is in meta.json');
    } finally {
      rig.close();
    }
  });

  test('capture.quality_gate.min_ribeye_view overrides the verdict threshold; a disabled gate lets it through', async () => {
    const strict = createCaptureRig({ hint, gate: { min_ribeye_view: 1 } });
    const lax = createCaptureRig({ hint, gate: { min_ribeye_view: 0 } });
    const off = createCaptureRig({ hint, gate: { enabled: false } });
    try {
      strict.push(frame('ribeye', 3));
      const s = await strict.pipeline.capture(strict.now());
      assert.equal(s.status === 'refused' && s.reason, 'not_a_ribeye_view');
      assert.match(s.status === 'refused' ? s.message : '', /< 1\.00\)/);
      for (const rig of [lax, off]) {
        rig.push(frame('backfat_longitudinal', 8));
        assert.equal((await rig.pipeline.capture(rig.now())).status, 'captured');
      }
    } finally {
      for (const rig of [strict, lax, off]) rig.close();
    }
  });

  test('the message says what to do for the verdict’s first specific reason', () => {
    const gate = resolveConfig({
      device_code: 'dev-0001',
      source: { kind: 'simulated' },
      upload: { bucket: 'cti-test' },
    }).capture.qualityGate;
    const view = (reasons: string[]) => ({
      ribeyeView: 0.1,
      accepted: false,
      threshold: 0.5,
      reasons,
      model: 'v',
    });
    const msg = (reasons: string[]) => {
      const v = checkView(view(reasons), gate);
      return v.ok ? '' : v.message;
    };
    assert.match(msg(['not_a_ribeye_view', 'ribeye_cut_off']), /: ribeye_cut_off\): slide the probe/);
    assert.match(msg(['not_a_ribeye_view', 'longitudinal_view']), /turn the probe across the back/);
    assert.match(msg(['not_a_ribeye_view']), /\): re-position the probe/);
    assert.deepEqual(checkView(null, gate), { ok: true });
  });
});
