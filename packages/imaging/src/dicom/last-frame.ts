import sharp, { type OutputInfo } from 'sharp';
import type { RasterImage } from '../gray-image.ts';
import { imageHeaderSize } from '../image-header-size.ts';
import { type DicomDataset, dicomError, PIXEL_DATA } from './dicom-dataset.ts';
import { decodeRleFrame } from './dicom-rle.ts';
import { nativeFrameBytes, type PixelFormat } from './pixel-format.ts';
import type { TransferSyntax } from './transfer-syntax.ts';

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
    return { kind: 'native', bytes: pixels.value.subarray(need - size, need), planar: format.planar };
  }
  if (!pixels.fragments)
    throw dicomError('not_image', name, `DICOM ${syntax.name} without encapsulated pixel data`);
  const fragments = lastFrameFragments(pixels.fragments, format.frames, syntax.pixels === 'jpeg', name);
  if (syntax.pixels === 'rle') return { kind: 'native', bytes: fromRle(fragments, format, name), planar: 1 };
  return { kind: 'decoded', image: await fromJpeg(Buffer.concat(fragments), format, name) };
}

/**
 * The fragments of the last frame: by the Basic Offset Table when it has one entry a frame, else one
 * fragment a frame, else (JPEG) each frame starting where a fragment starts with a JPEG SOI marker.
 */
function lastFrameFragments(all: Uint8Array[], frames: number, jpeg: boolean, name: string): Uint8Array[] {
  const [table, ...data] = all;
  if (data.length === 0)
    throw dicomError('truncated', name, 'DICOM encapsulated pixel data holds no fragment');
  if (frames === 1) return data;
  if (table && table.length >= 4 * frames) {
    const last = new DataView(table.buffer, table.byteOffset, table.byteLength).getUint32(
      4 * (frames - 1),
      true,
    );
    for (let i = 0, at = 0; i < data.length; at += 8 + data[i]!.length, i++)
      if (at === last) return data.slice(i);
    throw dicomError(
      'not_image',
      name,
      `DICOM offset table points at byte ${last}, where no fragment starts`,
    );
  }
  if (data.length === frames) return [data[frames - 1]!];
  const starts = data.flatMap((f, i) => (jpeg && f[0] === 0xff && f[1] === 0xd8 ? [i] : []));
  if (starts.length === frames) return data.slice(starts[frames - 1]);
  throw dicomError(
    'not_image',
    name,
    `DICOM pixel data: ${data.length} fragments for ${frames} frames and no offset table`,
  );
}

/** RLE segments to uncompressed samples: planes for 8-bit (planar 1), little-endian words for 16-bit gray. */
function fromRle(fragments: Uint8Array[], f: PixelFormat, name: string): Uint8Array {
  const bytesPerSample = f.bitsAllocated / 8;
  const count = f.rows * f.columns;
  const segments = decodeRleFrame(Buffer.concat(fragments), f.samples * bytesPerSample, count, name);
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
