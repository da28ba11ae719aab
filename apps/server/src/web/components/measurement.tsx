export type MeasurementProps = {
  value: number | null | undefined;
  unit: string;
  decimals?: number;
  /** Why there is no value ("no pixel spacing", "not graded yet"); shown beside the dash. */
  missingReason?: string;
};

/** The text of a measurement: "81.4 cm²", or null when missing. Never turns a missing value into 0. */
export function formatMeasurement(
  value: number | null | undefined,
  unit: string,
  decimals = 1,
): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  return `${value.toFixed(decimals)} ${unit}`;
}

/**
 * A measurement value with its unit; a missing one is an em dash with the reason beside it (and in words
 * for screen readers), so "no value" can never be read as 0.
 */
export function Measurement({ value, unit, decimals = 1, missingReason }: MeasurementProps) {
  const text = formatMeasurement(value, unit, decimals);
  if (text) return <span class="measure">{text}</span>;
  return (
    <span class="measure measure-missing">
      <span aria-hidden="true">—</span>
      <span class="visually-hidden">no value</span>
      {missingReason && <span class="measure-reason"> ({missingReason})</span>}
    </span>
  );
}
