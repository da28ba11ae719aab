// The content types CTI stores. Anything else is opaque bytes; the server records it as such.
const byExtension: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  bmp: 'image/bmp',
  json: 'application/json',
  csv: 'text/csv',
  txt: 'text/plain',
  pdf: 'application/pdf',
  onnx: 'application/octet-stream',
};

/**
 * The MIME type recorded in `assets.mime_type` for a file name, by extension (case-insensitive).
 *
 * @example mimeTypeForFile('image.jpg') // 'image/jpeg'; mimeTypeForFile('blob.xyz') // 'application/octet-stream'
 */
export function mimeTypeForFile(name: string): string {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  return byExtension[ext] ?? 'application/octet-stream';
}
