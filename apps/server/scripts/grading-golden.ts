// Grades the golden set (src/grading/test-grading-golden.ts) and prints a summary; with --write it
// (re)writes src/grading/fixtures/grading-golden.json, which grading-golden.test.ts compares the grader
// with. Rewrite it only when a change is MEANT to change results (new models, new rules), and say so.
//   node --import ./scripts/register-jsx.ts scripts/grading-golden.ts [--write]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createGrader } from '../src/grading/grade-image.ts';
import {
  GOLDEN_FILE,
  type GoldenFile,
  type GoldenRecord,
  goldenCases,
  gradeGoldenCase,
  graderModels,
} from '../src/grading/test-grading-golden.ts';

const grader = await createGrader();
const cases: Record<string, GoldenRecord> = {};
try {
  for (const c of goldenCases()) {
    const record = await gradeGoldenCase(grader, c);
    cases[c.name] = record;
    const f = record.features as { rea_cm2: number | null; pixel_spacing_source: string };
    console.log(
      `${c.name.padEnd(40)} ${record.grade} ${record.confidence.toFixed(4)} REA ${f.rea_cm2 ?? '-'} (${f.pixel_spacing_source}) ${record.reasons.join(',')}`,
    );
  }
} finally {
  await grader.close();
}
const file: GoldenFile = { models: graderModels(Object.values(cases)[0]!), cases };
if (process.argv.includes('--write')) {
  writeFileSync(GOLDEN_FILE, `${JSON.stringify(file, null, 2)}\n`);
  execFileSync('pnpm', ['exec', 'biome', 'format', '--write', GOLDEN_FILE], { stdio: 'ignore' });
  console.log(`wrote ${GOLDEN_FILE} (${Object.keys(cases).length} cases)`);
}
