// A graticule for the geofence editor: lines of longitude and latitude at a round step for the current
// view, labelled at the map's top and left edges, so corners can be placed by coordinates on the plain
// map (no tile server). Lines are straight in Web Mercator: meridians vertical, parallels horizontal.

const NS = 'http://www.w3.org/2000/svg';
const STEPS = [1, 2, 5]
  .flatMap((f) => [-5, -4, -3, -2, -1, 0, 1].map((e) => f * 10 ** e))
  .sort((a, b) => a - b);
const MAX_LINES = 6;

const el = (name, attrs, text) => {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text) node.textContent = text;
  return node;
};

/** The smallest round step (degrees) that puts at most MAX_LINES lines across `span` degrees. */
export function graticuleStep(span) {
  return STEPS.find((s) => span / s <= MAX_LINES) ?? 30;
}

/** "79.385° W": a coordinate with as many decimals as the step needs. */
export function degreeLabel(value, step, [pos, neg]) {
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  const rounded = Number(value.toFixed(decimals));
  return `${Math.abs(rounded).toFixed(decimals)}°${rounded === 0 ? '' : ` ${rounded < 0 ? neg : pos}`}`;
}

export function redrawGraticule(svg, view) {
  let layer = svg.querySelector('.graticule');
  if (!layer) {
    layer = el('g', { class: 'graticule', 'aria-hidden': 'true' });
    (svg.querySelector('.map-tiles') ?? svg.querySelector('.map-view')).after(layer);
  }
  const b = view.bounds();
  const u = view.unitsPerPx();
  const [west, north] = view.toLonLatSvg([b.x, b.y]);
  const [east, south] = view.toLonLatSvg([b.x + b.w, b.y + b.h]);
  const nodes = [];
  const lonStep = graticuleStep(east - west);
  for (let i = Math.ceil(west / lonStep); i * lonStep <= east; i++) {
    const lon = i * lonStep;
    const [x] = view.project([lon, south]);
    nodes.push(el('line', { x1: x, x2: x, y1: b.y, y2: b.y + b.h, 'stroke-width': u }));
    nodes.push(
      el('text', { x: x + 3 * u, y: b.y + 12 * u, 'font-size': 11 * u }, degreeLabel(lon, lonStep, 'EW')),
    );
  }
  const latStep = graticuleStep(north - south);
  for (let i = Math.ceil(south / latStep); i * latStep <= north; i++) {
    const lat = i * latStep;
    const [, y] = view.project([west, lat]);
    nodes.push(el('line', { x1: b.x, x2: b.x + b.w, y1: y, y2: y, 'stroke-width': u }));
    nodes.push(
      el('text', { x: b.x + 3 * u, y: y - 3 * u, 'font-size': 11 * u }, degreeLabel(lat, latStep, 'NS')),
    );
  }
  layer.replaceChildren(...nodes);
}
