import { createHash } from 'node:crypto';
import type { GrayImage, RasterImage } from '../gray-image.ts';
import { type RulerOptions, type RulerReading, readDepthRuler, rulerMargins } from './ruler-reading.ts';

export type RulerMemo = {
  /** readDepthRuler(image, options), from memory when the same margins were read before. */
  read(image: RasterImage | GrayImage, options?: RulerOptions): RulerReading;
  /** Readings served from memory and searched, since the memo was made. */
  readonly stats: { hits: number; misses: number };
};

/** Margins larger than this (a 1920×1080 RGB screen's are ~3 MB) are not kept in the scratch buffer. */
const MAX_MARGIN_BYTES = 4 << 20;

/**
 * SHA-256 of everything a ruler reading depends on (rulerMargins): the size, channels and scan area, and
 * the bytes of the columns outside it, gathered row by row into `scratch` (grown as needed and kept: a
 * hash update or a subarray per row would leave ~1,000 small objects of garbage per frame) and hashed at once.
 * Null for margins over MAX_MARGIN_BYTES: such a frame is searched, not remembered.
 */
function marginDigest(
  image: RasterImage | GrayImage,
  scanArea: [number, number, number, number],
  scratch: { bytes: Buffer },
): string | null {
  const { data, width, height } = image;
  const channels = 'channels' in image ? image.channels : 1;
  const a = Math.max(0, Math.min(width, scanArea[0])) * channels;
  const b = Math.max(0, Math.min(width, scanArea[2])) * channels;
  const stride = width * channels;
  const perRow = a + stride - b;
  if (perRow * height > MAX_MARGIN_BYTES) return null;
  if (scratch.bytes.length < perRow * height) scratch.bytes = Buffer.allocUnsafe(perRow * height);
  const source = Buffer.from(data.buffer, data.byteOffset, data.length);
  let at = 0;
  for (let row = 0; row < height * stride; row += stride) {
    at += source.copy(scratch.bytes, at, row, row + a);
    at += source.copy(scratch.bytes, at, row + b, row + stride);
  }
  return createHash('sha256')
    .update(`${width}x${height}x${channels} ${scanArea.join(',')}\n`)
    .update(scratch.bytes.subarray(0, at))
    .digest('base64');
}

/**
 * A bounded memo of readDepthRuler for a process that reads many frames of few screens (a grading
 * worker): a device's screen layout rarely changes, so its margins — ruler, labels and all — are often
 * byte for byte those of an earlier frame. The key is a SHA-256 of exactly what the reading depends on
 * (rulerMargins), so a reading from memory is the one the search would return; anything that differs in
 * the margins (another depth setting, a moved ruler, a clock in the margin ticking) is a miss, searched
 * in full. Without margins (no scan area, or one as wide as the image), or with margins over 4 MiB (a
 * huge frame), every read is a search. The least recently used of `maxEntries` readings is forgotten
 * first. Hashing the margins of a 640×480 screen costs ~0.15 ms; the search ~1.3 ms.
 *
 * @example const memo = createRulerMemo(); const ruler = memo.read(raster, { scanArea });
 */
export function createRulerMemo({ maxEntries = 64 }: { maxEntries?: number } = {}): RulerMemo {
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new RangeError(`ruler memo: maxEntries must be a positive integer, got ${maxEntries}`);
  const readings = new Map<string, RulerReading>();
  const stats = { hits: 0, misses: 0 };
  const scratch = { bytes: Buffer.alloc(0) };
  return {
    stats,
    read(image, options = {}) {
      const scanArea = rulerMargins(image, options);
      if (!scanArea?.every(Number.isInteger)) return readDepthRuler(image, options);
      const key = marginDigest(image, scanArea, scratch);
      if (key === null) return readDepthRuler(image, options);
      const known = readings.get(key);
      if (known) {
        stats.hits++;
        // Most recently used last: Map keeps insertion order.
        readings.delete(key);
        readings.set(key, known);
        return structuredClone(known);
      }
      stats.misses++;
      const reading = readDepthRuler(image, options);
      readings.set(key, structuredClone(reading));
      if (readings.size > maxEntries) readings.delete(readings.keys().next().value!);
      return reading;
    },
  };
}
