import type { SseEvent } from '../sse.ts';
import type { ScanRow } from '../view-types.ts';
import { type Column, DataTable, TableRow } from './data-table.tsx';
import { GradeBadge } from './grade-badge.tsx';
import { LocalTime } from './local-time.tsx';
import { Measurement } from './measurement.tsx';
import { ScanThumb } from './scan-image.tsx';
import { StatusBadge } from './status-badge.tsx';

const hrefOf = (row: ScanRow) => row.href ?? `/scans/${encodeURIComponent(row.id)}`;

// A value not measured because the scan is not graded yet says so, rather than a bare dash.
const reason = (row: ScanRow) =>
  row.missingReason ?? (row.status === 'graded' ? undefined : 'not graded yet');

export const SCAN_COLUMNS: readonly Column<ScanRow>[] = [
  { header: 'Image', cell: (r) => <ScanThumb url={r.thumbUrl} alt={`Scan ${r.captureId}`} /> },
  {
    header: 'Captured',
    primary: true,
    cell: (r) => (
      <a href={hrefOf(r)}>
        <LocalTime utc={r.capturedAt} timeZone={r.farmTz} />
      </a>
    ),
  },
  // The capture id is on the scan's page; a phone or tablet row keeps its width for the figures.
  { header: 'Capture', wideOnly: true, tabletHidden: true, cell: (r) => <code>{r.captureId}</code> },
  { header: 'Farm', cell: (r) => r.farmName ?? <span class="muted">unassigned</span> },
  { header: 'Animal', cell: (r) => r.animalTag ?? <span class="muted">—</span> },
  { header: 'Status', cell: (r) => <StatusBadge status={r.status} /> },
  { header: 'Grade', cell: (r) => <GradeBadge grade={r.grade} reasons={r.gradeReasons} /> },
  {
    header: 'Ribeye area',
    numeric: true,
    cell: (r) => <Measurement value={r.reaCm2} unit="cm²" missingReason={reason(r)} />,
  },
  {
    header: 'Fat',
    numeric: true,
    cell: (r) => <Measurement value={r.fatMm} unit="mm" missingReason={reason(r)} />,
  },
];

const rowAttrs = (r: ScanRow): Record<string, string> => ({
  'data-scan-id': r.id,
  'data-captured-at': r.capturedAt ? new Date(r.capturedAt).toISOString() : '',
});

export type ScansTableProps = {
  rows: readonly ScanRow[];
  caption?: string;
  /** URL of the SSE stream (same filters as the list): live-scans.js inserts and updates rows from it. */
  liveSrc?: string;
};

/** The scans list: thumbnail, local time, farm, animal, status, grade, REA and fat thickness. */
export function ScansTable({ rows, caption = 'Scans, newest first', liveSrc }: ScansTableProps) {
  return (
    <>
      <DataTable
        id="scans"
        caption={caption}
        captionHidden
        columns={SCAN_COLUMNS}
        rows={rows}
        rowAttrs={rowAttrs}
        attrs={liveSrc ? { 'data-live-src': liveSrc } : {}}
      />
      {liveSrc && <p class="live-status visually-hidden" aria-live="polite" data-live-status="" />}
    </>
  );
}

/**
 * The SSE event for a new or changed scan: its row rendered by the same component as the list, so the
 * page script only places HTML it did not build (no second rendering of a row in JavaScript).
 */
export function scanRowEvent(row: ScanRow, eventId?: string): SseEvent {
  return {
    event: 'scan',
    ...(eventId ? { id: eventId } : {}),
    data: {
      id: row.id,
      capturedAt: row.capturedAt ? new Date(row.capturedAt).toISOString() : null,
      label: `Scan ${row.captureId} ${row.status === 'graded' ? 'graded' : 'arrived'}`,
      html: String(TableRow({ row, columns: SCAN_COLUMNS, attrs: rowAttrs(row) })),
    },
  };
}
