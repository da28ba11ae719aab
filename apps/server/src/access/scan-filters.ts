import type { QueryParam } from '../api/api-route.ts';
import { dateTime, uuid } from '../api/common-schemas.ts';

export const SCAN_STATUSES = ['uploaded', 'ingested', 'graded', 'error'] as const;
export type ScanStatus = (typeof SCAN_STATUSES)[number];
export const GRADES = ['A', 'M', 'R'] as const;

/**
 * Filters of the scans list, shared by the JSON API, the pages, reports and exports (same names as
 * the query parameters). Every filter narrows what the principal may see anyway.
 */
export type ScanFilters = {
  farm_id?: string;
  device_id?: string;
  animal_id?: string;
  /** Scans of the animals in this contemporary group taken on the group's farm. */
  group_id?: string;
  capture_id?: string;
  /** Capture time (arrival time when unknown) >= from. */
  from?: string;
  /** Capture time < to. */
  to?: string;
  status?: ScanStatus;
  /** Grade of the latest grading result. */
  grade?: (typeof GRADES)[number];
  review_label?: string;
  /** Scans whose GPS point lies inside this farm's geofence (a farm the caller can see). */
  in_geofence_of?: string;
};

/** The query parameters of ScanFilters, for every route that filters scans (list, counts, exports). */
export const SCAN_FILTER_PARAMS: Record<keyof ScanFilters, QueryParam> = {
  farm_id: { schema: uuid, description: 'Only scans of this farm.' },
  device_id: { schema: uuid, description: 'Only scans taken by this device.' },
  animal_id: { schema: uuid, description: 'Only scans linked to this animal.' },
  group_id: {
    schema: uuid,
    description: "Only scans of animals in this contemporary group, taken on the group's farm.",
  },
  capture_id: { schema: { type: 'string', minLength: 1, maxLength: 200 }, description: 'Exact capture id.' },
  from: { schema: dateTime, description: 'Captured at or after (RFC 3339).' },
  to: { schema: dateTime, description: 'Captured before (RFC 3339).' },
  status: { schema: { type: 'string', enum: [...SCAN_STATUSES] }, description: 'Scan status.' },
  grade: {
    schema: { type: 'string', enum: [...GRADES] },
    description: 'Grade of the latest grading result.',
  },
  review_label: {
    schema: { type: 'string', minLength: 1, maxLength: 64 },
    description: 'Exact review label.',
  },
  in_geofence_of: { schema: uuid, description: "Only scans whose GPS point is inside this farm's geofence." },
};
