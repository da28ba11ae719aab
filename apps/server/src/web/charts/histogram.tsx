import { ChartFrame, type ChartSize, DEFAULT_SIZE, plotBox, withUnit } from './chart-frame.tsx';
import { formatTick, linearScale, niceTicks, px } from './scale.ts';
import { extent, formatNumber, median, missingNote, plural, present } from './summary.ts';

export type HistogramBin = { x0: number; x1: number; count: number };

/**
 * Bins at round boundaries (the x ticks), about Sturges' number of them (5–20); the last bin is closed
 * so the maximum is counted. Missing values (null, NaN) are counted apart, never as 0.
 */
export function histogramBins(values: readonly (number | null | undefined)[], binCount?: number) {
  const data = present(values);
  if (data.length === 0) return { bins: [] as HistogramBin[], step: 1, missing: values.length };
  const target = binCount ?? Math.min(20, Math.max(5, Math.ceil(Math.log2(data.length) + 1)));
  const ticks = niceTicks(...extent(data), target + 1);
  const bins: HistogramBin[] = ticks.values
    .slice(0, -1)
    .map((x0, i) => ({ x0, x1: ticks.values[i + 1]!, count: 0 }));
  for (const v of data) {
    const i = Math.min(bins.length - 1, Math.floor((v - ticks.min) / ticks.step + 1e-9));
    bins[i]!.count++;
  }
  return { bins, step: ticks.step, missing: values.length - data.length };
}

export type HistogramProps = {
  id: string;
  title: string;
  /** e.g. "Ribeye area" */
  quantity: string;
  /** e.g. "cm²" */
  unit: string;
  values: readonly (number | null | undefined)[];
  /** What one value is ("scan", "animal"): for counts and descriptions. */
  noun?: string;
  binCount?: number;
  size?: ChartSize;
};

/** Distribution of one measurement (REA, fat thickness) over a farm, group or day. */
export function Histogram({
  id,
  title,
  quantity,
  unit,
  values,
  noun = 'scan',
  binCount,
  size = DEFAULT_SIZE,
}: HistogramProps) {
  const { bins, step, missing } = histogramBins(values, binCount);
  const note = missingNote(missing, noun);
  if (bins.length === 0) {
    return (
      <ChartFrame
        id={id}
        title={title}
        description={`No ${noun}s with a ${quantity.toLowerCase()}.`}
        empty={`No ${quantity.toLowerCase()} values yet`}
        note={note}
        size={size}
      />
    );
  }
  const box = plotBox(size);
  const first = bins[0]!;
  const last = bins.at(-1)!;
  const x = linearScale([first.x0, last.x1], [box.left, box.right]);
  const counts = niceTicks(0, Math.max(...bins.map((b) => b.count)), 5, { includeZero: true });
  const y = linearScale([0, counts.max], [box.bottom, box.top]);
  const sorted = present(values).sort((a, b) => a - b);
  const description =
    `${plural(sorted.length, noun)}; ${quantity.toLowerCase()} from ${formatNumber(sorted[0]!)} to ` +
    `${formatNumber(sorted.at(-1)!)} ${unit}, median ${formatNumber(median(sorted))} ${unit}. ` +
    bins.map((b) => `${formatTick(b.x0, step)}–${formatTick(b.x1, step)}: ${b.count}`).join(', ') +
    '.';
  return (
    <ChartFrame
      id={id}
      title={title}
      description={description}
      size={size}
      box={box}
      note={note}
      xAxis={{
        label: withUnit(quantity, unit),
        ticks: [first.x0, ...bins.map((b) => b.x1)].map((v) => ({ pos: x(v), label: formatTick(v, step) })),
      }}
      yAxis={{
        label: `Number of ${noun}s`,
        ticks: counts.values.filter(Number.isInteger).map((v) => ({ pos: y(v), label: String(v) })),
      }}
    >
      {bins.map((b) => {
        const left = x(b.x0) + 1;
        const width = Math.max(1, x(b.x1) - x(b.x0) - 2);
        return (
          <rect
            class="bar"
            x={px(left)}
            y={y(b.count)}
            width={px(width)}
            height={px(y(0) - y(b.count))}
            fill="#1f5fa8"
            data-count={b.count}
          >
            <title>{`${formatTick(b.x0, step)}–${formatTick(b.x1, step)} ${unit}: ${plural(b.count, noun)}`}</title>
          </rect>
        );
      })}
    </ChartFrame>
  );
}
