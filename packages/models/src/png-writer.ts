import { constants, crc32, deflateSync } from 'node:zlib';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: length, type, data, CRC-32 of type and data. */
function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export type EightBitPng = {
  width: number;
  height: number;
  /** Filtered scanlines: per row one filter-type byte and `width` bytes ((width + 1) × height). */
  rows: Uint8Array;
  /** Colour type 3's palette (RGB triples, at most 256); absent for colour type 0 (gray). */
  palette?: Uint8Array;
  /** zlib strategy for the IDAT stream (e.g. `Z_RLE` for masks, `Z_HUFFMAN_ONLY` for speckle). */
  strategy: number;
};

/**
 * An 8-bit gray (colour type 0) or palette (colour type 3) PNG, not interlaced, from scanlines the
 * caller has already filtered, deflated on the calling thread at zlib level 1 with `strategy`: for
 * images of a few hundred kB that is cheaper than handing them to libvips or to libuv's pool.
 */
export function encodeEightBitPng({ width, height, rows, palette, strategy }: EightBitPng): Buffer {
  if (rows.length !== (width + 1) * height) {
    throw new RangeError(`PNG rows: ${rows.length} bytes, expected (${width} + 1) × ${height}`);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth; compression, filter method and interlace are all 0
  header[9] = palette ? 3 : 0;
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    ...(palette ? [pngChunk('PLTE', palette)] : []),
    pngChunk('IDAT', deflateSync(rows, { level: 1, strategy })),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

export const { Z_RLE, Z_HUFFMAN_ONLY } = constants;
