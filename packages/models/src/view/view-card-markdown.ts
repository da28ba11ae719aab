import type { ViewCard } from './view-card.ts';

const cell = (v: unknown) => (typeof v === 'object' ? `\`${JSON.stringify(v)}\`` : String(v));

/** The human-readable card beside `ribeye-view.card.json` (the JSON stays the source of truth). */
export function renderViewCardMarkdown(card: ViewCard): string {
  const lines = [
    `# Model card: ${card.name} ${card.version}`,
    '',
    card.description ?? '',
    '',
    '| field | value |',
    '|---|---|',
    `| task | ${card.task} |`,
    `| hint model | ${card.hint.name}@${card.hint.version} (sha256 ${card.hint.sha256}) |`,
    `| threshold | ${card.threshold} |`,
    ...(card.classes ? [`| view classes (hint output 5…) | ${card.classes.join(', ')} |`] : []),
    '',
    '## Logistic calibration (standardised features)',
    '',
    '| feature | mean | std | weight |',
    '|---|---:|---:|---:|',
    ...card.features.map(
      (f, i) => `| ${f} | ${card.featureMean[i]} | ${card.featureStd[i]} | ${card.weights[i]} |`,
    ),
    `| (bias) | | | ${card.bias} |`,
    '',
    '## Reasons',
    '',
    '| code | when (statistic of the preprocessed scan-area crop, 0–1) |',
    '|---|---|',
    ...card.reasonRules.map((r) => `| ${r.code} | ${r.stat} ${r.op} ${r.value} |`),
    ...Object.entries(card.classReasons ?? {}).map(
      ([k, code]) => `| ${code} | likeliest non-ribeye class: ${k} |`,
    ),
  ];
  for (const [title, value] of [
    ['Calibration', card.calibration],
    ['Metrics', card.metrics],
  ] as const) {
    if (value === undefined) continue;
    lines.push('', `## ${title}`, '');
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) lines.push(`- **${k}**: ${cell(v)}`);
    } else lines.push(cell(value));
  }
  lines.push(
    '',
    'The JSON card beside this file is the source of truth; `@cti/models` refuses it unless the loaded',
    'hint model has the sha256 named above.',
    '',
  );
  return lines.join('\n');
}
