import { crc32, deflateSync } from 'node:zlib';

export type HandWrittenPngOptions = {
  width: number;
  height: number;
  /** 8 (default) or 16 bits per sample. */
  bitDepth?: 8 | 16;
  /** 0 gray (default), 2 RGB. */
  colourType?: 0 | 2;
  /**
   * The IDAT payload before deflate: scanlines, each a filter byte (0) then its samples (16-bit
   * samples big-endian). Default: all-zero scanlines of the declared size (they deflate ~1000:1, so a
   * small file can declare a huge image); `null`: no pixel data at all (a header-only file).
   */
  rows?: Buffer | null;
};

/**
 * A PNG written byte by byte (signature, IHDR, one IDAT, IEND, each chunk with its CRC), for tests that
 * need what encoders will not produce: a small file declaring 16000×16000, a header with no pixels, or
 * exact 16-bit samples.
 *
 * @example const bomb = handWrittenPng({ width: 16000, height: 16000 }); // ~750 kB, 256 MB of pixels
 */
export function handWrittenPng({
  width,
  height,
  bitDepth = 8,
  colourType = 0,
  rows,
}: HandWrittenPngOptions): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(4 + typed.length + 4); // length, type + data, CRC
    out.writeUInt32BE(data.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(crc32(typed), 4 + typed.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colourType;
  const channels = colourType === 2 ? 3 : 1;
  const scanlines =
    rows === undefined
      ? Buffer.alloc((1 + (width * channels * bitDepth) / 8) * height)
      : (rows ?? Buffer.alloc(0));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(scanlines, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
