import sharp, { type OutputInfo } from 'sharp';
import type { RasterImage } from '../gray-image.ts';
import { imageHeaderSize } from '../image-header-size.ts';
import {
  type DicomDataset,
  dicomError,
  type Fragments,
  fragmentAt,
  PIXEL_DATA,
  tag,
} from './dicom-dataset.ts';
import { decodeRleFrame } from './dicom-rle.ts';
import { nativeFrameBytes, type PixelFormat } from './pixel-format.ts';
import type { TransferSyntax } from './transfer-syntax.ts';

const EXTENDED_OFFSET_TABLE = tag(0x7fe0, 0x0001);

/** The frame's samples as stored uncompressed (`planar` as in the file), or a JPEG already decoded. */
export type StoredFrame =
  | { kind: 'native'; bytes: Uint8Array; planar: 0 | 1 }
  | { kind: 'decoded'; image: RasterImage };

/**
 * The last frame of the pixel data (a cine clip's last frame is the image frozen on screen), whatever
 * the transfer syntax: uncompressed samples sliced out (the pixel data must hold every frame, else the
 * file is cut short), RLE segments decoded, JPEG fragments joined and decoded by sharp (which turns
 * YBR into RGB).
 *
 * @example const stored = await lastFrame(dataset, syntax, format, 'IM0001');
 */
export async function lastFrame(
  ds: DicomDataset,
  syntax: TransferSyntax,
  format: PixelFormat,
  name: string,
): Promise<StoredFrame> {
  const pixels = ds.get(PIXEL_DATA);
  if (!pixels)
    throw dicomError('truncated', name, 'DICOM file has no Pixel Data (7FE0,0010): cut short, or no image');
  if (syntax.pixels === 'native') {
    if (pixels.fragments)
      throw dicomError('not_image', name, `DICOM ${syntax.name} with encapsulated pixel data`);
    const size = nativeFrameBytes(format);
    const need = size * format.frames;
    if (pixels.value.length < need)
      throw dicomError(
        'truncated',
        name,
        `DICOM pixel data holds ${pixels.value.length} bytes, ${format.frames} frame(s) of ${format.columns}×${format.rows} need ${need}`,
      );
    // YBR_FULL_422 is always stored as Y1 Y2 Cb Cr pairs (PS3.3 C.7.6.3.1.3: its Planar Configuration
    // shall be 0); a file saying 1 is read as the pairs it holds, not as planes it cannot hold.
    const planar = format.photometric === 'YBR_FULL_422' ? 0 : format.planar;
    return { kind: 'native', bytes: pixels.value.subarray(need - size, need), planar };
  }
  if (!pixels.fragments)
    throw dicomError('not_image', name, `DICOM ${syntax.name} without encapsulated pixel data`);
  const frame = lastFrameBytes(pixels.fragments, ds, format.frames, syntax.pixels === 'jpeg', name);
  if (syntax.pixels === 'rle') return { kind: 'native', bytes: fromRle(frame, format, name), planar: 1 };
  return { kind: 'decoded', image: await fromJpeg(frame, format, name) };
}

/**
 * The last frame's encapsulated bytes, its fragments joined: the frame starts where the Extended
 * Offset Table (7FE0,0001), else the Basic Offset Table, says when it has one entry a frame; else each
 * frame is one fragment; else (JPEG) each frame starts at a fragment that starts with a JPEG SOI marker.
 */
function lastFrameBytes(
  fragments: Fragments,
  ds: DicomDataset,
  frames: number,
  jpeg: boolean,
  name: string,
): Buffer {
  const count = fragments.starts.length - 1; // item 0 is the Basic Offset Table
  if (count === 0) throw dicomError('truncated', name, 'DICOM encapsulated pixel data holds no fragment');
  const join = (first: number) => {
    // Copied one by one, not gathered into an array of views: there may be a million of them.
    let length = 0;
    for (let i = first; i <= count; i++) length += fragments.lengths[i]!;
    const out = Buffer.allocUnsafe(length);
    for (let i = first, at = 0; i <= count; at += fragments.lengths[i]!, i++)
      out.set(fragmentAt(fragments, i), at);
    return out;
  };
  if (frames === 1) return join(1);
  const offset = lastFrameOffset(fragmentAt(fragments, 0), ds.get(EXTENDED_OFFSET_TABLE)?.value, frames);
  if (offset !== undefined) {
    // Offsets count from the first fragment's item tag; each item is 8 bytes of tag and length, then its data.
    const first = fragments.starts[1]! - 8;
    const index = fragments.starts.indexOf(first + offset + 8, 1);
    if (index < 1)
      throw dicomError(
        'not_image',
        name,
        `DICOM offset table points at byte ${offset}, where no fragment starts`,
      );
    return join(index);
  }
  if (count === frames) return Buffer.from(fragmentAt(fragments, count));
  let lastStart = -1;
  let starts = 0;
  for (let i = 1; jpeg && i <= count; i++) {
    const f = fragmentAt(fragments, i);
    if (f[0] === 0xff && f[1] === 0xd8) [lastStart, starts] = [i, starts + 1];
  }
  if (starts === frames) return join(lastStart);
  throw dicomError(
    'not_image',
    name,
    `DICOM pixel data: ${count} fragments for ${frames} frames and no offset table`,
  );
}

/**
 * Where the last frame starts (bytes from the first fragment's item tag): the Extended Offset Table's
 * 64-bit entry (PS3.5 A.4: the Basic Offset Table is then empty), else the Basic Offset Table's 32-bit
 * one; undefined when neither has an entry a frame.
 */
function lastFrameOffset(
  basic: Uint8Array,
  extended: Uint8Array | undefined,
  frames: number,
): number | undefined {
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (extended && extended.length >= 8 * frames)
    return Number(view(extended).getBigUint64(8 * (frames - 1), true));
  if (basic.length >= 4 * frames) return view(basic).getUint32(4 * (frames - 1), true);
  return undefined;
}

/** RLE segments to uncompressed samples: planes for 8-bit (planar 1), little-endian words for 16-bit gray. */
function fromRle(frame: Uint8Array, f: PixelFormat, name: string): Uint8Array {
  const bytesPerSample = f.bitsAllocated / 8;
  const count = f.rows * f.columns;
  const segments = decodeRleFrame(frame, f.samples * bytesPerSample, count, name);
  if (bytesPerSample === 1) return segments.length === 1 ? segments[0]! : Buffer.concat(segments);
  const [high, low] = segments as [Uint8Array, Uint8Array];
  const out = new Uint8Array(2 * count);
  for (let i = 0; i < count; i++) {
    out[2 * i] = low[i]!;
    out[2 * i + 1] = high[i]!;
  }
  return out;
}

async function fromJpeg(jpeg: Buffer, f: PixelFormat, name: string): Promise<RasterImage> {
  if (f.bitsAllocated !== 8)
    throw dicomError(
      'unsupported_dicom',
      name,
      `DICOM JPEG with ${f.bitsStored}-bit samples is not supported (8-bit only)`,
    );
  // The JPEG's own header must agree with the dataset before sharp allocates what it declares.
  const declared = imageHeaderSize(jpeg);
  if (!declared || declared.width !== f.columns || declared.height !== f.rows) {
    const says = declared ? `${declared.width}×${declared.height}` : 'no readable size';
    throw dicomError(
      'not_image',
      name,
      `DICOM JPEG frame declares ${says}, the dataset says ${f.columns}×${f.rows}`,
    );
  }
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(jpeg, { failOn: 'error', limitInputPixels: f.rows * f.columns })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    throw dicomError('not_image', name, `DICOM JPEG frame does not decode (cut short or corrupt): ${reason}`);
  }
  const { width, height, channels } = decoded.info;
  if (width !== f.columns || height !== f.rows)
    throw dicomError(
      'not_image',
      name,
      `DICOM JPEG frame is ${width}×${height}, the dataset says ${f.columns}×${f.rows}`,
    );
  // A gray JPEG comes out of sharp as 3 equal channels: keep one.
  const keep = f.samples === 1 || channels < 3 ? 1 : 3;
  const data = new Uint8Array(width * height * keep);
  for (let i = 0; i < width * height; i++)
    for (let c = 0; c < keep; c++) data[i * keep + c] = decoded.data[i * channels + c]!;
  return { data, width, height, channels: keep };
}
