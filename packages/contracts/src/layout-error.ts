/** Why a key, name or URI was refused by the S3 layout helpers. Branch on `code`, not on the message. */
export type LayoutErrorCode =
  | 'invalid_device_code'
  | 'invalid_capture_id'
  | 'invalid_file_name'
  | 'invalid_date'
  | 'invalid_captured_at'
  | 'invalid_bucket'
  | 'invalid_key'
  | 'invalid_uri';

/**
 * Thrown by the layout helpers for anything that does not fit the layout or could escape it
 * (`..`, slashes or odd characters in a part, impossible dates, keys outside raw/ or processed/).
 *
 * @example
 * try { parseRawKey(key) } catch (e) { if (e instanceof LayoutError && e.code === 'invalid_key') ... }
 */
export class LayoutError extends Error {
  readonly code: LayoutErrorCode;

  constructor(code: LayoutErrorCode, message: string) {
    super(message);
    this.name = 'LayoutError';
    this.code = code;
  }
}
