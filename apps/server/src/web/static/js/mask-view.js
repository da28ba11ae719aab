// The mask editor's view: where the image sits on the screen (zoom and pan), and drawing the image, the
// mask and the fat-thickness line onto the visible canvas. Editing never goes through these pixels:
// the mask lives in image coordinates, so zooming and panning cannot move what was drawn.

const MASK_RGB = [0, 200, 255];
const MASK_ALPHA = 110;

/** Screen (CSS px, relative to the canvas) = image px × scale + offset. */
export function createView(imageWidth) {
  const view = {
    scale: 1,
    x: 0,
    y: 0,
    fitScale: 1,
    fit(cssWidth) {
      view.fitScale = cssWidth / imageWidth;
      view.scale = view.fitScale;
      view.x = 0;
      view.y = 0;
    },
    toImage(sx, sy) {
      return [(sx - view.x) / view.scale, (sy - view.y) / view.scale];
    },
    toScreen(ix, iy) {
      return [ix * view.scale + view.x, iy * view.scale + view.y];
    },
    /** Zoom by `factor` keeping the image point under (sx, sy) where it is. */
    zoomAt(factor, sx, sy) {
      const next = Math.min(view.fitScale * 32, Math.max(view.fitScale * 0.5, view.scale * factor));
      const [ix, iy] = view.toImage(sx, sy);
      view.scale = next;
      view.x = sx - ix * next;
      view.y = sy - iy * next;
    },
    pan(dx, dy) {
      view.x += dx;
      view.y += dy;
    },
  };
  return view;
}

/** An offscreen canvas holding the mask as translucent colour, updated only where it changed. */
export function createMaskLayer(width, height) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  const pixels = ctx.createImageData(width, height);
  return {
    canvas,
    update(mask, box = [0, 0, width - 1, height - 1]) {
      const [x0, y0, x1, y1] = box;
      const d = pixels.data;
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const i = y * width + x;
          const on = mask[i] === 1;
          d[i * 4] = MASK_RGB[0];
          d[i * 4 + 1] = MASK_RGB[1];
          d[i * 4 + 2] = MASK_RGB[2];
          d[i * 4 + 3] = on ? MASK_ALPHA : 0;
        }
      }
      ctx.putImageData(pixels, 0, 0, x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    },
  };
}

/** Draws one frame: image, mask, outline of the image, fat line with its two handles. */
export function drawFrame(canvas, { view, image, layer, line, activeHandle, dpr }) {
  const ctx = canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#111';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(dpr * view.scale, 0, 0, dpr * view.scale, dpr * view.x, dpr * view.y);
  ctx.imageSmoothingEnabled = view.scale < 2;
  if (image) ctx.drawImage(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(layer.canvas, 0, 0);
  if (!line) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const a = view.toScreen(line.x1, line.y1);
  const b = view.toScreen(line.x2, line.y2);
  ctx.lineWidth = 3;
  ctx.strokeStyle = '#ffd400';
  ctx.beginPath();
  ctx.moveTo(a[0], a[1]);
  ctx.lineTo(b[0], b[1]);
  ctx.stroke();
  [a, b].forEach(([x, y], i) => {
    ctx.beginPath();
    ctx.arc(x, y, 7, 0, Math.PI * 2);
    ctx.fillStyle = activeHandle === i ? '#ffffff' : '#ffd400';
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#000';
    ctx.stroke();
  });
}
