/** One-channel 8-bit image, row-major, no padding. */
export type GrayImage = { data: Uint8Array; width: number; height: number };

/** 8-bit image with 1 (gray) or 3 (RGB, interleaved) channels. */
export type RasterImage = { data: Uint8Array; width: number; height: number; channels: 1 | 3 };

export function assertGrayImage(image: GrayImage, name = 'image'): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`${name}: width and height must be positive integers, got ${width}×${height}`);
  }
  if (data.length !== width * height) {
    throw new RangeError(
      `${name}: data has ${data.length} bytes, expected ${width}×${height} = ${width * height}`,
    );
  }
}

/**
 * RGB → gray with Rec. 601 weights, rounded: round(0.299 R + 0.587 G + 0.114 B). The Python trainer
 * computes the same (models' preprocess-parity test proves it), so every decoder goes through here.
 */
export function toGray(image: RasterImage): GrayImage {
  const { width, height, data, channels } = image;
  if (channels === 1) return { data, width, height };
  const out = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < out.length; i++, p += 3) {
    out[i] = Math.round(0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!);
  }
  return { data: out, width, height };
}
