export type ImageDecodeErrorCode =
  | 'unreadable'
  | 'not_image'
  | 'unsupported_bmp'
  | 'unsupported_dicom'
  | 'truncated';

/**
 * Input that is not a decodable image. `code` is stable for branching (CLIs map it to exit 2);
 * the message names the file (when known) and what is wrong.
 */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  readonly code: ImageDecodeErrorCode;
  constructor(code: ImageDecodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
