// The geofence editor's view of the server-drawn farm map: zoom and pan by changing the SVG's viewBox
// (the server's drawing scales with it), screen ↔ lon/lat through the map's own projection
// (map-projection.js, the viewport the server wrote on `.map-view`), and a scale bar and north arrow
// kept the same size on screen with the bar's length recomputed for the view.
import { fromSvg, metresPerUnitAt, project, scaleBarLength } from './map-projection.js';

const MIN_SPAN_M = 20; // closest zoom: the view is at least this many ground metres across
const MAX_ZOOM_OUT = 4; // the view is at most this many times the server's

export function createMapView(svg) {
  const base = svg.viewBox.baseVal;
  const [W, H] = [base.width, base.height];
  const data = svg.querySelector('.map-view').dataset;
  const v = {
    width: W,
    height: H,
    scale: Number(data.scale),
    originX: Number(data.originX),
    originY: Number(data.originY),
  };
  const box = { x: 0, y: 0, w: W, h: H };
  const listeners = [];

  const apply = () => {
    svg.setAttribute('viewBox', `${box.x} ${box.y} ${box.w} ${box.h}`);
    pinOverlays();
    for (const fn of listeners) fn();
  };
  /** SVG units per screen pixel (handles and steps are sized on screen). */
  const unitsPerPx = () => box.w / (svg.getBoundingClientRect().width || W);
  const zoom = () => W / box.w;
  const centreSvg = () => [box.x + box.w / 2, box.y + box.h / 2];

  function toSvgPoint(clientX, clientY) {
    const m = svg.getScreenCTM();
    const p = new DOMPoint(clientX, clientY).matrixTransform(m.inverse());
    return [p.x, p.y];
  }

  function zoomAt(factor, [sx, sy] = centreSvg()) {
    const lat = fromSvg(v, [sx, sy])[1];
    const minW = MIN_SPAN_M / metresPerUnitAt(v, lat);
    const w = Math.min(W * MAX_ZOOM_OUT, Math.max(minW, box.w / factor));
    const k = box.w / w;
    box.x = sx - (sx - box.x) / k;
    box.y = sy - (sy - box.y) / k;
    box.w = w;
    box.h = (w * H) / W;
    apply();
  }

  function panBy(dxPx, dyPx) {
    const u = unitsPerPx();
    box.x -= dxPx * u;
    box.y -= dyPx * u;
    apply();
  }

  /** Centre on [lon, lat] showing about `spanM` ground metres across. */
  function centreOn(lonLat, spanM) {
    const [x, y] = project(v, lonLat);
    box.w = Math.min(W * MAX_ZOOM_OUT, spanM / metresPerUnitAt(v, lonLat[1]));
    box.h = (box.w * H) / W;
    box.x = x - box.w / 2;
    box.y = y - box.h / 2;
    apply();
  }

  /** Fit `lonLats` with a margin, or the server's view when there are none. */
  function fit(lonLats) {
    if (lonLats.length === 0) Object.assign(box, { x: 0, y: 0, w: W, h: H });
    else {
      const pts = lonLats.map((p) => project(v, p));
      const xs = pts.map((p) => p[0]);
      const ys = pts.map((p) => p[1]);
      const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
      const lat = fromSvg(v, [(x0 + x1) / 2, (y0 + y1) / 2])[1];
      const minW = (MIN_SPAN_M * 5) / metresPerUnitAt(v, lat);
      box.w = Math.min(W * MAX_ZOOM_OUT, Math.max(minW, (x1 - x0) * 1.2, ((y1 - y0) * 1.2 * W) / H));
      box.h = (box.w * H) / W;
      box.x = (x0 + x1) / 2 - box.w / 2;
      box.y = (y0 + y1) / 2 - box.h / 2;
    }
    apply();
  }

  // The scale bar and north arrow are drawn by the server in its units; keep them the same size on
  // screen in the corner of the view, and give the bar a round ground length for the current zoom.
  function pinOverlays() {
    const u = box.w / W;
    const bg = svg.querySelector('.map-bg'); // the plain background covers whatever the view shows
    for (const [k, n] of [
      ['x', box.x],
      ['y', box.y],
      ['width', box.w],
      ['height', box.h],
    ])
      bg?.setAttribute(k, String(n));
    const place = (el, x, y) =>
      el?.setAttribute('transform', `translate(${box.x + x * u} ${box.y + y * u}) scale(${u})`);
    place(svg.querySelector('.north-arrow'), W - 30, 20);
    place(svg.querySelector('.map-attribution'), 0, 0); // the tiles' licence stays readable in the corner
    const bar = svg.querySelector('.scale-bar');
    if (!bar) return;
    place(bar, 16, H - 20);
    const mpu = metresPerUnitAt(v, fromSvg(v, centreSvg())[1]) * u; // ground metres per base unit now
    const { metres, label } = scaleBarLength((W / 4) * mpu);
    const px = Math.round((metres / mpu) * 100) / 100;
    bar.querySelector('rect')?.setAttribute('width', String(px + 8));
    const path = bar.querySelector('path');
    path?.setAttribute('d', `M0,-6 V0 H${px} V-6`);
    path?.setAttribute('data-metres', String(metres));
    const text = bar.querySelector('text');
    if (text) {
      text.setAttribute('x', String(px / 2));
      text.textContent = label;
    }
  }

  return {
    viewport: v,
    /** The part of the server's drawing (its SVG units) in view now. */
    bounds: () => ({ ...box }),
    /** The current view as a viewport of its own (W × H units), for tiles chosen at its zoom. */
    currentViewport: () => ({
      width: W,
      height: H,
      scale: (v.scale * W) / box.w,
      originX: v.originX + box.x / v.scale,
      originY: v.originY - box.y / v.scale,
    }),
    /** A point or length of `currentViewport` in the server's SVG units. */
    fromCurrent: ([x, y]) => [box.x + (x * box.w) / W, box.y + (y * box.w) / W],
    lengthFromCurrent: (n) => (n * box.w) / W,
    toSvgPoint,
    toLonLat: (clientX, clientY) => fromSvg(v, toSvgPoint(clientX, clientY)),
    toLonLatSvg: (point) => fromSvg(v, point),
    project: (lonLat) => project(v, lonLat),
    centre: () => fromSvg(v, centreSvg()),
    unitsPerPx,
    zoom,
    zoomAt,
    panBy,
    centreOn,
    fit,
    onChange: (fn) => listeners.push(fn),
    refresh: apply,
  };
}
