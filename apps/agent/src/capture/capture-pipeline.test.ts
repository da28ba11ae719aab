import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isValidCaptureId, validateMeta } from '@cti/contracts';
import { decodeGray } from '@cti/imaging';
import sharp from 'sharp';
import { createCaptureRig, H, synthetic, W } from '../test-support/capture-rig.ts';
import { createCaptureIdGenerator } from './capture-id.ts';

const blurred = (n: number) => {
  const src = synthetic(n);
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++)
    out[i] = Math.round(((src[i - 1] ?? src[i]!) + src[i]! + (src[i + 1] ?? src[i]!)) / 3);
  return out;
};

describe('capture pipeline: press → committed outbox entry', () => {
  test('the sharpest frame of the window is committed with a valid meta.json and exact bytes', async () => {
    const rig = createCaptureRig();
    try {
      rig.push(blurred(1));
      rig.advance(60);
      const sharpFrame = rig.push(synthetic(2));
      rig.advance(60);
      rig.push(blurred(3));
      rig.advance(20);
      const pressAt = rig.now();
      rig.advance(35); // the pipeline's own work, as the monotonic clock sees it
      const result = await rig.pipeline.capture(pressAt);
      assert.equal(result.status, 'captured');
      if (result.status !== 'captured') return;
      assert.equal(result.frameSeq, sharpFrame.seq);
      assert.equal(result.latencyMs, 35);
      assert.ok(isValidCaptureId(result.captureId));

      const entry = rig.outbox.show(result.captureId);
      assert.ok(entry, 'committed in the outbox');
      assert.deepEqual(entry.objects.map((o) => o.name).sort(), ['image.png', 'meta.json']);
      const meta = JSON.parse(readFileSync(rig.outbox.spoolPath(result.captureId, 'meta.json'), 'utf8'));
      const check = validateMeta(meta);
      assert.ok(check.ok, JSON.stringify(!check.ok && check.problems));
      const png = readFileSync(rig.outbox.spoolPath(result.captureId, 'image.png'));
      assert.equal(meta.image_sha256, createHash('sha256').update(png).digest('hex'));
      assert.equal((await sharp(png).metadata()).channels, 1, 'grayscale PNG');
      const decoded = await decodeGray(png);
      assert.deepEqual(Buffer.from(decoded.data), Buffer.from(synthetic(2)), 'lossless');
      // captured_at is the press time on the wall clock, not the commit time.
      assert.equal(meta.captured_at, new Date(Date.UTC(2025, 8, 9, 14, 18, 32) + pressAt).toISOString());
      assert.deepEqual(
        {
          device: meta.device_code,
          operator: meta.operator_id,
          farm: meta.farm_id,
          gps: meta.gps,
          probe: meta.probe,
          clock: meta.clock,
          files: meta.files,
          mask: meta.mask_sha256,
          hint: meta.inference_summary,
        },
        {
          device: 'dev-0001',
          operator: 'tech-abc',
          farm: '6f1c2a3e-5b7d-4c8e-9f01-23456789abcd',
          gps: { lat: 43.6532, lon: -79.3832 },
          probe: { model: 'EMU-Convex-3.5', frequency_mhz: 3.5 },
          clock: { synced: true, source: 'timesyncd' },
          files: { image_relpath: 'image.png', mask_relpath: null, extra: [] },
          mask: null,
          hint: undefined,
        },
      );
      assert.equal(meta.acquisition.frame_seq, sharpFrame.seq);
    } finally {
      rig.close();
    }
  });

  test('with a hint model injected, inference_summary carries its box, score and model', async () => {
    const hint = {
      sha256: 'a'.repeat(64),
      run: async ({ width, height }: { width: number; height: number }) => ({
        ribeyeBbox: [10, 20, width - 10, height - 20] as [number, number, number, number],
        score: 0.81,
        model: 'ribeye-hint@1.2.0',
        ms: 4,
      }),
    };
    const rig = createCaptureRig({ hint });
    try {
      rig.push(synthetic(1));
      const result = await rig.pipeline.capture(rig.now());
      assert.equal(result.status, 'captured');
      if (result.status !== 'captured') return;
      assert.deepEqual(result.meta.inference_summary, {
        ribeye_bbox: [10, 20, W - 10, H - 20],
        mask_iou_hint: 0.81,
        model: { name: 'ribeye-hint', version: '1.2.0', sha256: 'a'.repeat(64) },
      });
    } finally {
      rig.close();
    }
  });
});

test('pixel spacing and aspect: none by default, the config probe values in meta.json, a frame value winning over them', async () => {
  const plain = createCaptureRig();
  const configured = createCaptureRig({
    probe: { model: 'LV5-2', pixel_spacing_mm: 0.296, pixel_aspect: 0.889 },
  });
  try {
    plain.push(synthetic(5));
    const a = await plain.pipeline.capture(plain.now());
    assert.ok(a.status === 'captured' && a.meta.acquisition);
    assert.equal(
      a.meta.acquisition.pixel_spacing_mm,
      undefined,
      'unknown spacing is left out, never guessed',
    );
    assert.equal(a.meta.acquisition.pixel_aspect, undefined, 'an unknown aspect is left out too');
    configured.push(synthetic(6));
    const b = await configured.pipeline.capture(configured.now());
    assert.ok(b.status === 'captured' && validateMeta(b.meta).ok);
    assert.equal(b.meta.acquisition?.pixel_spacing_mm, 0.296);
    assert.equal(b.meta.acquisition?.pixel_aspect, 0.889);
    configured.advance(1500);
    configured.push(synthetic(7), configured.now(), { pixelSpacingMm: 0.31, pixelAspect: 1.067 });
    const c = await configured.pipeline.capture(configured.now());
    assert.ok(c.status === 'captured');
    assert.equal(c.meta.acquisition?.pixel_spacing_mm, 0.31);
    assert.equal(c.meta.acquisition?.pixel_aspect, 1.067);
  } finally {
    plain.close();
    configured.close();
  }
});

test('capture.format jpeg writes image.jpg and names it in meta.json', async () => {
  const rig = createCaptureRig({ format: 'jpeg' });
  try {
    rig.push(synthetic(4));
    const result = await rig.pipeline.capture(rig.now());
    assert.equal(result.status, 'captured');
    if (result.status !== 'captured') return;
    assert.equal(result.meta.files.image_relpath, 'image.jpg');
    const jpg = readFileSync(rig.outbox.spoolPath(result.captureId, 'image.jpg'));
    assert.equal((await sharp(jpg).metadata()).format, 'jpeg');
    assert.equal(result.meta.image_sha256, createHash('sha256').update(jpg).digest('hex'));
  } finally {
    rig.close();
  }
});

describe('quality gate', () => {
  const cases: [string, (n: number) => Uint8Array, string][] = [
    ['near-black (probe off the animal)', () => new Uint8Array(W * H).fill(3), 'off_animal'],
    ['saturated', () => new Uint8Array(W * H).fill(255), 'saturated'],
    ['flat gray (no echoes)', () => new Uint8Array(W * H).fill(120), 'no_image'],
  ];
  for (const [name, pixels, reason] of cases) {
    test(`${name} is refused with reason ${reason} and nothing is committed`, async () => {
      const rig = createCaptureRig();
      try {
        rig.push(pixels(0));
        const result = await rig.pipeline.capture(rig.now());
        assert.equal(result.status, 'refused');
        assert.equal(result.status === 'refused' && result.reason, reason);
        assert.equal(rig.outbox.summary().pendingCaptures, 0);
      } finally {
        rig.close();
      }
    });
  }

  test('a frame identical to the previous capture (frozen feed) is refused; a new image is taken', async () => {
    const rig = createCaptureRig();
    try {
      rig.push(synthetic(7));
      assert.equal((await rig.pipeline.capture(rig.now())).status, 'captured');
      rig.advance(2000);
      rig.push(synthetic(7));
      const again = await rig.pipeline.capture(rig.now());
      assert.equal(again.status === 'refused' && again.reason, 'frozen');
      assert.match(again.status === 'refused' ? again.message : '', /identical to the previous capture/);
      rig.advance(2000);
      rig.push(synthetic(8));
      assert.equal((await rig.pipeline.capture(rig.now())).status, 'captured');
      assert.equal(rig.outbox.summary().pendingCaptures, 2);
    } finally {
      rig.close();
    }
  });

  test('no frames at all is refused as no_frames', async () => {
    const rig = createCaptureRig();
    try {
      const result = await rig.pipeline.capture(rig.now());
      assert.equal(result.status === 'refused' && result.reason, 'no_frames');
    } finally {
      rig.close();
    }
  });

  test('a press served late (queued behind a slow commit) never takes a frame from after it', async () => {
    const rig = createCaptureRig();
    try {
      const pressAt = rig.now();
      // Nothing in the ring from before the press any more; frames from seconds later are (the
      // technician may be on the next animal by then).
      rig.advance(5000);
      rig.push(synthetic(1));
      const late = await rig.pipeline.capture(pressAt);
      assert.equal(late.status === 'refused' && late.reason, 'no_frames');
      assert.match(late.status === 'refused' ? late.message : '', /after the press/);
      assert.equal(rig.outbox.summary().pendingCaptures, 0);
      // A slow source's frame shortly before a press is still taken when a later one has arrived.
      rig.advance(300);
      const before = rig.push(synthetic(2));
      const press2 = rig.now() + 700;
      rig.advance(1000);
      rig.push(synthetic(3));
      const slow = await rig.pipeline.capture(press2);
      assert.equal(slow.status === 'captured' && slow.frameSeq, before.seq);
    } finally {
      rig.close();
    }
  });

  test('a disabled gate lets a dark frame through', async () => {
    const rig = createCaptureRig({ gate: { enabled: false } });
    try {
      rig.push(new Uint8Array(W * H).fill(3));
      assert.equal((await rig.pipeline.capture(rig.now())).status, 'captured');
    } finally {
      rig.close();
    }
  });
});

describe('capture_id', () => {
  test('same-second ids differ, match the contracts pattern and carry the UTC second', () => {
    const next = createCaptureIdGenerator();
    const at = new Date('2025-09-09T14:18:32.999Z');
    const ids = new Set(Array.from({ length: 10_000 }, () => next(at)));
    assert.equal(ids.size, 10_000);
    for (const id of [...ids].slice(0, 50)) {
      assert.match(id, /^cap_20250909T141832Z_[0-9A-HJKMNP-TV-Z]{16}$/);
      assert.ok(isValidCaptureId(id));
    }
  });

  test('a clock jumped back to 1970 after a restart still yields a fresh, valid id', () => {
    const bytes = new Uint8Array(10).fill(0xff);
    const id = createCaptureIdGenerator({ random: () => bytes })(new Date(0));
    assert.equal(id, 'cap_19700101T000000Z_ZZZZZZZZZZZZZZZZ');
  });
});
