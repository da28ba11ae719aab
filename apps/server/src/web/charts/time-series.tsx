import { formatLocal } from '../time/format-local.ts';
import { ChartFrame, type ChartSize, withUnit, YAxis } from './chart-frame.tsx';
import { formatTick, linearScale, niceTicks, px } from './scale.ts';
import { formatNumber, plural } from './summary.ts';
import { timeTicks } from './time-ticks.ts';

export type TimePoint = {
  /** UTC instant (Date or ISO string). */
  t: Date | string;
  value: number | null | undefined;
  /** Why the value is missing ("no pixel spacing"): shown on the marker drawn instead of a point. */
  missingReason?: string;
};

export type TimeSeries = {
  quantity: string;
  /** The unit as written after a number other than 1 ("captures", "cm²"). */
  unit: string;
  /** After exactly 1, when it differs ("capture"); default `unit`. */
  unitOne?: string;
  points: readonly TimePoint[];
};

export type TimeSeriesProps = {
  id: string;
  title: string;
  /** The farm's IANA zone: ticks fall on its calendar and tooltips are in its local time. */
  timeZone: string;
  /** One panel per series, stacked, sharing the time axis (different units never share a y axis). */
  series: readonly TimeSeries[];
  width?: number;
  panelHeight?: number;
  /** Said and shown when there are no points at all (default "No scans yet"). */
  emptyText?: string;
  /** The chart's text alternative; by default every point is listed by date (fine for a few scans). */
  description?: string;
};

const MARGIN = { top: 14, right: 20, left: 64, gap: 34, bottom: 56 };

/** An animal's measurements over time: REA and fat thickness in two aligned panels. */
export function TimeSeriesChart({
  id,
  title,
  timeZone,
  series,
  width = 640,
  panelHeight = 150,
  emptyText = 'No scans yet',
  description: describedAs,
}: TimeSeriesProps) {
  const times = series.flatMap((s) => s.points.map((p) => new Date(p.t).getTime()));
  const height = MARGIN.top + series.length * panelHeight + (series.length - 1) * MARGIN.gap + MARGIN.bottom;
  const size: ChartSize = { width, height };
  if (times.length === 0) {
    return (
      <ChartFrame
        id={id}
        title={title}
        description={`${emptyText}.`}
        empty={emptyText}
        size={{ width, height: 160 }}
      />
    );
  }
  // A single instant still gets an axis: a day either side.
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const [lo, hi] = t0 === t1 ? [t0 - 86_400_000, t1 + 86_400_000] : [t0, t1];
  const left = MARGIN.left;
  const right = width - MARGIN.right;
  const x = linearScale([lo, hi], [left, right]);
  const ticks = timeTicks(lo, hi, timeZone);
  const lastBottom = MARGIN.top + series.length * panelHeight + (series.length - 1) * MARGIN.gap;
  const description = describedAs ?? series.map((s) => describe(s, timeZone)).join(' ');
  return (
    <ChartFrame
      id={id}
      title={title}
      description={description}
      size={size}
      xAxis={{
        label: `Date (${timeZone})`,
        ticks: ticks.values.map((v, i) => ({ pos: x(v), label: ticks.labels[i]! })),
      }}
      box={{ left, right, top: MARGIN.top, bottom: lastBottom }}
    >
      {series.map((s, i) => {
        const top = MARGIN.top + i * (panelHeight + MARGIN.gap);
        return (
          <Panel
            series={s}
            x={x}
            box={{ left, right, top, bottom: top + panelHeight }}
            timeZone={timeZone}
            tickXs={ticks.values.map(x)}
          />
        );
      })}
    </ChartFrame>
  );
}

type PanelProps = {
  series: TimeSeries;
  x: (t: number) => number;
  box: { left: number; right: number; top: number; bottom: number };
  timeZone: string;
  tickXs: number[];
};

function Panel({ series, x, box, timeZone, tickXs }: PanelProps) {
  const points = [...series.points].sort((a, b) => new Date(a.t).getTime() - new Date(b.t).getTime());
  const values = points
    .map((p) => p.value)
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const yt = values.length ? niceTicks(Math.min(...values), Math.max(...values), 4) : niceTicks(0, 1, 2);
  const y = linearScale([yt.min, yt.max], [box.bottom, box.top]);
  // The line breaks at a missing value rather than bridging it: a gap is a gap.
  let d = '';
  let pen = false;
  for (const p of points) {
    if (typeof p.value === 'number' && Number.isFinite(p.value)) {
      d += `${pen ? 'L' : 'M'}${x(new Date(p.t).getTime())},${y(p.value)}`;
      pen = true;
    } else pen = false;
  }
  return (
    <g class="panel" data-quantity={series.quantity}>
      <YAxis
        axis={{
          label: withUnit(series.quantity, series.unit),
          ticks: yt.values.map((v) => ({ pos: y(v), label: formatTick(v, yt.step) })),
        }}
        box={box}
      />
      {tickXs.map((tx) => (
        <line class="grid grid-x" x1={tx} x2={tx} y1={box.top} y2={box.bottom} stroke="#ececec" />
      ))}
      <line class="axis-line" x1={box.left} x2={box.right} y1={box.bottom} y2={box.bottom} stroke="#222" />
      {d && <path class="line" d={d} fill="none" stroke="#1f5fa8" stroke-width="2" />}
      {points.map((p) => {
        const px0 = x(new Date(p.t).getTime());
        const when = formatLocal(p.t, timeZone);
        if (typeof p.value === 'number' && Number.isFinite(p.value)) {
          return (
            <circle class="point" cx={px0} cy={y(p.value)} r="4" fill="#1f5fa8">
              <title>{`${when}: ${formatNumber(p.value)} ${p.value === 1 ? (series.unitOne ?? series.unit) : series.unit}`}</title>
            </circle>
          );
        }
        // A missing value: a hollow marker on the baseline, never a point at 0.
        return (
          <path
            class="missing"
            d={`M${px(px0 - 4)},${px(box.bottom - 4)}l8,-8m-8,0l8,8`}
            stroke="#a33"
            stroke-width="2"
            fill="none"
          >
            <title>{`${when}: no value${p.missingReason ? ` (${p.missingReason})` : ''}`}</title>
          </path>
        );
      })}
    </g>
  );
}

function describe(s: TimeSeries, tz: string): string {
  const valued = s.points.filter((p) => typeof p.value === 'number' && Number.isFinite(p.value));
  const missing = s.points.length - valued.length;
  const parts = valued
    .map((p) => ({ t: new Date(p.t).getTime(), v: p.value as number }))
    .sort((a, b) => a.t - b.t)
    .map((p) => `${formatLocal(p.t, tz, { style: 'date' })} ${formatNumber(p.v)}`);
  return (
    `${withUnit(s.quantity, s.unit)}: ${parts.length ? parts.join(', ') : 'no values'}` +
    `${missing ? `; ${plural(missing, 'scan')} without a value` : ''}.`
  );
}
