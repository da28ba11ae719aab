import { ChartFrame, type ChartSize, DEFAULT_SIZE, plotBox, withUnit } from './chart-frame.tsx';
import { formatTick, linearScale, niceTicks } from './scale.ts';
import { extent, formatNumber, plural } from './summary.ts';

export type ScatterPoint = {
  x: number | null | undefined;
  y: number | null | undefined;
  /** Who the point is ("Tag 1042"): its tooltip and its link text. */
  label?: string;
  /** Opens the animal or scan. */
  href?: string;
  /** Drawn larger and darker (the animal this page is about). */
  highlight?: boolean;
};

export type Quantity = { quantity: string; unit: string };

export type ScatterProps = {
  id: string;
  title: string;
  x: Quantity;
  y: Quantity;
  points: readonly ScatterPoint[];
  noun?: string;
  size?: ChartSize;
};

const usable = (p: ScatterPoint): p is ScatterPoint & { x: number; y: number } =>
  typeof p.x === 'number' && Number.isFinite(p.x) && typeof p.y === 'number' && Number.isFinite(p.y);

/** One measurement against another (REA vs fat thickness), one point per scan or animal. */
export function Scatter({
  id,
  title,
  x: xq,
  y: yq,
  points,
  noun = 'scan',
  size = DEFAULT_SIZE,
}: ScatterProps) {
  const data = points.filter(usable);
  const missing = points.length - data.length;
  const note =
    missing > 0
      ? `${plural(missing, noun)} without both values ${missing === 1 ? 'is' : 'are'} not drawn.`
      : undefined;
  if (data.length === 0) {
    return (
      <ChartFrame
        id={id}
        title={title}
        description={`No ${noun}s with both values.`}
        empty="Nothing to plot yet"
        note={note}
        size={size}
      />
    );
  }
  const box = plotBox(size);
  const xt = niceTicks(...extent(data.map((p) => p.x)), 6);
  const yt = niceTicks(...extent(data.map((p) => p.y)), 5);
  const x = linearScale([xt.min, xt.max], [box.left, box.right]);
  const y = linearScale([yt.min, yt.max], [box.bottom, box.top]);
  const range = (vs: number[], unit: string) =>
    `from ${formatNumber(extent(vs)[0])} to ${formatNumber(extent(vs)[1])} ${unit}`;
  const description =
    `${plural(data.length, noun)}: ${xq.quantity.toLowerCase()} ${range(
      data.map((p) => p.x),
      xq.unit,
    )}, ` +
    `${yq.quantity.toLowerCase()} ${range(
      data.map((p) => p.y),
      yq.unit,
    )}.`;
  return (
    <ChartFrame
      id={id}
      title={title}
      description={description}
      size={size}
      box={box}
      note={note}
      xAxis={{
        label: withUnit(xq.quantity, xq.unit),
        ticks: xt.values.map((v) => ({ pos: x(v), label: formatTick(v, xt.step) })),
      }}
      yAxis={{
        label: withUnit(yq.quantity, yq.unit),
        ticks: yt.values.map((v) => ({ pos: y(v), label: formatTick(v, yt.step) })),
      }}
    >
      {data.map((p) => {
        const tip = `${p.label ? `${p.label}: ` : ''}${formatNumber(p.x)} ${xq.unit}, ${formatNumber(p.y)} ${yq.unit}`;
        const dot = (
          <circle
            class={p.highlight ? 'point point-highlight' : 'point'}
            cx={x(p.x)}
            cy={y(p.y)}
            r={p.highlight ? 6 : 4}
            fill="#1f5fa8"
            fill-opacity="0.75"
          >
            <title>{tip}</title>
          </circle>
        );
        return p.href ? (
          <a href={p.href} aria-label={tip}>
            {dot}
          </a>
        ) : (
          dot
        );
      })}
    </ChartFrame>
  );
}
