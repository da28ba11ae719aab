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
  // The columns' source indices and weights are the same on every row: computed once.
  const xs0 = new Int32Array(outW);
  const xs1 = new Int32Array(outW);
  const wxs = new Float64Array(outW);
  for (let x = 0; x < outW; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), srcW - 1);
    xs0[x] = Math.floor(fx);
    xs1[x] = Math.min(xs0[x]! + 1, srcW - 1);
    wxs[x] = fx - xs0[x]!;
  }
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), srcH - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, srcH - 1);
    const wy = fy - y0;
    const r0 = y0 * srcW;
    const r1 = y1 * srcW;
    for (let x = 0; x < outW; x++) {
      const x0 = xs0[x]!;
      const x1 = xs1[x]!;
      const wx = wxs[x]!;
      const top = src[r0 + x0]! * (1 - wx) + src[r0 + x1]! * wx;
      const bottom = src[r1 + x0]! * (1 - wx) + src[r1 + x1]! * wx;
      out[y * outW + x] = top * (1 - wy) + bottom * wy >= threshold ? 1 : 0;
    }
  }
  return out;
}

/** Labels `q` with `id` and pushes it when it is unlabelled foreground; returns the new stack top. */
function reachForeground(
  data: Uint8Array,
  labels: Int32Array,
  stack: Int32Array,
  top: number,
  q: number,
  id: number,
): number {
  if (data[q] !== 1 || labels[q] !== 0) return top;
  labels[q] = id;
  stack[top] = q;
  return top + 1;
}

/** Keeps only the largest 8-connected foreground component (the first in raster order on a tie). */
export function largestComponent(mask: Mask): Mask {
  const { data, width: w } = mask;
  const labels = new Int32Array(data.length); // 0: not reached; components count from 1
  const stack = new Int32Array(data.length);
  const last = data.length - w;
  let best = 0;
  let bestSize = 0;
  let id = 0;
  for (let start = 0; start < data.length; start++) {
    if (data[start] !== 1 || labels[start] !== 0) continue;
    id++;
    let top = reachForeground(data, labels, stack, 0, start, id);
    let size = 0;
    while (top > 0) {
      const p = stack[--top]!;
      size++;
      const x = p % w;
      const left = x > 0;
      const right = x < w - 1;
      if (left) top = reachForeground(data, labels, stack, top, p - 1, id);
      if (right) top = reachForeground(data, labels, stack, top, p + 1, id);
      if (p >= w) {
        top = reachForeground(data, labels, stack, top, p - w, id);
        if (left) top = reachForeground(data, labels, stack, top, p - w - 1, id);
        if (right) top = reachForeground(data, labels, stack, top, p - w + 1, id);
      }
      if (p < last) {
        top = reachForeground(data, labels, stack, top, p + w, id);
        if (left) top = reachForeground(data, labels, stack, top, p + w - 1, id);
        if (right) top = reachForeground(data, labels, stack, top, p + w + 1, id);
      }
    }
    if (size > bestSize) {
      best = id;
      bestSize = size;
    }
  }
  const out = new Uint8Array(data.length);
  if (best > 0) for (let i = 0; i < out.length; i++) out[i] = labels[i] === best ? 1 : 0;
  return { ...mask, data: out };
}

/**
 * Fills holes: background regions (4-connected) that do not touch the border become foreground.
 * One flood fill of the background from the border (what it reaches stays background) instead of
 * labelling every background region, and only inside the foreground's box grown by one pixel: all
 * background outside that box touches the border, and the box's own edge pixels — background, or the
 * image's border where the box meets it — are the seeds. The same mask, in a fraction of the time.
 */
export function fillHoles(mask: Mask): Mask {
  const { data, width: w, height: h } = mask;
  const out = new Uint8Array(data.length);
  const box = maskBbox(mask);
  if (!box) return { ...mask, data: out };
  const bx0 = Math.max(0, box[0] - 1);
  const by0 = Math.max(0, box[1] - 1);
  const bx1 = Math.min(w, box[2] + 1);
  const by1 = Math.min(h, box[3] + 1);
  for (let y = by0; y < by1; y++) out.fill(1, y * w + bx0, y * w + bx1);
  const stack = new Int32Array((bx1 - bx0) * (by1 - by0));
  let top = 0;
  const reach = (i: number) => {
    if (data[i] === 0 && out[i] === 1) {
      out[i] = 0;
      stack[top++] = i;
    }
  };
  for (let x = bx0; x < bx1; x++) {
    reach(by0 * w + x);
    reach((by1 - 1) * w + x);
  }
  for (let y = by0; y < by1; y++) {
    reach(y * w + bx0);
    reach(y * w + bx1 - 1);
  }
  const first = (by0 + 1) * w;
  const last = (by1 - 1) * w;
  while (top > 0) {
    const p = stack[--top]!;
    const x = p % w;
    if (x > bx0) reach(p - 1);
    if (x < bx1 - 1) reach(p + 1);
    if (p >= first) reach(p - w);
    if (p < last) reach(p + w);
  }
  return { ...mask, data: out };
}

/**
 * Bounding box [x0, y0, x1, y1] (exclusive ends) of the foreground, or null when empty. The first and
 * last rows come from indexOf/lastIndexOf; each row in between is read only outside the columns
 * already known to hold foreground.
 */
export function maskBbox(mask: Mask): [number, number, number, number] | null {
  const { data, width: w } = mask;
  const first = data.indexOf(1);
  if (first < 0) return null;
  const y0 = Math.floor(first / w);
  const y1 = Math.floor(data.lastIndexOf(1) / w) + 1;
  let x0 = w;
  let x1 = -1;
  for (let y = y0; y < y1; y++) {
    const row = y * w;
    for (let x = 0; x < x0; x++) {
      if (data[row + x] === 1) {
        x0 = x;
        break;
      }
    }
    for (let x = w - 1; x > x1; x--) {
      if (data[row + x] === 1) {
        x1 = x;
        break;
      }
    }
  }
  return [x0, y0, x1 + 1, y1];
}
