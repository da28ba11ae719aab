/**
 * Shifted, flipped and cropped copies of a real scan whose true box moves with the image, so that a
 * box that ignores the image cannot score well by sitting where ribeyes usually are.
 */
import type { GrayImage } from '@cti/imaging';
import type { Box } from './box-metrics.ts';

export type Variant = { name: string; image: GrayImage; box: Box };

function clipBox(b: Box, w: number, h: number): Box {
  return [Math.max(0, b[0]), Math.max(0, b[1]), Math.min(w, b[2]), Math.min(h, b[3])];
}

/** Crops [x0,y0,x1,y1) out of the image; the box is translated and clipped. */
export function cropVariant(name: string, img: GrayImage, box: Box, r: Box): Variant {
  const [x0, y0, x1, y1] = r;
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    data.set(img.data.subarray((y + y0) * img.width + x0, (y + y0) * img.width + x1), y * width);
  return {
    name,
    image: { data, width, height },
    box: clipBox([box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0], width, height),
  };
}

export function flipVariant(img: GrayImage, box: Box): Variant {
  const { width: w, height: h } = img;
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = img.data[y * w + (w - 1 - x)]!;
  return {
    name: 'flipped',
    image: { data, width: w, height: h },
    box: [w - box[2], box[1], w - box[0], box[3]],
  };
}

/** Content moved by (dx, dy) inside the same frame: black fills the uncovered side, the far side is lost. */
export function shiftVariant(name: string, img: GrayImage, box: Box, dx: number, dy: number): Variant {
  const { width: w, height: h } = img;
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < w; x++) {
      const sx = x - dx;
      if (sx >= 0 && sx < w) data[y * w + x] = img.data[sy * w + sx]!;
    }
  }
  return {
    name,
    image: { data, width: w, height: h },
    box: clipBox([box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy], w, h),
  };
}

export function realScanVariants(img: GrayImage, box: Box): Variant[] {
  const { width: w, height: h } = img;
  const f = (v: number, n: number) => Math.round(v * n);
  return [
    { name: 'original', image: img, box },
    flipVariant(img, box),
    shiftVariant('shift right+down', img, box, f(0.15, w), f(0.08, h)),
    shiftVariant('shift left', img, box, -f(0.15, w), 0),
    cropVariant('crop left 25%', img, box, [f(0.25, w), 0, w, h]),
    cropVariant('crop right 25%', img, box, [0, 0, f(0.75, w), h]),
    cropVariant('crop bottom 35%', img, box, [0, 0, w, f(0.65, h)]),
    cropVariant('zoom window', img, box, [f(0.12, w), f(0.05, h), f(0.82, w), f(0.8, h)]),
  ];
}
