import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeRaster, toGray } from '@cti/imaging';
import { readReferenceScans, realScanVariants } from '@cti/models';
import { createGrader, type Grader } from '../src/grading/grade-image.ts';
import {
  bandAccepts,
  confusion,
  createEvidenceGrader,
  deployedAccepts,
  type EvidenceRow,
  fitLogistic,
  logisticScore,
  simulatedGrade,
  thresholdForKeep,
} from './view-evidence.ts';

// The view-evidence analysis judges other view decisions by simulating the grade from the evidence rows;
// the simulation must give the deployed grader's grade, or every figure it prints is off.

const REFERENCES = fileURLToPath(new URL('../../../../shared/reference-scans/', import.meta.url));

let grader: Grader;
before(async () => {
  grader = await createGrader();
});
after(() => grader.close());

test('the evidence rows simulate the deployed grade exactly on every reference scan variant', {
  skip: !existsSync(`${REFERENCES}README.md`) && 'reference scans not present',
}, async () => {
  const evidence = await createEvidenceGrader();
  try {
    const grades: string[] = [];
    for (const scan of await readReferenceScans(REFERENCES)) {
      const gray = toGray(await decodeRaster(join(REFERENCES, scan.file)));
      for (const v of realScanVariants(gray, scan.box ?? [0, 0, 1, 1])) {
        const raster = { ...v.image, channels: 1 as const };
        const label = { id: `${scan.file}:${v.name}`, kind: 'real', negative: scan.box === null };
        const row = await evidence.evidence(raster, label);
        const deployed = await grader.grade({ raster, meta: null, calibration: null });
        assert.equal(simulatedGrade(row, row.view), deployed.grade, label.id);
        grades.push(deployed.grade);
      }
    }
    assert.equal(grades.length, 24, 'three scans, eight variants each');
    assert.ok(
      grades.includes('R') && grades.includes('M'),
      'both a rejected and an accepted view are simulated',
    );
  } finally {
    await evidence.close();
  }
});

/** A row with the evidence that matters here: the verdict, agreement, certainty and the other rules' grade. */
function row(
  negative: boolean,
  verdict: number,
  agreement = 0.8,
  certainty = 0.9,
  gradeIfView: 'A' | 'M' | 'R' = 'A',
): EvidenceRow {
  const view = verdict < 0.5 ? 0.3 : verdict < 0.6 ? 0.6 : 1;
  return {
    id: `${negative}-${verdict}`,
    kind: negative ? 'neg' : 'ribeye',
    negative,
    view,
    viewReasons: [],
    gradeIfView,
    reasonsIfView: [],
    checks: {
      model_verdict: verdict,
      model_agreement: agreement,
      lens_size: 0.1,
      transverse_texture: 0.3,
      lens_convexity: 0.9,
    },
    segScore: certainty,
    hintScore: 0.7,
    cutOff: 'none',
    quality: {},
  };
}

test('simulatedGrade: R below 0.5 or when another rule rejects, M in the uncertain band or when another rule is marginal', () => {
  assert.equal(simulatedGrade({ gradeIfView: 'A' }, 0.49), 'R');
  assert.equal(simulatedGrade({ gradeIfView: 'R' }, 1), 'R');
  assert.equal(simulatedGrade({ gradeIfView: 'A' }, 0.5), 'M');
  assert.equal(simulatedGrade({ gradeIfView: 'A' }, 0.749), 'M');
  assert.equal(simulatedGrade({ gradeIfView: 'M' }, 1), 'M');
  assert.equal(simulatedGrade({ gradeIfView: 'A' }, 0.75), 'A');
});

test('fitLogistic finds the feature that separates and scores the separated classes apart', () => {
  // Positives: verdict 0.6–0.95; negatives: 0.05–0.55 (one overlap, so the fit stays finite).
  const rows = [
    ...[0.6, 0.7, 0.8, 0.9, 0.95, 0.52].map((v) => row(false, v)),
    ...[0.05, 0.1, 0.2, 0.3, 0.4, 0.55].map((v) => row(true, v)),
  ];
  const m = fitLogistic(rows, ['verdict_logit', 'model_agreement']);
  assert.ok(m.coef[0]! > 0.5, `verdict coefficient ${m.coef[0]}`);
  assert.ok(Math.abs(m.coef[1]!) < 1e-6, 'a constant feature gets no weight');
  assert.ok(logisticScore(m, row(false, 0.9)) > 0.8);
  assert.ok(logisticScore(m, row(true, 0.1)) < 0.2);
});

test('confusion and thresholdForKeep count a positive rejected by another rule as lost at any threshold', () => {
  const rows = [
    row(false, 0.9),
    row(false, 0.8),
    row(false, 0.7),
    row(false, 0.95, 0.8, 0.9, 'R'),
    row(true, 0.75),
  ];
  const score = (r: EvidenceRow) => r.checks.model_verdict!;
  assert.equal(thresholdForKeep(rows, score, 0.5), 0.8);
  assert.equal(thresholdForKeep(rows, score, 0.75), 0.7);
  assert.equal(thresholdForKeep(rows, score, 1), null, 'the positive R for another rule cannot be kept');
  assert.deepEqual(
    confusion(rows, (r) => score(r) >= 0.7),
    {
      negativesAccepted: 1,
      negatives: 1,
      positivesKept: 3,
      positives: 4,
    },
  );
});

test('the band rule decides by the segmentation near the threshold only, the deployed decision elsewhere', () => {
  const rule = { lo: 0.4, hi: 0.7, minCertainty: 0.85, minAgreement: 0.4 };
  assert.equal(
    bandAccepts(rule, row(false, 0.45, 0.8, 0.9)),
    true,
    'rejected by the verdict, kept by the evidence',
  );
  assert.equal(deployedAccepts(row(false, 0.45, 0.8, 0.9)), false);
  assert.equal(
    bandAccepts(rule, row(true, 0.55, 0.8, 0.7)),
    false,
    'accepted by the verdict, an uncertain mask rejects',
  );
  assert.equal(deployedAccepts(row(true, 0.55, 0.8, 0.7)), true);
  assert.equal(
    bandAccepts(rule, row(true, 0.9, 0.1, 0.1)),
    true,
    'clear of the band the deployed decision stands',
  );
  assert.equal(bandAccepts(rule, row(false, 0.2, 0.9, 0.95)), false);
});
