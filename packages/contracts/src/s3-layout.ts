import { LayoutError } from './layout-error.ts';
import {
  BUCKET_PATTERN,
  CAPTURE_ID_PATTERN,
  DEVICE_CODE_PATTERN,
  FILE_NAME_PATTERN,
  UTC_TIMESTAMP_PATTERN,
} from './patterns.ts';

/** The commit marker of a capture directory: uploaded last, the relay fires on it. */
export const META_FILE = 'meta.json';

const deviceCodeRe = new RegExp(DEVICE_CODE_PATTERN);
const captureIdRe = new RegExp(CAPTURE_ID_PATTERN);
const fileNameRe = new RegExp(FILE_NAME_PATTERN);
const bucketRe = new RegExp(BUCKET_PATTERN);
const utcTimestampRe = new RegExp(UTC_TIMESTAMP_PATTERN);

/** True for a device code the layout accepts, e.g. 'dev-0001' (lowercase, 1-63 of a-z 0-9 _ -). */
export function isValidDeviceCode(s: unknown): s is string {
  return typeof s === 'string' && deviceCodeRe.test(s);
}

/** True for a capture id the layout accepts, e.g. 'cap_1757423584'. */
export function isValidCaptureId(s: unknown): s is string {
  return typeof s === 'string' && captureIdRe.test(s);
}

/** True for a plain file name inside a capture directory, e.g. 'image.png' (no slashes, no leading dot). */
export function isValidFileName(s: unknown): s is string {
  return typeof s === 'string' && fileNameRe.test(s);
}

/** True for an S3 bucket name (3-63 chars of a-z 0-9 . -, not an IP address, no '..'). */
export function isValidBucketName(s: unknown): s is string {
  return typeof s === 'string' && bucketRe.test(s) && !s.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(s);
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function checkDeviceCode(deviceCode: unknown): string {
  if (!isValidDeviceCode(deviceCode)) {
    throw new LayoutError(
      'invalid_device_code',
      `invalid device_code ${show(deviceCode)}: expected 1-63 of a-z 0-9 _ -`,
    );
  }
  return deviceCode;
}

function checkCaptureId(captureId: unknown): string {
  if (!isValidCaptureId(captureId)) {
    throw new LayoutError(
      'invalid_capture_id',
      `invalid capture_id ${show(captureId)}: expected "cap_" + 1-96 of A-Z a-z 0-9 _ -`,
    );
  }
  return captureId;
}

function checkFileName(file: unknown): string {
  if (!isValidFileName(file)) {
    throw new LayoutError(
      'invalid_file_name',
      `invalid file name ${show(file)}: expected a plain name of A-Z a-z 0-9 . _ - (no slashes, no leading dot)`,
    );
  }
  return file;
}

function checkBucket(bucket: unknown): string {
  if (!isValidBucketName(bucket))
    throw new LayoutError('invalid_bucket', `invalid bucket name ${show(bucket)}`);
  return bucket;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Checks zero-padded YYYY/MM/DD parts name a real calendar day (1970-9999; Pis without RTC boot in 1970). */
function checkDateParts(year: string, month: string, day: string): void {
  const ok =
    /^\d{4}$/.test(year) &&
    /^\d{2}$/.test(month) &&
    /^\d{2}$/.test(day) &&
    Number(year) >= 1970 &&
    Number(month) >= 1 &&
    Number(month) <= 12 &&
    Number(day) >= 1 &&
    Number(day) <= daysInMonth(Number(year), Number(month));
  if (!ok)
    throw new LayoutError(
      'invalid_date',
      `invalid date parts ${year}/${month}/${day}: expected a real YYYY/MM/DD`,
    );
}

function toDate(capturedAt: Date | string): Date {
  const date =
    typeof capturedAt === 'string' && utcTimestampRe.test(capturedAt) ? new Date(capturedAt) : capturedAt;
  if (
    !(date instanceof Date) ||
    Number.isNaN(date.getTime()) ||
    date.getUTCFullYear() < 1970 ||
    date.getUTCFullYear() > 9999
  ) {
    throw new LayoutError(
      'invalid_captured_at',
      `invalid captured_at ${show(capturedAt)}: expected a Date or a UTC timestamp ending in Z`,
    );
  }
  return date;
}

export type RawCaptureDirParts = { deviceCode: string; capturedAt: Date | string; captureId: string };

/**
 * The raw capture directory `raw/{device_code}/{YYYY}/{MM}/{DD}/{capture_id}/` (date parts in UTC).
 *
 * @example rawCaptureDir({ deviceCode: 'dev-0001', capturedAt: '2025-09-09T14:18:32Z', captureId: 'cap_1' })
 * // 'raw/dev-0001/2025/09/09/cap_1/'
 */
export function rawCaptureDir({ deviceCode, capturedAt, captureId }: RawCaptureDirParts): string {
  const iso = toDate(capturedAt).toISOString(); // always UTC, 'YYYY-MM-DDTHH:mm:ss.sssZ'
  const [year, month, day] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  return `raw/${checkDeviceCode(deviceCode)}/${year}/${month}/${day}/${checkCaptureId(captureId)}/`;
}

/** Key of one file in a raw capture directory, e.g. 'raw/dev-0001/2025/09/09/cap_1/meta.json'. */
export function rawObjectKey(parts: RawCaptureDirParts & { file: string }): string {
  return rawCaptureDir(parts) + checkFileName(parts.file);
}

export type RawKeyParts = {
  deviceCode: string;
  year: string;
  month: string;
  day: string;
  captureId: string;
  /** The capture directory, with trailing slash: the webhook's relative ingest_key. */
  dir: string;
  /** The file name, or null when the key is the directory itself. */
  file: string | null;
};

/**
 * Parse a raw key, either a directory (`…/{capture_id}/`) or a file in it (`…/{capture_id}/{file}`).
 * Throws LayoutError for anything else. Date parts stay zero-padded strings as they appear in the key.
 */
export function parseRawKey(key: string): RawKeyParts {
  const parts = typeof key === 'string' ? key.split('/') : [];
  if (parts.length !== 7 || parts[0] !== 'raw') {
    throw new LayoutError(
      'invalid_key',
      `not a raw capture key ${show(key)}: expected raw/{device_code}/{YYYY}/{MM}/{DD}/{capture_id}/[file]`,
    );
  }
  const [, deviceCode = '', year = '', month = '', day = '', captureId = '', file = ''] = parts;
  checkDeviceCode(deviceCode);
  checkDateParts(year, month, day);
  checkCaptureId(captureId);
  if (file !== '') checkFileName(file);
  const dir = `raw/${deviceCode}/${year}/${month}/${day}/${captureId}/`;
  return { deviceCode, year, month, day, captureId, dir, file: file === '' ? null : file };
}

/** Key of a derived file (overlay, mask) for a capture: 'processed/{capture_id}/{file}'. */
export function processedObjectKey(captureId: string, file: string): string {
  return `processed/${checkCaptureId(captureId)}/${checkFileName(file)}`;
}

/** Parse 'processed/{capture_id}/{file}'. Throws LayoutError for anything else. */
export function parseProcessedKey(key: string): { captureId: string; file: string } {
  const parts = typeof key === 'string' ? key.split('/') : [];
  if (parts.length !== 3 || parts[0] !== 'processed') {
    throw new LayoutError(
      'invalid_key',
      `not a processed key ${show(key)}: expected processed/{capture_id}/{file}`,
    );
  }
  return { captureId: checkCaptureId(parts[1]), file: checkFileName(parts[2]) };
}

/**
 * Map the webhook's relative ingest_key (a raw capture dir) to the DB's idempotency key.
 *
 * @example toIngestKeyUri('cti-dev', 'raw/dev-0001/2025/09/09/cap_1/') // 's3://cti-dev/raw/dev-0001/2025/09/09/cap_1/'
 */
export function toIngestKeyUri(bucket: string, dir: string): string {
  const parsed = parseRawKey(dir);
  if (parsed.file !== null)
    throw new LayoutError(
      'invalid_key',
      `ingest_key must be a capture directory ending in '/', got ${show(dir)}`,
    );
  return `s3://${checkBucket(bucket)}/${parsed.dir}`;
}

/** Inverse of toIngestKeyUri: 's3://{bucket}/raw/…/' → { bucket, dir }. Throws LayoutError. */
export function fromIngestKeyUri(uri: string): { bucket: string; dir: string } {
  const match = typeof uri === 'string' ? /^s3:\/\/([^/]+)\/(.*)$/.exec(uri) : null;
  if (!match) throw new LayoutError('invalid_uri', `not an s3:// ingest key ${show(uri)}`);
  const bucket = checkBucket(match[1]);
  const parsed = parseRawKey(match[2] ?? '');
  if (parsed.file !== null)
    throw new LayoutError('invalid_uri', `ingest key must end at the capture directory, got ${show(uri)}`);
  return { bucket, dir: parsed.dir };
}
