/** The 8 bytes every PNG starts with. */
export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Is this PNG 8-bit gray (with or without alpha) and without an ICC profile — read from its IHDR and
 * the chunks before the first IDAT, without decoding? null when the bytes are not a well-formed PNG
 * header (the caller then asks the decoder). sharp's metadata() says the same for ~1 ms of the
 * event loop per image; the worker asks this for every scan.
 *
 * @example if (pngIsPlainGray(bytes)) image.toColourspace('b-w');
 */
export function pngIsPlainGray(bytes: Uint8Array): boolean | null {
  if (bytes.length < 33 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at: number) =>
    String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (type(12) !== 'IHDR') return null;
  const bitDepth = bytes[24];
  const colourType = bytes[25];
  // Colour types 0 (gray) and 4 (gray + alpha); palette, RGB and RGBA are colour sources.
  if (bitDepth !== 8 || (colourType !== 0 && colourType !== 4)) return false;
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const chunk = type(at + 4);
    if (chunk === 'iCCP') return false;
    if (chunk === 'IDAT') return true;
    at += 12 + length;
  }
  return null;
}
