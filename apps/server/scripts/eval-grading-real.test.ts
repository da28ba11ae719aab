import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createGrader, type Grader } from '../src/grading/grade-image.ts';
import { evaluateRealScans, RULER_TRUTH_MM_PER_PX } from './eval-grading-real.ts';

// `pnpm eval:grading` on the real reference scans reports what the issue lists for them: the grade
// confusion over every variant (the negative's all R) and the ruler's spacing error on hzau-201615
// against its truth (20 cm depth over the ruler's 676 px), within the 2 % target where a ruler was read.

const REFERENCES = fileURLToPath(new URL('../../../../shared/reference-scans/', import.meta.url));

let grader: Grader;
before(async () => {
  grader = await createGrader();
});
after(() => grader.close());

test('real scans: grade confusion per scan and the ruler spacing error on hzau-201615 and its variants', {
  skip: !existsSync(`${REFERENCES}README.md`) && 'reference scans not present',
}, async () => {
  const e = await evaluateRealScans(grader, REFERENCES);
  assert.deepEqual(
    [...e.confusion].map(([scan, c]) => [scan, c.negative, c.A + c.M + c.R]),
    [
      ['ustool-109A.bmp', false, 8],
      ['hzau-201615.png', false, 8],
      ['hzau-1518-backfat.png', true, 8],
    ],
  );
  assert.equal(e.confusion.get('hzau-1518-backfat.png')!.R, 8, 'the negative is R in every variant');
  const hzau = e.rows.filter((r) => r.scan === 'hzau-201615.png');
  assert.equal(
    e.spacingErrors.length + e.rulerMisses,
    hzau.length,
    'every hzau variant read or said no ruler',
  );
  assert.ok(e.spacingErrors.length >= 1, 'the original screen’s ruler is read');
  for (const r of hzau) {
    if (r.spacingError === null) assert.notEqual(r.spacingSource, 'ruler', r.variant);
    else assert.ok(r.spacingError <= 0.02, `${r.variant}: ${r.spacing} vs ${RULER_TRUTH_MM_PER_PX[r.scan]}`);
  }
  const original = hzau.find((r) => r.variant === 'original')!;
  assert.ok(original.spacingError !== null && original.spacingError < 0.01);
  const text = e.lines.join('\n');
  assert.match(text, /\| hzau-1518-backfat\.png \(negative\) \| 0 \| 0 \| 8 \|/);
  assert.match(text, /\| hzau-201615\.png \| original \| 0\.29\d+ \| 0\.29586 \| \d\.\d\d % \|/);
  assert.match(text, /ruler spacing error on real screens, max \/ median: .* \(target ≤ 2 %: PASS\)/);
});
