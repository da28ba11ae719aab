export type CaptureState = 'pending' | 'uploaded' | 'quarantined' | 'discarded';
export type ObjectState = 'pending' | 'uploading' | 'uploaded' | 'quarantined';

export interface CaptureFileInput {
  /** Plain file name inside the capture directory: 'image.png', 'mask.png', 'meta.json', … */
  name: string;
  data: Uint8Array;
}

export interface CommitCaptureInput {
  captureId: string;
  deviceCode: string;
  /** UTC time of the capture; decides the YYYY/MM/DD part of the S3 keys. */
  capturedAt: Date | string;
  /** Must include meta.json (the relay's commit marker, uploaded last). */
  files: CaptureFileInput[];
}

export interface CommittedObject {
  name: string;
  key: string;
  sha256: string;
  sizeBytes: number;
}

export interface CommitResult {
  captureId: string;
  objects: CommittedObject[];
  /** fsync calls this commit made (files, directories, the SQLite WAL). */
  fsyncs: number;
}

export interface OutboxObject extends CommittedObject {
  state: ObjectState;
  attempts: number;
  lastError: string | null;
  lastErrorAt: number | null;
  nextAttemptAt: number;
  uploadedAt: number | null;
}

export interface OutboxCapture {
  seq: number;
  captureId: string;
  deviceCode: string;
  capturedAt: string;
  committedAt: number;
  state: CaptureState;
  quarantineReason: string | null;
  uploadedAt: number | null;
  /** Given up by an operator (`cti-agent outbox discard`): when, why, and where its files went (null: deleted). */
  discardedAt: number | null;
  discardReason: string | null;
  discardedDir: string | null;
}

export interface OutboxCaptureDetail extends OutboxCapture {
  objects: OutboxObject[];
}

export interface OutboxLastError {
  at: number;
  message: string;
  captureId: string | null;
}

export interface OutboxSummary {
  pendingCaptures: number;
  /** Bytes of objects still to upload (uploaded parts of a pending capture not counted). */
  pendingBytes: number;
  /** Age of the oldest pending capture since its commit, or null when nothing is pending. */
  oldestPendingAgeMs: number | null;
  lastSuccessAt: number | null;
  lastError: OutboxLastError | null;
  quarantined: number;
  /** Captures an operator gave up (`cti-agent outbox discard`): neither pending nor quarantined. */
  discarded: number;
  /** Captures fully uploaded since the outbox was created (survives retention). */
  uploadedTotal: number;
}

/** What the captures not yet uploaded hold in the spool (every file of each such capture). */
export interface OutboxHeld {
  pendingCaptures: number;
  pendingBytes: number;
  quarantinedCaptures: number;
  quarantinedBytes: number;
  /** Discarded captures whose files were moved to `spool/discarded/` (not deleted): safe to delete once salvaged. */
  discardedCaptures: number;
  discardedBytes: number;
}
