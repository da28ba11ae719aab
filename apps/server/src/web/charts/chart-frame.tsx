import type { Child } from 'hono/jsx';
import { px } from './scale.ts';

export type ChartSize = { width: number; height: number };
export type PlotBox = { left: number; top: number; right: number; bottom: number };
export type AxisTick = { pos: number; label: string };
export type AxisSpec = { label: string; ticks: readonly AxisTick[] };

export const DEFAULT_SIZE: ChartSize = { width: 640, height: 320 };
const MARGIN = { top: 16, right: 20, bottom: 56, left: 64 };

/** The plotting area inside a chart of `size`: axes and their labels sit in the margins. */
export function plotBox({ width, height }: ChartSize = DEFAULT_SIZE): PlotBox {
  return { left: MARGIN.left, top: MARGIN.top, right: width - MARGIN.right, bottom: height - MARGIN.bottom };
}

/** "Ribeye area (cm²)": the quantity with its unit, as axis labels and descriptions write it. */
export const withUnit = (quantity: string, unit?: string) => (unit ? `${quantity} (${unit})` : quantity);

export type ChartFrameProps = {
  /** Unique on the page: the title/description ids derive from it. */
  id: string;
  title: string;
  /** What a screen reader hears instead of the picture: the figures the chart shows, in words. */
  description: string;
  size?: ChartSize;
  box?: PlotBox;
  xAxis?: AxisSpec;
  yAxis?: AxisSpec;
  /** Shown instead of the plot when there is nothing to draw ("No scans in this period"). */
  empty?: string;
  /** A line under the chart, e.g. how many values are missing and why. */
  note?: string;
  /** Classes of the <figure> and the <svg> (the farm map uses its own). */
  figureClass?: string;
  svgClass?: string;
  children?: Child;
};

/**
 * The figure every chart draws into: a visible caption, an SVG with role="img", <title> and <desc>
 * for assistive technology, horizontal grid lines at the y ticks, both axes with tick labels and the
 * quantity + unit. Presentation attributes (not style attributes) keep it CSP-safe and give sane
 * colours when the SVG is used without app.css; the stylesheet overrides them.
 */
export function ChartFrame(props: ChartFrameProps) {
  const { id, title, description, size = DEFAULT_SIZE, xAxis, yAxis, empty, note, children } = props;
  const { figureClass = 'chart', svgClass = 'chart-svg' } = props;
  const box = props.box ?? plotBox(size);
  return (
    <figure class={figureClass} id={id}>
      <figcaption class="chart-title">{title}</figcaption>
      <svg
        class={svgClass}
        viewBox={`0 0 ${size.width} ${size.height}`}
        role="img"
        aria-labelledby={`${id}-title`}
        aria-describedby={`${id}-desc`}
        font-size="13"
      >
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{description}</desc>
        {empty ? (
          <text class="chart-empty" x={size.width / 2} y={size.height / 2} text-anchor="middle" fill="#444">
            {empty}
          </text>
        ) : (
          <>
            {yAxis && <YAxis axis={yAxis} box={box} />}
            {xAxis && <XAxis axis={xAxis} box={box} />}
            <g class="marks">{children}</g>
          </>
        )}
      </svg>
      {note && <p class="chart-note">{note}</p>}
    </figure>
  );
}

/** A y axis: grid lines at the ticks, tick labels, the axis line and the rotated quantity label. */
export function YAxis({ axis, box }: { axis: AxisSpec; box: PlotBox }) {
  const midY = px((box.top + box.bottom) / 2);
  return (
    <g class="axis axis-y">
      {axis.ticks.map((t) => (
        <g class="tick">
          <line class="grid" x1={box.left} x2={box.right} y1={t.pos} y2={t.pos} stroke="#d0d0d0" />
          <text x={box.left - 8} y={px(t.pos + 4)} text-anchor="end" fill="#222">
            {t.label}
          </text>
        </g>
      ))}
      <line class="axis-line" x1={box.left} x2={box.left} y1={box.top} y2={box.bottom} stroke="#222" />
      <text
        class="axis-label"
        x={16}
        y={midY}
        text-anchor="middle"
        transform={`rotate(-90 16 ${midY})`}
        fill="#222"
      >
        {axis.label}
      </text>
    </g>
  );
}

function XAxis({ axis, box }: { axis: AxisSpec; box: PlotBox }) {
  return (
    <g class="axis axis-x">
      <line class="axis-line" x1={box.left} x2={box.right} y1={box.bottom} y2={box.bottom} stroke="#222" />
      {axis.ticks.map((t) => (
        <g class="tick">
          <line x1={t.pos} x2={t.pos} y1={box.bottom} y2={box.bottom + 5} stroke="#222" />
          <text x={t.pos} y={box.bottom + 20} text-anchor="middle" fill="#222">
            {t.label}
          </text>
        </g>
      ))}
      <text
        class="axis-label"
        x={px((box.left + box.right) / 2)}
        y={box.bottom + 44}
        text-anchor="middle"
        fill="#222"
      >
        {axis.label}
      </text>
    </g>
  );
}
