import { ChartFrame, type ChartSize } from './chart-frame.tsx';
import { linearScale, px } from './scale.ts';
import { plural } from './summary.ts';

export type MixKey = {
  key: string;
  /** Written in the legend and, where it fits, inside the segment ("A usable"). */
  label: string;
  /** Short text inside a segment ("A"). */
  short: string;
  /** CSS class suffix (`segment-a`) and its default fill for use without app.css. */
  tone: string;
  fill: string;
};

export type MixBar = { label: string; counts: Readonly<Record<string, number>> };

export type StackedBarProps = {
  id: string;
  title: string;
  keys: readonly MixKey[];
  /** One horizontal bar per row (a day, a group, a device), each 100 % wide: the mix, not the volume. */
  bars: readonly MixBar[];
  noun?: string;
  width?: number;
};

/** The image-quality grades A / M / R with the colours used everywhere (also in the grade badge). */
export const GRADE_KEYS: readonly MixKey[] = [
  { key: 'A', label: 'A usable', short: 'A', tone: 'a', fill: '#1e7b34' },
  { key: 'M', label: 'M marginal', short: 'M', tone: 'm', fill: '#b35c00' },
  { key: 'R', label: 'R reject', short: 'R', tone: 'r', fill: '#b3261e' },
];

const ROW = 34;
const LEGEND = 30;
const LABEL_WIDTH = 150;

/**
 * A 100 % stacked horizontal bar per row: the share of each key, with the count and percentage written
 * in the segment when it is wide enough, in its tooltip always, and in the description.
 */
export function StackedBar({ id, title, keys, bars, noun = 'scan', width = 640 }: StackedBarProps) {
  const size: ChartSize = { width, height: LEGEND + Math.max(1, bars.length) * ROW + 24 };
  const totals = bars.map((b) => keys.reduce((sum, k) => sum + (b.counts[k.key] ?? 0), 0));
  if (totals.every((t) => t === 0)) {
    return (
      <ChartFrame
        id={id}
        title={title}
        description={`No ${noun}s.`}
        empty={`No ${noun}s yet`}
        size={{ width, height: 120 }}
      />
    );
  }
  const left = LABEL_WIDTH;
  const right = width - 20;
  const x = linearScale([0, 1], [left, right]);
  const description = bars
    .map((b, i) => {
      const parts = keys.map(
        (k) => `${k.label} ${b.counts[k.key] ?? 0} (${percent(b.counts[k.key] ?? 0, totals[i]!)})`,
      );
      return `${b.label}: ${plural(totals[i]!, noun)}, ${parts.join(', ')}.`;
    })
    .join(' ');
  return (
    <ChartFrame id={id} title={title} description={description} size={size}>
      <g class="legend">
        {keys.map((k, i) => (
          <g>
            <rect class={`segment-${k.tone}`} x={left + i * 150} y={6} width={14} height={14} fill={k.fill} />
            <text x={left + i * 150 + 20} y={18} fill="#222">
              {k.label}
            </text>
          </g>
        ))}
      </g>
      {bars.map((b, i) => {
        const top = LEGEND + i * ROW;
        const total = totals[i]!;
        let share = 0;
        return (
          <g class="bar-row">
            <text x={left - 8} y={top + 18} text-anchor="end" fill="#222">
              {b.label}
            </text>
            {total === 0 ? (
              <text x={left} y={top + 18} fill="#444">{`No ${noun}s`}</text>
            ) : (
              keys.map((k) => {
                const n = b.counts[k.key] ?? 0;
                const x0 = x(share);
                share += n / total;
                const w = px(x(share) - x0);
                if (n === 0) return null;
                const text = `${k.short} ${n}`;
                return (
                  <g class="segment" data-key={k.key} data-count={n}>
                    <rect
                      class={`segment-${k.tone}`}
                      x={x0}
                      y={top + 2}
                      width={w}
                      height={ROW - 8}
                      fill={k.fill}
                    >
                      <title>{`${b.label}: ${k.label} ${n} of ${total} (${percent(n, total)})`}</title>
                    </rect>
                    {w >= text.length * 8 + 8 && (
                      <text
                        x={px(x0 + w / 2)}
                        y={top + 19}
                        text-anchor="middle"
                        fill="#fff"
                        font-weight="bold"
                      >
                        {text}
                      </text>
                    )}
                  </g>
                );
              })
            )}
          </g>
        );
      })}
    </ChartFrame>
  );
}

const percent = (n: number, total: number) => `${total ? Math.round((n / total) * 100) : 0} %`;
