// The mask editor: a canvas over the scan image where an admin or technician draws and erases the ribeye
// outline, fills a closed outline, zooms and pans (mouse, touch, keyboard), moves the two ends of the
// fat-thickness line, undoes, and sends the corrected mask as a PNG the size of the image plus the line.
// Markup: components/mask-editor.tsx. The mask is kept in image pixels (mask-raster.js); the view only
// maps screen to image (mask-view.js).
import { loadImage, parseLine, sendCorrection } from './mask-io.js';
import { bindKeys } from './mask-keys.js';
import { fillEnclosed, paintSegment, rgbaToMask } from './mask-raster.js';
import { createMaskLayer, createView, drawFrame } from './mask-view.js';

const MAX_UNDO = 40;
const HANDLE_HIT_PX = 16;
const PAN_STEP_PX = 50;

for (const root of document.querySelectorAll('[data-mask-editor]')) startEditor(root);

function startEditor(root) {
  const W = Number(root.dataset.width);
  const H = Number(root.dataset.height);
  const stage = root.querySelector('.mask-stage');
  const canvas = stage.querySelector('canvas');
  const status = root.querySelector('.mask-status');
  const brush = root.querySelector('[data-brush]');
  const view = createView(W);
  const layer = createMaskLayer(W, H);
  const undo = [];
  const pointers = new Map();
  const state = {
    mask: new Uint8Array(W * H),
    line: parseLine(root.dataset.fatLine),
    image: null,
    tool: 'draw',
  };
  let gesture = null;
  let activeHandle = null;
  let spaceHeld = false;
  let dirty = false;
  let frame = 0;

  const say = (text) => {
    status.textContent = text;
  };
  const render = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      drawFrame(canvas, {
        view,
        image: state.image,
        layer,
        line: state.line,
        activeHandle,
        dpr: devicePixelRatio || 1,
      });
    });
  };
  const snapshot = () => {
    undo.push({ mask: state.mask.slice(), line: state.line && { ...state.line } });
    if (undo.length > MAX_UNDO) undo.shift();
    dirty = true;
  };
  const restore = (s) => {
    state.mask = s.mask;
    state.line = s.line;
    layer.update(state.mask);
    render();
  };
  const centre = () => [canvas.clientWidth / 2, canvas.clientHeight / 2];
  const pos = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };

  let fittedWidth = 0;
  // Refit only when the width changes: the stage's height follows the canvas, and a refit would undo
  // the person's zoom.
  function resize() {
    const dpr = devicePixelRatio || 1;
    const cssW = stage.clientWidth;
    if (cssW === fittedWidth || cssW === 0) return;
    fittedWidth = cssW;
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(((cssW * H) / W) * dpr);
    view.fit(cssW);
    render();
  }

  function paint(ax, ay, bx, by, value) {
    const box = paintSegment(state.mask, W, H, ax, ay, bx, by, Number(brush.value) / 2, value);
    if (box) layer.update(state.mask, box);
    render();
  }

  function setTool(name) {
    state.tool = name;
    for (const b of root.querySelectorAll('[data-tool]'))
      b.setAttribute('aria-pressed', String(b.dataset.tool === name));
    if (name !== 'line') activeHandle = null;
    stage.dataset.tool = name;
    render();
  }

  function handleAt(sx, sy) {
    if (!state.line) return null;
    const ends = [view.toScreen(state.line.x1, state.line.y1), view.toScreen(state.line.x2, state.line.y2)];
    const hit = ends.findIndex(([x, y]) => Math.hypot(x - sx, y - sy) <= HANDLE_HIT_PX);
    return hit < 0 ? null : hit;
  }

  function moveHandle(index, ix, iy) {
    const x = Math.round(Math.min(W, Math.max(0, ix)) * 10) / 10;
    const y = Math.round(Math.min(H, Math.max(0, iy)) * 10) / 10;
    state.line = index === 0 ? { ...state.line, x1: x, y1: y } : { ...state.line, x2: x, y2: y };
    render();
  }

  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, pos(e));
    if (pointers.size === 2) return startPinch();
    if (pointers.size > 2 || (e.pointerType === 'mouse' && e.button !== 0 && e.button !== 1)) return;
    const [sx, sy] = pos(e);
    if (e.button === 1 || spaceHeld || state.tool === 'pan') {
      gesture = { kind: 'pan', last: [sx, sy] };
      return;
    }
    const [ix, iy] = view.toImage(sx, sy);
    if (state.tool === 'line') {
      snapshot();
      const hit = handleAt(sx, sy);
      if (hit === null) state.line = { x1: ix, y1: iy, x2: ix, y2: iy };
      activeHandle = hit ?? 1;
      gesture = { kind: 'handle', index: activeHandle };
      moveHandle(activeHandle, ix, iy);
      return;
    }
    snapshot();
    gesture = { kind: 'stroke', value: state.tool === 'erase' ? 0 : 1, last: [ix, iy] };
    paint(ix, iy, ix, iy, gesture.value);
  });

  canvas.addEventListener('pointermove', (e) => {
    if (!pointers.has(e.pointerId)) return;
    pointers.set(e.pointerId, pos(e));
    if (gesture?.kind === 'pinch') return updatePinch();
    for (const ev of e.getCoalescedEvents?.() ?? [e]) {
      const [sx, sy] = pos(ev);
      if (gesture?.kind === 'stroke') {
        const [ix, iy] = view.toImage(sx, sy);
        paint(gesture.last[0], gesture.last[1], ix, iy, gesture.value);
        gesture.last = [ix, iy];
      } else if (gesture?.kind === 'pan') {
        view.pan(sx - gesture.last[0], sy - gesture.last[1]);
        gesture.last = [sx, sy];
        render();
      } else if (gesture?.kind === 'handle') {
        moveHandle(gesture.index, ...view.toImage(sx, sy));
      }
    }
  });

  const endPointer = (e) => {
    pointers.delete(e.pointerId);
    if (
      gesture?.kind === 'handle' &&
      state.line &&
      state.line.x1 === state.line.x2 &&
      state.line.y1 === state.line.y2
    ) {
      restore(undo.pop()); // a click without a drag draws no line
    }
    if (pointers.size === 0 || gesture?.kind === 'pinch') gesture = null;
  };
  canvas.addEventListener('pointerup', endPointer);
  canvas.addEventListener('pointercancel', endPointer);

  // Two fingers: pinch to zoom and drag to pan. A stroke the first finger had begun is taken back.
  function startPinch() {
    if (gesture?.kind === 'stroke' || gesture?.kind === 'handle') restore(undo.pop());
    const [a, b] = [...pointers.values()];
    const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    gesture = {
      kind: 'pinch',
      d0: Math.hypot(a[0] - b[0], a[1] - b[1]) || 1,
      scale0: view.scale,
      anchor: view.toImage(...mid),
    };
  }
  function updatePinch() {
    const [a, b] = [...pointers.values()];
    const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const target = (gesture.scale0 * Math.hypot(a[0] - b[0], a[1] - b[1])) / gesture.d0;
    view.zoomAt(target / view.scale, ...view.toScreen(...gesture.anchor));
    const [sx, sy] = view.toScreen(...gesture.anchor);
    view.pan(mid[0] - sx, mid[1] - sy);
    render();
  }

  canvas.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      view.zoomAt(Math.exp(-e.deltaY * 0.0015), ...pos(e));
      render();
    },
    { passive: false },
  );

  bindKeys(root, stage, {
    zoom: (factor) => view.zoomAt(factor, ...centre()),
    fit: () => view.fit(canvas.clientWidth),
    tool: setTool,
    brush: (delta) => setBrush(Number(brush.value) + delta),
    selectHandle,
    deselect: () => {
      activeHandle = null;
    },
    undo: doUndo,
    space: (held) => {
      spaceHeld = held;
    },
    arrow(dx, dy, big) {
      if (state.tool === 'line' && activeHandle !== null && state.line) {
        const step = big ? 10 : 1;
        const [x, y] = activeHandle === 0 ? [state.line.x1, state.line.y1] : [state.line.x2, state.line.y2];
        snapshot();
        moveHandle(activeHandle, x + dx * step, y + dy * step);
      } else {
        view.pan(-dx * PAN_STEP_PX, -dy * PAN_STEP_PX); // the view moves; the image goes the other way
      }
    },
    render,
  });

  function selectHandle(index) {
    if (state.tool === 'line' && state.line) activeHandle = index;
  }

  function setBrush(size) {
    brush.value = String(Math.max(Number(brush.min), Math.min(Number(brush.max), size)));
    say(`Brush ${brush.value} px`);
  }

  function doUndo() {
    const s = undo.pop();
    if (!s) return say('Nothing to undo');
    restore(s);
    say('Undone');
  }

  function fill() {
    snapshot();
    const n = fillEnclosed(state.mask, W, H);
    if (n === 0) {
      undo.pop();
      return say('Nothing to fill: close the outline first.');
    }
    layer.update(state.mask);
    render();
    say(`Filled ${n} pixels inside the outline`);
  }

  async function submit(button) {
    button.disabled = true;
    say('Saving…');
    try {
      const token = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
      const { ok, message, redirect } = await sendCorrection({
        url: root.dataset.submitUrl,
        csrfHeader: root.dataset.csrfHeader || 'X-CSRF-Token',
        csrfToken: token,
        mask: state.mask,
        width: W,
        height: H,
        line: state.line,
        basedOn: root.dataset.basedOn,
      });
      if (!ok) return say(`Not saved: ${message}`);
      dirty = false;
      say('Saved. The corrected result is recorded as a new grading result.');
      if (redirect) location.assign(redirect);
    } finally {
      button.disabled = false;
    }
  }

  root.addEventListener('click', (e) => {
    const button = e.target.closest('button');
    if (!button || !root.contains(button)) return;
    if (button.dataset.tool) setTool(button.dataset.tool);
    const act = button.dataset.action;
    if (act === 'undo') doUndo();
    else if (act === 'fill') fill();
    else if (act === 'zoom-in') view.zoomAt(2, ...centre());
    else if (act === 'zoom-out') view.zoomAt(0.5, ...centre());
    else if (act === 'fit') view.fit(canvas.clientWidth);
    else if (act === 'submit') submit(button);
    render();
  });

  addEventListener('beforeunload', (e) => {
    if (dirty) e.preventDefault();
  });

  new ResizeObserver(resize).observe(stage);
  resize();
  setTool('draw');
  // data-image / data-mask: 'loaded' or 'failed' once settled ('none': no mask yet), for scripts and tests.
  loadImage(
    root.dataset.imageSrc,
    (img) => {
      state.image = img;
      render();
      root.dataset.image = 'loaded';
    },
    () => {
      say('The scan image could not be loaded.');
      root.dataset.image = 'failed';
    },
  );
  if (!root.dataset.maskSrc) root.dataset.mask = 'none';
  else {
    loadImage(
      root.dataset.maskSrc,
      (img) => {
        const c = document.createElement('canvas');
        c.width = W;
        c.height = H;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0, W, H);
        state.mask = rgbaToMask(ctx.getImageData(0, 0, W, H).data);
        layer.update(state.mask);
        render();
        root.dataset.mask = 'loaded';
      },
      () => {
        say('The current mask could not be loaded; starting from an empty mask.');
        root.dataset.mask = 'failed';
      },
    );
  }
  root.dataset.ready = 'true';
}
