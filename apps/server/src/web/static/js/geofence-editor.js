// The farm form's geofence editor (markup: map/geofence-editor.tsx). Click or tap adds a corner after
// the selected one, dragging a corner moves it, right-click or "Remove corner" removes it; Undo,
// Clear, Use my location, zoom and pan by buttons, wheel, pinch, drag and keys. Every edit is written
// into the form's GeoJSON textarea (what the form posts; the server validates it), and text typed
// there that parses as a polygon is drawn. Corners are [lon, lat]; the map's projection does the rest.
import { createDraftLayer } from './geofence-draft.js';
import { cornersOf, drawingProblem, geofenceText } from './geofence-geometry.js';
import { createMapView } from './geofence-view.js';
import { redrawGraticule } from './map-graticule.js';
import { redrawTiles } from './map-tiles.js';

const MAX_UNDO = 100;
const DRAG_PX = 5; // a press that moves less than this is a click
const PAN_PX = 80;
const LOCATE_SPAN_M = 600;
const UNREADABLE =
  'The Geofence text below is not a polygon the map can show (the server names the problem on save); drawing on the map replaces it.';

for (const root of document.querySelectorAll('[data-geofence-editor]')) {
  const svg = root.querySelector('svg.map-svg');
  const input = document.getElementById(root.dataset.input);
  if (svg?.querySelector('.map-view') && input) startEditor(root, svg, input);
}

function startEditor(root, svg, input) {
  const stage = root.querySelector('.geofence-stage');
  const readout = root.querySelector('.geofence-readout');
  const warning = root.querySelector('.geofence-warning');
  const status = root.querySelector('.geofence-status');
  const view = createMapView(svg);
  const draft = createDraftLayer(svg, view);
  const parsed = cornersOf(input.value);
  const state = { corners: [], holes: [], ...parsed, selected: -1, here: null, unreadable: !parsed };
  const undo = [];
  const pointers = new Map();
  let gesture = null;

  const say = (text) => {
    status.textContent = text;
  };
  const fmt = ([lon, lat]) =>
    `${Math.abs(lat).toFixed(6)}° ${lat < 0 ? 'S' : 'N'}, ${Math.abs(lon).toFixed(6)}° ${lon < 0 ? 'W' : 'E'}`;
  const showAt = (label, lonLat) => {
    readout.textContent = `${label}: ${fmt(lonLat)}`;
  };
  const render = () => {
    draft.draw(state);
    const problem = state.unreadable ? UNREADABLE : drawingProblem(state.corners);
    warning.hidden = !problem;
    warning.textContent = problem ?? '';
    // aria-disabled, not disabled: a button that just did its last step keeps the keyboard focus.
    const off = {
      remove: state.selected < 0,
      next: !state.corners.length,
      undo: !undo.length,
      clear: !state.corners.length,
    };
    for (const [action, disabled] of Object.entries(off)) {
      root.querySelector(`[data-action="${action}"]`).setAttribute('aria-disabled', String(disabled));
    }
  };
  const snapshot = () => {
    undo.push({ corners: state.corners.map((c) => [...c]), holes: state.holes, selected: state.selected });
    if (undo.length > MAX_UNDO) undo.shift();
  };
  /** After an edit: the textarea holds the drawing, the map shows it, the person hears what changed. */
  const commit = (message) => {
    state.unreadable = false;
    input.value = geofenceText(state.corners, state.holes);
    render();
    say(`${message} ${state.corners.length} ${state.corners.length === 1 ? 'corner' : 'corners'}.`);
  };

  function addCorner(lonLat) {
    snapshot();
    const at = state.selected >= 0 ? state.selected + 1 : state.corners.length;
    state.corners.splice(at, 0, lonLat);
    state.selected = at;
    commit(`Corner ${at + 1} added at ${fmt(lonLat)}.`);
  }
  function removeCorner(i) {
    if (i < 0 || i >= state.corners.length) return;
    snapshot();
    state.corners.splice(i, 1);
    state.selected = state.corners.length ? Math.min(i, state.corners.length - 1) : -1;
    commit(`Corner ${i + 1} removed.`);
  }
  function moveSelected(dxPx, dyPx) {
    const [x, y] = view.project(state.corners[state.selected]);
    const u = view.unitsPerPx();
    const [sx, sy] = [x + dxPx * u, y + dyPx * u];
    snapshot();
    state.corners[state.selected] = view.toLonLatSvg([sx, sy]);
    commit(`Corner ${state.selected + 1} moved to ${fmt(state.corners[state.selected])}.`);
  }
  function select(i) {
    state.selected = i;
    render();
    if (i >= 0) say(`Corner ${i + 1} of ${state.corners.length} selected, at ${fmt(state.corners[i])}.`);
  }

  const actions = {
    'add-centre': () => addCorner(view.centre()),
    next: () => select(state.corners.length ? (state.selected + 1) % state.corners.length : -1),
    remove: () => removeCorner(state.selected),
    undo: () => {
      const last = undo.pop();
      if (!last) return;
      Object.assign(state, last);
      commit('Undone.');
    },
    clear: () => {
      snapshot();
      state.corners = [];
      state.holes = []; // a new outline starts without the old one's holes
      state.selected = -1;
      commit('Cleared: the geofence has no corners.');
    },
    locate: () => locate(),
    'zoom-in': () => view.zoomAt(2),
    'zoom-out': () => view.zoomAt(0.5),
    'pan-west': () => view.panBy(PAN_PX, 0),
    'pan-east': () => view.panBy(-PAN_PX, 0),
    'pan-north': () => view.panBy(0, PAN_PX),
    'pan-south': () => view.panBy(0, -PAN_PX),
    fit: () => view.fit(state.corners),
  };

  function locate() {
    if (!navigator.geolocation) return say('This browser cannot tell its location.');
    say('Finding your location…');
    navigator.geolocation.getCurrentPosition(
      ({ coords }) => {
        state.here = [coords.longitude, coords.latitude];
        view.centreOn(state.here, LOCATE_SPAN_M);
        showAt('Your location', state.here);
        say(`Map centred on your location, ${fmt(state.here)} (within ${Math.round(coords.accuracy)} m).`);
      },
      (err) => say(`Your location is not available: ${err.message || 'permission refused'}.`),
      { enableHighAccuracy: true, timeout: 15_000 },
    );
  }

  root.querySelector('.geofence-toolbar').addEventListener('click', (e) => {
    const button = e.target.closest('button[data-action]');
    if (button && button.getAttribute('aria-disabled') !== 'true') actions[button.dataset.action]();
  });

  // Pointer input: a press on a corner drags it, a press elsewhere is a click (add a corner) unless it
  // moves (pan); two fingers pinch-zoom. Captured on the SVG, whose handles are redrawn as they move.
  svg.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    stage.focus({ preventScroll: true });
    svg.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, [e.clientX, e.clientY]);
    if (pointers.size === 2) {
      if (gesture?.kind === 'corner' && gesture.moved) commit(`Corner ${gesture.index + 1} moved.`);
      gesture = { kind: 'pinch', distance: spread() };
      return;
    }
    const corner = e.target.closest?.('.corner');
    const start = [e.clientX, e.clientY];
    gesture = corner
      ? { kind: 'corner', index: Number(corner.dataset.index), start }
      : { kind: 'press', start };
    if (corner) select(gesture.index);
    e.preventDefault();
  });
  svg.addEventListener('pointermove', (e) => {
    showAt('Pointer', view.toLonLat(e.clientX, e.clientY));
    if (!pointers.has(e.pointerId) || !gesture) return;
    const last = pointers.get(e.pointerId);
    pointers.set(e.pointerId, [e.clientX, e.clientY]);
    const far = Math.hypot(e.clientX - gesture.start?.[0], e.clientY - gesture.start?.[1]) >= DRAG_PX;
    if (gesture.kind === 'pinch') {
      const d = spread();
      view.zoomAt(d / gesture.distance, view.toSvgPoint(...middle()));
      gesture.distance = d;
    } else if (gesture.kind === 'corner' && (gesture.moved || far)) {
      if (!gesture.moved) snapshot();
      gesture.moved = true;
      state.corners[gesture.index] = view.toLonLat(e.clientX, e.clientY);
      draft.draw(state);
    } else if (gesture.kind === 'pan' || (gesture.kind === 'press' && far)) {
      gesture.kind = 'pan';
      view.panBy(e.clientX - last[0], e.clientY - last[1]);
    }
  });
  const release = (e) => {
    if (!pointers.delete(e.pointerId) || !gesture) return;
    const g = gesture;
    gesture = null;
    // A moved corner is kept even if the browser cancels the gesture: the map and the text agree.
    if (g.kind === 'corner' && g.moved) {
      commit(`Corner ${g.index + 1} moved to ${fmt(state.corners[g.index])}.`);
    } else if (g.kind === 'press' && e.type === 'pointerup') addCorner(view.toLonLat(e.clientX, e.clientY));
  };
  svg.addEventListener('pointerleave', () => {
    if (!gesture) showAt('Centre', view.centre());
  });
  svg.addEventListener('pointerup', release);
  svg.addEventListener('pointercancel', release);
  svg.addEventListener('contextmenu', (e) => {
    const corner = e.target.closest?.('.corner');
    if (!corner) return;
    e.preventDefault();
    removeCorner(Number(corner.dataset.index));
  });
  svg.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      view.zoomAt(Math.exp(-e.deltaY * 0.002), view.toSvgPoint(e.clientX, e.clientY));
    },
    { passive: false },
  );
  const spread = () => {
    const [a, b] = [...pointers.values()];
    return Math.hypot(a[0] - b[0], a[1] - b[1]) || 1;
  };
  const middle = () => {
    const [a, b] = [...pointers.values()];
    return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  };

  stage.addEventListener('keydown', (e) => {
    const step = e.shiftKey ? 10 : 1;
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if ((e.ctrlKey || e.metaKey) && e.key === 'z') actions.undo();
    else if (e.ctrlKey || e.metaKey || e.altKey)
      return; // the browser's own shortcuts (Ctrl + zooms the page)
    else if (arrows[e.key]) {
      const [dx, dy] = arrows[e.key];
      if (state.selected >= 0) moveSelected(dx * step, dy * step);
      else view.panBy(-dx * PAN_PX, -dy * PAN_PX);
    } else if (e.key === 'Enter') actions['add-centre']();
    else if (e.key === 'Delete' || e.key === 'Backspace') actions.remove();
    else if (e.key === 'n' || e.key === 'N') actions.next();
    else if (e.key === 'Escape') select(-1);
    else if (e.key === '+' || e.key === '=') actions['zoom-in']();
    else if (e.key === '-' || e.key === '_') actions['zoom-out']();
    else return;
    e.preventDefault();
  });

  // Text typed into the textarea: drawn when it parses as a polygon; otherwise the map keeps the last
  // shape and the server names the problem on save.
  input.addEventListener('input', () => {
    const typed = cornersOf(input.value);
    state.unreadable = !typed;
    if (!typed) return render(); // the map keeps the last shape and says why, beside it
    snapshot();
    Object.assign(state, typed, { selected: -1 });
    render();
    say(`Map updated from the text: ${state.corners.length} corners.`);
  });

  view.onChange(() => {
    redrawTiles(svg, view);
    redrawGraticule(svg, view);
    draft.draw(state);
    if (!gesture) showAt('Centre', view.centre());
  });
  svg.querySelector('.geofence')?.classList.add('geofence-saved');
  for (const hidden of root.querySelectorAll('.geofence-toolbar, .geofence-readout, .geofence-help')) {
    hidden.hidden = false;
  }
  stage.tabIndex = 0;
  stage.setAttribute('role', 'application');
  stage.setAttribute('aria-label', 'Map to draw the fence on');
  if (state.corners.length) view.fit(state.corners);
  else view.refresh();
  render();
  root.dataset.ready = 'true';
}
