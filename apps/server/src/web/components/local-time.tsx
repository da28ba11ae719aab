import { type FormatLocalOptions, formatLocal, toUtcIso } from '../time/format-local.ts';

export type LocalTimeProps = FormatLocalOptions & { utc: Date | string | null | undefined; timeZone: string };

/**
 * `<time datetime="…Z">` showing the farm's local time; the UTC instant is in the tooltip. The date is
 * its own span (`local-date`) so a narrow table cell can keep it whole and fold before the time.
 */
export function LocalTime({ utc, timeZone, ...options }: LocalTimeProps) {
  if (utc === null || utc === undefined) return <span class="muted">unknown time</span>;
  const iso = toUtcIso(utc);
  const text = formatLocal(utc, timeZone, options);
  const [, date, rest] = /^(\d{4}-\d{2}-\d{2})(.*)$/.exec(text) ?? [];
  return (
    <time datetime={iso} title={`${iso.replace('T', ' ').replace('Z', ' UTC')}`}>
      {date ? (
        <>
          <span class="local-date">{date}</span>
          {rest}
        </>
      ) : (
        text
      )}
    </time>
  );
}
