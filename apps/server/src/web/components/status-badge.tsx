import type { ScanStatus } from '../view-types.ts';

const LABELS: Record<ScanStatus, string> = {
  uploaded: 'uploaded',
  ingested: 'waiting for grading',
  graded: 'graded',
  error: 'failed',
};

/** A scan's pipeline status in words (colour only repeats what the words say). */
export function StatusBadge({ status }: { status: ScanStatus }) {
  return <span class={`status status-${status}`}>{LABELS[status]}</span>;
}
