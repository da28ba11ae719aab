import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  decodeRaster,
  encodePng,
  type GrayImage,
  generatePhantom,
  type RasterImage,
  toGray,
} from '@cti/imaging';
import type { Mask, ViewVerdict } from '@cti/models';
import { createGrader, type Grader } from './grade-image.ts';
import {
  modelViewCheck,
  VIEW_MARGIN,
  type ViewCheckInput,
  type ViewCheckResult,
  verdictOnGradeScale,
} from './view-check.ts';

// The grader's view check: the models' calibrated verdict (the one the agent's gate uses) rejects on its
// own; rule v1 scores what it accepts, and is all there is when no view card is installed.

const W = 120;
const H = 90;
const gray: GrayImage = { width: W, height: H, data: new Uint8Array(W * H).fill(60) };

/** A W×H input whose mask is a filled rectangle [x0, x1) × [y0, y1). */
function input(view: ViewVerdict | null, rect = [30, 20, 90, 60]): ViewCheckInput {
  const [x0, y0, x1, y1] = rect as [number, number, number, number];
  const mask: Mask = { width: W, height: H, data: new Uint8Array(W * H) };
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) mask.data[y * W + x] = 1;
  const box: [number, number, number, number] = [x0, y0, x1, y1];
  return {
    gray,
    mask,
    maskAreaPx: (x1 - x0) * (y1 - y0),
    scanArea: [0, 0, W, H],
    segScore: 0.9,
    hint: { box, score: 0.8, view },
    segBox: x1 > x0 ? box : null,
  };
}

const verdict = (ribeyeView: number, threshold = 0.5): ViewVerdict => {
  const accepted = ribeyeView >= threshold;
  return {
    ribeyeView,
    accepted,
    threshold,
    reasons: accepted ? [] : ['not_a_ribeye_view', 'longitudinal_view'],
    model: 'ribeye-view@9.9.9',
  };
};

describe('verdictOnGradeScale', () => {
  test("maps the verdict's threshold to 0.5, 0 to 0 and 1 to 1", () => {
    assert.equal(verdictOnGradeScale(0.3, 0.3), 0.5);
    assert.equal(verdictOnGradeScale(0, 0.3), 0);
    assert.equal(verdictOnGradeScale(1, 0.3), 1);
    assert.equal(verdictOnGradeScale(0.15, 0.3), 0.25);
    assert.equal(verdictOnGradeScale(0.65, 0.3), 0.75);
    assert.equal(verdictOnGradeScale(0.7, 0.5), 0.7);
  });

  test('a rejected verdict stays below 0.5 however close to the threshold', () => {
    assert.ok(verdictOnGradeScale(0.29999, 0.3) < 0.5);
  });

  test('a threshold outside (0, 1) is an error naming it', () => {
    assert.throws(() => verdictOnGradeScale(0.5, 1), /threshold 1 is not in \(0, 1\)/);
    assert.throws(() => verdictOnGradeScale(0.5, Number.NaN), /threshold NaN/);
  });
});

describe('modelViewCheck', () => {
  // The input is a clear lens for rule v1 (crisp, convex, the two boxes agree, flat texture, 22 % of
  // the scan area): rule v1 alone scores it 1.
  test('an accepted verdict clear of its threshold leaves the score to rule v1, recorded with it', () => {
    const r = modelViewCheck(input(verdict(0.9)));
    assert.equal(r.ribeyeView, 1);
    assert.deepEqual(r.reasons, []);
    assert.equal(r.rule, 'view-rule-1+ribeye-view@9.9.9');
    assert.deepEqual(r.checks.model_verdict, { value: 0.9, score: 1 });
    assert.equal(modelViewCheck(input(verdict(0.51 + VIEW_MARGIN))).ribeyeView, 1);
  });

  test(`a verdict within ${VIEW_MARGIN} above its threshold is uncertain (0.5–0.75: M view_uncertain), not a confident A`, () => {
    assert.equal(modelViewCheck(input(verdict(0.5583, 0.5583))).ribeyeView, 0.5);
    assert.equal(modelViewCheck(input(verdict(0.55, 0.5))).ribeyeView, 0.625);
    const band = modelViewCheck(input(verdict(0.6, 0.5583)));
    assert.ok(band.ribeyeView > 0.5 && band.ribeyeView < 0.75, String(band.ribeyeView));
    assert.deepEqual(band.reasons, [], 'not a failed check: decideGrade adds view_uncertain');
  });

  test("a rejected verdict is below 0.5 (R not_a_ribeye_view) with the verdict's reasons, whatever rule v1 says", () => {
    const r = modelViewCheck(input(verdict(0.2, 0.4)));
    assert.equal(r.ribeyeView, 0.25);
    assert.deepEqual(r.reasons, ['not_a_ribeye_view', 'longitudinal_view']);
    assert.deepEqual(r.checks.model_verdict, { value: 0.2, score: 0 });
  });

  test('rule v1 still rejects what the verdict accepts: an empty mask is no ribeye', () => {
    const r = modelViewCheck(input(verdict(0.95), [0, 0, 0, 0]));
    assert.equal(r.ribeyeView, 0);
    assert.deepEqual(r.reasons, ['no_ribeye_found']);
  });

  test('without a verdict (no view card) it is rule v1 alone', () => {
    assert.equal(modelViewCheck(input(null)).rule, 'view-rule-1');
  });
});

describe('the grader decides the view with the models', () => {
  let grader: Grader;
  before(async () => {
    grader = await createGrader();
  });
  after(() => grader.close());
  const grade = (image: RasterImage) =>
    grader.grade({ raster: { ...toGray(image), channels: 1 }, meta: null, calibration: null });

  test('a longitudinal backfat phantom: R, not_a_ribeye_view, decided by the ribeye-view model', async () => {
    const { image } = generatePhantom({
      seed: 5,
      kind: 'backfat_longitudinal',
      width: 400,
      height: 300,
      preset: 'heldout',
    });
    const g = await grade(image);
    const view = g.features.view_check as { rule: string; ribeyeView: number; reasons: string[] };
    assert.match(view.rule, /^view-rule-1\+ribeye-view@\d+\.\d+\.\d+$/);
    assert.ok(view.ribeyeView < 0.5, String(view.ribeyeView));
    assert.ok(view.reasons.includes('not_a_ribeye_view'), view.reasons.join(' '));
    assert.equal(g.grade, 'R');
    assert.ok(g.reasons.includes('not_a_ribeye_view'), g.reasons.join(' '));
    assert.equal(g.features.rea_cm2, null);
  });

  test('a ribeye phantom: the model accepts the view', async () => {
    const { image } = generatePhantom({
      seed: 40,
      width: 480,
      height: 360,
      layout: 'crop',
      preset: 'heldout',
    });
    const g = await grade(image);
    const view = g.features.view_check as { rule: string; ribeyeView: number };
    assert.match(view.rule, /\+ribeye-view@/);
    assert.ok(view.ribeyeView >= 0.5, String(view.ribeyeView));
    assert.ok(!g.reasons.includes('not_a_ribeye_view'), g.reasons.join(' '));
  });
});

// `cti-models view <image>` (the verdict the agent's gate and `hint`/`segment` print) and the grader
// read one verdict: the grader records it unchanged in `checks.model_verdict`. Its own view score
// differs on purpose for a rejected frame — the verdict mapped onto the grading scale (the card's
// threshold lands on 0.5) and never above rule v1: 0.219 with threshold 0.5583 is 0.196 there.
const REFERENCES = fileURLToPath(new URL('../../../../../shared/reference-scans/', import.meta.url));
const CTI_MODELS = fileURLToPath(new URL('../../node_modules/.bin/cti-models', import.meta.url));

describe('the grader and `cti-models view` give one verdict per image', () => {
  let grader: Grader;
  let dir: string;
  before(async () => {
    grader = await createGrader();
    dir = await mkdtemp(join(tmpdir(), 'cti-view-parity-'));
  });
  after(async () => {
    await grader.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Image files as they reach both: the reference scans (when present) and phantoms of both kinds. */
  async function images(): Promise<string[]> {
    const files = ['hzau-201615.png', 'hzau-1518-backfat.png', 'ustool-109A.bmp']
      .map((f) => join(REFERENCES, f))
      .filter((f) => existsSync(f));
    const phantoms = [
      { seed: 40, layout: 'crop' as const },
      { seed: 5, kind: 'backfat_longitudinal' as const },
      { seed: 7, kind: 'transverse_wrong_site' as const },
    ];
    for (const [i, p] of phantoms.entries()) {
      const { image } = generatePhantom({ width: 480, height: 360, preset: 'heldout', ...p });
      const path = join(dir, `phantom-${i}.png`);
      await writeFile(path, await encodePng(toGray(image)));
      files.push(path);
    }
    return files;
  }

  test('the same ribeye_view, accepted and threshold; a rejection scored at most the mapped verdict', async () => {
    const seen = { accepted: 0, rejected: 0 };
    for (const file of await images()) {
      const { stdout } = await promisify(execFile)(CTI_MODELS, ['view', file]);
      const cli = JSON.parse(stdout) as { ribeye_view: number; accepted: boolean; threshold: number };
      // Decoded as the worker decodes it (grade-job.ts).
      const g = await grader.grade({
        raster: await decodeRaster(file, { keepGray: true }),
        meta: null,
        calibration: null,
      });
      const view = g.features.view_check as ViewCheckResult;
      assert.deepEqual(
        view.checks.model_verdict,
        { value: cli.ribeye_view, score: cli.accepted ? 1 : 0 },
        file,
      );
      seen[cli.accepted ? 'accepted' : 'rejected']++;
      if (cli.accepted) continue;
      const mapped = verdictOnGradeScale(cli.ribeye_view, cli.threshold);
      assert.ok(
        view.ribeyeView <= Math.round(mapped * 10_000) / 10_000,
        `${file}: ${view.ribeyeView} > ${mapped}`,
      );
      assert.equal(g.grade, 'R', file);
    }
    assert.ok(seen.accepted > 0 && seen.rejected > 0, JSON.stringify(seen));
  });
});
