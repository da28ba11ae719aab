// Draws the geofence being edited over the farm map: the outline (closed once it has 3 corners) and
// one handle per corner — a small dot and a larger transparent disc a finger can hit — sized in screen
// pixels whatever the zoom. The selected corner is marked. Pure SVG, redrawn after each change.

const NS = 'http://www.w3.org/2000/svg';
const DOT_PX = 7;
const HIT_PX = 20;

const el = (name, attrs) => {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
};

/** A layer on top of the map's marks; `draw({ corners, selected, here })` redraws it. */
export function createDraftLayer(svg, view) {
  const layer = el('g', { class: 'geofence-draft' });
  svg.querySelector('.marks')?.append(layer) ?? svg.append(layer);

  function draw({ corners, selected, here }) {
    const u = view.unitsPerPx();
    const pts = corners.map((c) => view.project(c));
    const nodes = [];
    if (pts.length > 1) {
      const d = `M${pts.map((p) => p.join(',')).join('L')}${pts.length > 2 ? 'Z' : ''}`;
      nodes.push(el('path', { class: 'draft-outline', d, 'stroke-width': 2.5 * u, 'fill-rule': 'evenodd' }));
    }
    if (here) {
      const [x, y] = view.project(here);
      nodes.push(el('circle', { class: 'draft-here', cx: x, cy: y, r: 6 * u, 'stroke-width': 3 * u }));
    }
    pts.forEach(([x, y], i) => {
      const g = el('g', { class: i === selected ? 'corner selected' : 'corner', 'data-index': i });
      g.append(
        el('circle', { class: 'corner-hit', cx: x, cy: y, r: HIT_PX * u }),
        el('circle', {
          class: 'corner-dot',
          cx: x,
          cy: y,
          r: (i === selected ? DOT_PX + 2 : DOT_PX) * u,
          'stroke-width': 2 * u,
        }),
      );
      nodes.push(g);
    });
    layer.replaceChildren(...nodes);
  }

  return { draw };
}
