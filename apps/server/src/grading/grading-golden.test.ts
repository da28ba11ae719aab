import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createGrader, type Grader } from './grade-image.ts';
import {
  GOLDEN_FILE,
  type GoldenFile,
  goldenCases,
  goldenModelMismatch,
  gradeGoldenCase,
} from './test-grading-golden.ts';

// The grader's results on a fixed set of inputs are exactly those recorded in fixtures/grading-golden.json
// by the grader before its performance work (test-grading-golden.ts says how the set is made and how
// to rewrite the fixture when a change is meant to change results). Other model files than the fixture's
// fail the test with the command that rewrites it: a model swap must not switch the check off.

const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as GoldenFile;
let grader: Grader;
before(async () => {
  grader = await createGrader();
});
after(() => grader.close());

test('the golden set grades exactly as recorded: grade, reasons, confidence, breakdown, features, overlay and mask pixels', async () => {
  const cases = goldenCases();
  const first = await gradeGoldenCase(grader, cases[0]!);
  const mismatch = goldenModelMismatch(golden, first);
  if (mismatch) assert.fail(mismatch);
  assert.ok(cases.length >= 17, 'every phantom case is in the set');
  for (const c of cases) {
    const expected = golden.cases[c.name];
    assert.ok(expected, `${c.name} is in the fixture`);
    const actual = c === cases[0] ? first : await gradeGoldenCase(grader, c);
    assert.deepStrictEqual(actual, expected, c.name);
  }
});

test('a fixture recorded with other model files is a failure naming the models and the command that rewrites it, not a skip', async () => {
  const first = await gradeGoldenCase(grader, goldenCases()[0]!);
  const swapped: GoldenFile = { ...golden, models: { ...golden.models, segmentation: 'f'.repeat(64) } };
  const message = goldenModelMismatch(swapped, first);
  assert.match(message ?? '', /ribeye-seg ffffffffffff…, now [0-9a-f]{12}…/);
  assert.doesNotMatch(message ?? '', /ribeye-hint/);
  assert.match(message ?? '', /scripts\/grading-golden\.ts --write/);
});
