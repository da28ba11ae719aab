import { FarmMap, type FarmMapProps } from './farm-map.tsx';

export type GeofenceEditorProps = FarmMapProps & {
  /** The id of the form's GeoJSON textarea the editor writes into and follows. */
  inputId: string;
};

/** Where a new farm's map starts when there is nothing to fit: most of the inhabited world. */
export const WORLD_EXTENT = [
  [-170, -56],
  [170, 72],
] as const;

const TOOLS: readonly [action: string, label: string, text?: string][] = [
  ['add-centre', 'Add corner at centre'],
  ['next', 'Select next corner'],
  ['remove', 'Remove corner'],
  ['undo', 'Undo'],
  ['clear', 'Clear'],
  ['locate', 'Use my location'],
  ['zoom-in', 'Zoom in', '+'],
  ['zoom-out', 'Zoom out', '−'],
  ['pan-west', 'Pan west', '←'],
  ['pan-north', 'Pan north', '↑'],
  ['pan-south', 'Pan south', '↓'],
  ['pan-east', 'Pan east', '→'],
  ['fit', 'Fit to the drawing'],
];

/**
 * The farm form's geofence map: the server-drawn `FarmMap` (geofence, scans, scale bar) that
 * static/js/geofence-editor.js turns into an editor — click/tap adds a corner, drag moves one, the
 * buttons and keys do the rest, and every edit is written into the GeoJSON textarea `inputId`, which
 * the form posts. Without JavaScript the tools stay hidden and the textarea works alone.
 */
export function GeofenceEditor({ inputId, ...map }: GeofenceEditorProps) {
  const keys = `${map.id}-keys`;
  return (
    <div class="geofence-editor" data-geofence-editor data-input={inputId}>
      <fieldset class="geofence-toolbar" hidden>
        <legend class="visually-hidden">Map drawing tools</legend>
        {TOOLS.map(([action, label, text]) => (
          <button
            type="button"
            class="button button-secondary"
            data-action={action}
            aria-label={text ? label : undefined}
            title={text ? label : undefined}
          >
            {text ?? label}
          </button>
        ))}
      </fieldset>
      {/* The script makes the stage focusable (tabindex=0): it takes keys only when the script runs. */}
      <div class="geofence-stage" aria-describedby={keys}>
        <FarmMap {...map} />
      </div>
      <p class="geofence-readout" hidden>
        Centre: —
      </p>
      <p class="geofence-warning" role="alert" hidden></p>
      <p class="geofence-status visually-hidden" role="status"></p>
      <p id={keys} class="hint geofence-help" hidden>
        Click or tap the map to add a corner after the selected one; drag a corner to move it; right-click a
        corner, or select it and press Remove corner, to remove it. With the map focused: Enter adds a corner
        at the centre, N selects the next corner, arrow keys move the selected corner (Shift: 10 times
        further) or pan the map when none is selected, Delete removes the selected corner, + and − zoom,
        Escape unselects, Ctrl+Z undoes. Each edit is written into the Geofence text below.
      </p>
    </div>
  );
}
