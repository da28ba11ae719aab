/** Binary mask operations on row-major Uint8Array masks (0 = background, 1 = foreground). */

export type Mask = { data: Uint8Array; width: number; height: number };

/**
 * Bilinear (half-pixel centres, like torch align_corners=False) resize of a float map to outW×outH,
 * thresholded: returns 1 where the interpolated value is >= threshold.
 */
export function resizeThreshold(
  src: Float32Array,
  srcW: number,
  srcH: number,
  outW: number,
  outH: number,
  threshold: number,
): Uint8Array {
  const out = new Uint8Array(outW * outH);
  const sx = srcW / outW;
  const sy = srcH / outH;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), srcH - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, srcH - 1);
    const wy = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), srcW - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, srcW - 1);
      const wx = fx - x0;
      const top = src[y0 * srcW + x0]! * (1 - wx) + src[y0 * srcW + x1]! * wx;
      const bottom = src[y1 * srcW + x0]! * (1 - wx) + src[y1 * srcW + x1]! * wx;
      out[y * outW + x] = top * (1 - wy) + bottom * wy >= threshold ? 1 : 0;
    }
  }
  return out;
}

/** Labels connected components (8- or 4-connected) of `value` pixels; returns labels and sizes. */
function label(mask: Mask, value: number, eight: boolean): { labels: Int32Array; sizes: number[] } {
  const { data, width: w, height: h } = mask;
  const labels = new Int32Array(w * h).fill(-1);
  const sizes: number[] = [];
  const stack = new Int32Array(w * h);
  const offsets = eight ? [-1, -1, 0, -1, 1, -1, -1, 0, 1, 0, -1, 1, 0, 1, 1, 1] : [0, -1, -1, 0, 1, 0, 0, 1];
  for (let start = 0; start < data.length; start++) {
    if (data[start] !== value || labels[start] !== -1) continue;
    const id = sizes.length;
    let top = 0;
    let size = 0;
    stack[top++] = start;
    labels[start] = id;
    while (top > 0) {
      const p = stack[--top]!;
      size++;
      const px = p % w;
      const py = (p - px) / w;
      for (let k = 0; k < offsets.length; k += 2) {
        const nx = px + offsets[k]!;
        const ny = py + offsets[k + 1]!;
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        const q = ny * w + nx;
        if (data[q] === value && labels[q] === -1) {
          labels[q] = id;
          stack[top++] = q;
        }
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

/** Keeps only the largest 8-connected foreground component. */
export function largestComponent(mask: Mask): Mask {
  const { labels, sizes } = label(mask, 1, true);
  const out = new Uint8Array(mask.data.length);
  if (sizes.length === 0) return { ...mask, data: out };
  const best = sizes.indexOf(Math.max(...sizes));
  for (let i = 0; i < out.length; i++) out[i] = labels[i] === best ? 1 : 0;
  return { ...mask, data: out };
}

/** Fills holes: background regions (4-connected) that do not touch the border become foreground. */
export function fillHoles(mask: Mask): Mask {
  const { width: w, height: h } = mask;
  const { labels, sizes } = label(mask, 0, false);
  const outside = new Uint8Array(sizes.length);
  for (let x = 0; x < w; x++) {
    for (const y of [0, h - 1]) if (labels[y * w + x]! >= 0) outside[labels[y * w + x]!] = 1;
  }
  for (let y = 0; y < h; y++) {
    for (const x of [0, w - 1]) if (labels[y * w + x]! >= 0) outside[labels[y * w + x]!] = 1;
  }
  const out = new Uint8Array(mask.data.length);
  for (let i = 0; i < out.length; i++) out[i] = mask.data[i] === 1 || outside[labels[i]!] === 0 ? 1 : 0;
  return { ...mask, data: out };
}

/** Bounding box [x0, y0, x1, y1] (exclusive ends) of the foreground, or null when empty. */
export function maskBbox(mask: Mask): [number, number, number, number] | null {
  let x0 = mask.width;
  let y0 = mask.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x] !== 1) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 + 1, y1 + 1];
}
