// The mask editor's pixel operations on a binary mask (Uint8Array, one byte per image pixel, 1 = ribeye),
// kept apart from the DOM so they are exact, deterministic and testable in Node. A stroke covers exactly
// the pixels whose centre lies within the brush radius of the stroke's path — no anti-aliasing, so the
// PNG that is sent holds only the values the person painted.

/**
 * Sets (value 1) or clears (value 0) every pixel whose centre is within `radius` of the segment
 * (x0, y0)–(x1, y1), in image pixel coordinates. Returns the touched box [x0, y0, x1, y1] or null.
 * @param {Uint8Array} mask @param {number} width @param {number} height
 * @param {number} ax @param {number} ay @param {number} bx @param {number} by
 * @param {number} radius @param {0 | 1} value
 * @returns {[number, number, number, number] | null}
 */
export function paintSegment(mask, width, height, ax, ay, bx, by, radius, value) {
  const minX = Math.max(0, Math.floor(Math.min(ax, bx) - radius));
  const maxX = Math.min(width - 1, Math.ceil(Math.max(ax, bx) + radius));
  const minY = Math.max(0, Math.floor(Math.min(ay, by) - radius));
  const maxY = Math.min(height - 1, Math.ceil(Math.max(ay, by) + radius));
  if (minX > maxX || minY > maxY) return null;
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const r2 = radius * radius;
  for (let y = minY; y <= maxY; y++) {
    const py = y + 0.5;
    for (let x = minX; x <= maxX; x++) {
      const px = x + 0.5;
      // Distance from the pixel centre to the closest point of the segment.
      const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
      const cx = ax + t * dx - px;
      const cy = ay + t * dy - py;
      if (cx * cx + cy * cy <= r2) mask[y * width + x] = value;
    }
  }
  return [minX, minY, maxX, maxY];
}

/**
 * Fills every background pixel that cannot reach the image border through background pixels
 * (4-connected): the inside of each closed outline becomes mask. Returns how many pixels were filled.
 * @param {Uint8Array} mask @param {number} width @param {number} height
 */
export function fillEnclosed(mask, width, height) {
  const outside = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  let top = 0;
  const push = (i) => {
    if (mask[i] === 0 && outside[i] === 0) {
      outside[i] = 1;
      stack[top++] = i;
    }
  };
  for (let x = 0; x < width; x++) {
    push(x);
    push((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    push(y * width);
    push(y * width + width - 1);
  }
  while (top > 0) {
    const i = stack[--top];
    const x = i % width;
    if (x > 0) push(i - 1);
    if (x < width - 1) push(i + 1);
    if (i >= width) push(i - width);
    if (i < width * (height - 1)) push(i + width);
  }
  let filled = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0 && outside[i] === 0) {
      mask[i] = 1;
      filled++;
    }
  }
  return filled;
}

/**
 * RGBA pixels of the mask for a PNG: ribeye white, background black, fully opaque.
 * @param {Uint8Array} mask @returns {Uint8ClampedArray}
 */
export function maskToRgba(mask) {
  const rgba = new Uint8ClampedArray(mask.length * 4);
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i] ? 255 : 0;
    rgba[i * 4] = v;
    rgba[i * 4 + 1] = v;
    rgba[i * 4 + 2] = v;
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

/**
 * A mask from RGBA pixels (a loaded mask PNG): any pixel brighter than mid-grey and not transparent.
 * @param {Uint8ClampedArray} rgba @returns {Uint8Array}
 */
export function rgbaToMask(rgba) {
  const mask = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < mask.length; i++) mask[i] = rgba[i * 4 + 3] >= 128 && rgba[i * 4] >= 128 ? 1 : 0;
  return mask;
}
