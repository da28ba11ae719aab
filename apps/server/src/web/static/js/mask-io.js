// The mask editor's input and output: loading the scan image and the mask to start from, reading the
// fat line from its data attribute, and sending the correction.
import { maskToRgba } from './mask-raster.js';

/** Loads an image; CORS-enabled so a mask read back from a canvas does not taint it. */
export function loadImage(src, onLoad, onError) {
  if (!src) return;
  const img = new Image();
  img.crossOrigin = 'anonymous';
  img.onload = () => onLoad(img);
  img.onerror = onError;
  img.src = src;
}

/** "x1,y1,x2,y2" in image pixels → { x1, y1, x2, y2 }, or null. */
export function parseLine(text) {
  const n = (text ?? '').split(',').map(Number);
  return n.length === 4 && n.every(Number.isFinite) ? { x1: n[0], y1: n[1], x2: n[2], y2: n[3] } : null;
}

/**
 * POSTs multipart/form-data: `mask` (PNG, width × height, white = ribeye, black = background, opaque)
 * and `fat_line` (JSON { x1, y1, x2, y2 } in image pixels, or empty), and `based_on_result_id` when the
 * page names the result it showed, with the CSRF token as a header.
 * Resolves { ok, message, redirect } — never throws.
 */
export async function sendCorrection({ url, csrfHeader, csrfToken, mask, width, height, line, basedOn }) {
  try {
    const out = document.createElement('canvas');
    out.width = width;
    out.height = height;
    out.getContext('2d').putImageData(new ImageData(maskToRgba(mask), width, height), 0, 0);
    const png = await new Promise((resolve) => out.toBlob(resolve, 'image/png'));
    const body = new FormData();
    body.append('mask', png, 'mask.png');
    body.append('fat_line', line ? JSON.stringify(line) : '');
    // The result the editor started from, so the correction's lineage names what the person saw.
    if (basedOn) body.append('based_on_result_id', basedOn);
    const res = await fetch(url, {
      method: 'POST',
      body,
      credentials: 'same-origin',
      headers: { [csrfHeader]: csrfToken },
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) return { ok: false, message: answer.message ?? `the server answered ${res.status}` };
    return { ok: true, redirect: answer.redirect };
  } catch {
    return { ok: false, message: 'the server could not be reached. Your drawing is still here; try again.' };
  }
}
