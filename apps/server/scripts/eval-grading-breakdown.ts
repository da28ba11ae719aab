// Breakdowns `pnpm eval:grading` prints under its headline table: where the REA and fat errors come from
// (probe and layout, the worst images), why fat was not measured, and how often the field's edge touches
// or cuts the ribeye per kind. Pure bookkeeping over the graded rows; no grading here.

/** One held-out image as graded (known spacing for the ribeyes' figures). */
export type BreakdownRow = {
  index: number;
  kind: string;
  probe: string;
  layout: string;
  grade: string;
  cutOff: 'none' | 'touch' | 'cut';
  /** Ribeyes only: signed relative REA error of the mask's area, fat error (mm) or why it is missing. */
  reaError?: number;
  fatError?: number | null;
  fatMissing?: string | null;
};

const mean = (v: number[]) => (v.length === 0 ? Number.NaN : v.reduce((a, b) => a + b, 0) / v.length);
const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : '—');
const mm = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—');

function count<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of items) out.set(key(t), (out.get(key(t)) ?? 0) + 1);
  return out;
}

/** Markdown lines: errors by probe × layout, fat-missing reasons, cut-off severity by kind, worst images. */
export function breakdownLines(rows: BreakdownRow[], worst = 8): string[] {
  const ribeyes = rows.filter((r) => r.reaError !== undefined);
  const out = [
    '',
    'Errors by probe and layout (ribeyes, true spacing):',
    '| probe / layout | n | REA mean abs | fat mean abs (mm) | fat not measured |',
    '|---|---|---|---|---|',
  ];
  const groups = count(ribeyes, (r) => `${r.probe} / ${r.layout}`);
  for (const [group, n] of [...groups].sort()) {
    const g = ribeyes.filter((r) => `${r.probe} / ${r.layout}` === group);
    const fat = g.flatMap((r) => (typeof r.fatError === 'number' ? [Math.abs(r.fatError)] : []));
    out.push(
      `| ${group} | ${n} | ${pct(mean(g.map((r) => Math.abs(r.reaError!))))} | ${mm(mean(fat))} | ${g.length - fat.length} |`,
    );
  }
  const missing = count(
    ribeyes.filter((r) => typeof r.fatError !== 'number'),
    (r) => r.fatMissing ?? 'unknown',
  );
  out.push(
    '',
    `Fat not measured, by reason (ribeyes): ${[...missing].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`,
    '',
    'Field edge and ribeye (severity of the segmentation mask, by kind):',
    '| kind | none | touch | cut |',
    '|---|---|---|---|',
  );
  for (const [kind] of count(rows, (r) => r.kind)) {
    const c = count(
      rows.filter((r) => r.kind === kind),
      (r) => r.cutOff,
    );
    out.push(`| ${kind} | ${c.get('none') ?? 0} | ${c.get('touch') ?? 0} | ${c.get('cut') ?? 0} |`);
  }
  const byRea = [...ribeyes].sort((a, b) => Math.abs(b.reaError!) - Math.abs(a.reaError!)).slice(0, worst);
  out.push(
    '',
    `Worst REA (index probe/layout grade: signed error): ${byRea
      .map(
        (r) =>
          `${r.index} ${r.probe}/${r.layout} ${r.grade}: ${r.reaError! > 0 ? '+' : ''}${pct(r.reaError!)}`,
      )
      .join('; ')}`,
  );
  const byFat = ribeyes
    .filter((r) => typeof r.fatError === 'number')
    .sort((a, b) => Math.abs(b.fatError!) - Math.abs(a.fatError!))
    .slice(0, worst);
  out.push(
    `Worst fat (index probe/layout grade: signed error mm): ${byFat
      .map(
        (r) =>
          `${r.index} ${r.probe}/${r.layout} ${r.grade}: ${r.fatError! > 0 ? '+' : ''}${mm(r.fatError!)}`,
      )
      .join('; ')}`,
  );
  return out;
}
