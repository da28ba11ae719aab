import type { SafeHtml } from '../text/safe-markdown.ts';

// The plain data the page components take. The data layer (queries, API) maps its rows onto these;
// components never see SQL rows, sessions or tokens.

export type Role = 'admin' | 'technician' | 'farmer';
export type Grade = 'A' | 'M' | 'R';
export type ScanStatus = 'uploaded' | 'ingested' | 'graded' | 'error';

/** The signed-in person as the header shows them. */
export type Viewer = { name: string; email: string; roles: readonly Role[] };

/**
 * One row of a scans list (and of a live update). Times are UTC; `farmTz` is the IANA zone they are
 * shown in (timeZoneAt(farm location), 'UTC' when unknown). Missing measurements are null — with the
 * reason in `missingReason` (e.g. "no pixel spacing") — never 0.
 */
export type ScanRow = {
  id: string;
  captureId: string;
  capturedAt: Date | string | null;
  farmTz: string;
  status: ScanStatus;
  grade: Grade | null;
  gradeReasons?: readonly string[];
  reaCm2: number | null;
  fatMm: number | null;
  missingReason?: string;
  confidence?: number | null;
  /** Where the thumbnail loads from (the access-checked redirector to a fresh presigned URL); null while there is none. */
  thumbUrl: string | null;
  farmName?: string;
  animalTag?: string | null;
  deviceCode?: string;
  /** Link target of the row; `/scans/{id}` when absent. */
  href?: string;
};

export type FlashKind = 'success' | 'error' | 'info' | 'warning';
export type Flash = { kind: FlashKind; text: string };

/**
 * Admin announcements. `body` is plain text, shown as paragraphs, never as HTML. `safeHtml`, when
 * given, is the server's sanitised rendering of the stored text (`renderStoredText`: Markdown without
 * raw HTML, http(s)/mailto links only) and is shown instead — never anything else.
 */
export type Announcement = {
  id: string;
  title: string;
  body: string;
  publishedAt: Date | string;
  safeHtml?: SafeHtml;
};
