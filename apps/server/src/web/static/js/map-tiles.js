// Map tiles for the geofence editor's current view: the server drew the tiles of its own view; once
// the person zooms or pans, the tiles of the new view at its zoom level are laid instead (the same
// `tilesFor` the server uses). Only when the server configured a tile URL (`.map-tiles[data-url]`,
// whose host the CSP's img-src allows). Elements are reused by URL so panning does not flicker.
import { tilesFor } from './map-projection.js';

const NS = 'http://www.w3.org/2000/svg';
const MAX_TILES = 48; // a view never asks for more than this many tiles at once

export function redrawTiles(svg, view) {
  const layer = svg.querySelector('.map-tiles[data-url]');
  if (!layer) return;
  const { z, tiles } = tilesFor(view.currentViewport());
  if (tiles.length > MAX_TILES) return;
  const existing = new Map([...layer.children].map((img) => [img.getAttribute('href'), img]));
  const nodes = tiles.map((t) => {
    const href = layer.dataset.url
      .replace('{z}', String(z))
      .replace('{x}', String(t.x))
      .replace('{y}', String(t.y));
    const img = existing.get(href) ?? document.createElementNS(NS, 'image');
    const [x, y] = view.fromCurrent([t.svgX, t.svgY]);
    const size = view.lengthFromCurrent(t.size);
    for (const [k, val] of [
      ['href', href],
      ['x', x],
      ['y', y],
      ['width', size],
      ['height', size],
      ['preserveAspectRatio', 'none'],
    ]) {
      img.setAttribute(k, String(val));
    }
    return img;
  });
  layer.replaceChildren(...nodes);
}
