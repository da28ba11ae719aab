import { dicomError } from './dicom-dataset.ts';

const HEADER = 64;
const MAX_SEGMENTS = 15;

/**
 * One RLE Lossless frame (DICOM PS3.5 Annex G) decoded into its segments, each `segmentLength` bytes
 * (rows × columns): one segment per byte of a sample, most significant byte first, samples in order
 * (8-bit RGB: R, G, B planes; 16-bit gray: high bytes, then low bytes). Each segment is PackBits: a
 * header byte n < 128 copies the next n + 1 bytes, n > 128 repeats the next byte 257 − n times, 128 is
 * nothing. A segment that runs out before `segmentLength` bytes is a 'truncated' error; one that would
 * write past them is cut (some encoders pad the last run).
 *
 * @example const [gray] = decodeRleFrame(fragment, 1, rows * columns, 'IM0001');
 */
export function decodeRleFrame(
  frame: Uint8Array,
  segmentCount: number,
  segmentLength: number,
  name: string,
): Uint8Array[] {
  if (frame.length < HEADER)
    throw dicomError(
      'truncated',
      name,
      `DICOM RLE frame of ${frame.length} bytes, shorter than its 64-byte header`,
    );
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const count = view.getUint32(0, true);
  if (count !== segmentCount || count > MAX_SEGMENTS)
    throw dicomError(
      'not_image',
      name,
      `DICOM RLE frame has ${count} segments, the image needs ${segmentCount}`,
    );
  const offsets = Array.from({ length: count }, (_, i) => view.getUint32(4 + 4 * i, true));
  return offsets.map((start, i) => {
    const end = i + 1 < count ? offsets[i + 1]! : frame.length;
    if (start < HEADER || end > frame.length || end < start)
      throw dicomError(
        'not_image',
        name,
        `DICOM RLE segment ${i} offset ${start} lies outside its frame (${frame.length} bytes)`,
      );
    return unpackBits(frame, start, end, segmentLength, `DICOM RLE segment ${i}`, name);
  });
}

function unpackBits(
  src: Uint8Array,
  at: number,
  end: number,
  length: number,
  what: string,
  name: string,
): Uint8Array {
  const out = new Uint8Array(length);
  let o = 0;
  while (o < length) {
    if (at >= end) throw dicomError('truncated', name, `${what} ends after ${o} of its ${length} bytes`);
    const n = src[at++]!;
    if (n < 128) {
      const count = Math.min(n + 1, length - o);
      if (at + count > end)
        throw dicomError(
          'truncated',
          name,
          `${what} ends inside a literal run, after ${o} of its ${length} bytes`,
        );
      out.set(src.subarray(at, at + count), o);
      at += n + 1;
      o += count;
    } else if (n > 128) {
      if (at >= end)
        throw dicomError(
          'truncated',
          name,
          `${what} ends inside a repeat run, after ${o} of its ${length} bytes`,
        );
      const count = Math.min(257 - n, length - o);
      out.fill(src[at++]!, o, o + count);
      o += count;
    }
  }
  return out;
}
