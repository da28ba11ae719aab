import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createGrader, type Grader } from './grade-image.ts';
import { GOLDEN_FILE, type GoldenFile, goldenCases, gradeGoldenCase } from './test-grading-golden.ts';

// The grader's results on a fixed set of inputs are exactly those recorded in fixtures/grading-golden.json
// by the grader before its performance work (test-grading-golden.ts says how the set is made and how
// to rewrite the fixture when a change is meant to change results).

const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as GoldenFile;
let grader: Grader;
before(async () => {
  grader = await createGrader();
});
after(() => grader.close());

test('the golden set grades exactly as recorded: grade, reasons, confidence, breakdown, features, overlay and mask pixels', async (t) => {
  const cases = goldenCases();
  const first = await gradeGoldenCase(grader, cases[0]!);
  const lineage = (first.features as { lineage: { segmentation_sha256: string; hint_sha256: string } })
    .lineage;
  if (
    lineage.segmentation_sha256 !== golden.models.segmentation ||
    lineage.hint_sha256 !== golden.models.hint
  ) {
    t.skip(
      `the fixture was recorded with other model files (ribeye-seg ${golden.models.segmentation.slice(0, 12)}…, ` +
        `now ${lineage.segmentation_sha256.slice(0, 12)}…): rewrite it with scripts/grading-golden.ts --write`,
    );
    return;
  }
  assert.ok(cases.length >= 17, 'every phantom case is in the set');
  for (const c of cases) {
    const expected = golden.cases[c.name];
    assert.ok(expected, `${c.name} is in the fixture`);
    const actual = c === cases[0] ? first : await gradeGoldenCase(grader, c);
    assert.deepStrictEqual(actual, expected, c.name);
  }
});
