import { type FormatLocalOptions, formatLocal, toUtcIso } from '../time/format-local.ts';

export type LocalTimeProps = FormatLocalOptions & { utc: Date | string | null | undefined; timeZone: string };

/** `<time datetime="…Z">` showing the farm's local time; the UTC instant is in the tooltip. */
export function LocalTime({ utc, timeZone, ...options }: LocalTimeProps) {
  if (utc === null || utc === undefined) return <span class="muted">unknown time</span>;
  const iso = toUtcIso(utc);
  return (
    <time datetime={iso} title={`${iso.replace('T', ' ').replace('Z', ' UTC')}`}>
      {formatLocal(utc, timeZone, options)}
    </time>
  );
}
