import { Button } from './button.tsx';

export type FatLine = { x1: number; y1: number; x2: number; y2: number };

export type MaskEditorProps = {
  id: string;
  /** Signed URL of the scan image (CORS or same origin when `maskUrl` is given: the mask is read back). */
  imageUrl: string;
  /** Signed URL of the mask to start from (the latest result's), or none to start empty. */
  maskUrl?: string | null;
  /** Image size in pixels: the submitted PNG has exactly this size. */
  width: number;
  height: number;
  /** The latest fat-thickness line in image pixels, if any. */
  fatLine?: FatLine | null;
  /** Where the correction is POSTed (multipart: `mask` PNG + `fat_line` JSON). */
  submitUrl: string;
  /** The grading result the editor starts from, sent as `based_on_result_id` (its lineage). */
  basedOn?: string | null;
  /** Header carrying the CSRF token read from <meta name="csrf-token"> (the layout writes it). */
  csrfHeader?: string;
  /** Initial brush diameter in image pixels. */
  brush?: number;
};

/**
 * The ribeye mask editor's markup; static/js/mask-editor.js brings it to life (include 'js/mask-editor.js'
 * in the layout's scripts). Without JavaScript it says so — correcting a mask needs the canvas.
 */
export function MaskEditor({
  id,
  imageUrl,
  maskUrl,
  width,
  height,
  fatLine,
  submitUrl,
  basedOn,
  csrfHeader = 'X-CSRF-Token',
  brush = 12,
}: MaskEditorProps) {
  const tool = (name: string, label: string, key: string) => (
    <Button
      type="button"
      variant="secondary"
      aria-pressed={name === 'draw' ? 'true' : 'false'}
      {...{ 'data-tool': name }}
    >
      {label} <kbd>{key}</kbd>
    </Button>
  );
  const action = (
    name: string,
    label: string,
    key?: string,
    variant: 'secondary' | 'primary' = 'secondary',
  ) => (
    <Button type="button" variant={variant} {...{ 'data-action': name }}>
      {label}
      {key && <kbd>{key}</kbd>}
    </Button>
  );
  return (
    <section
      class="mask-editor"
      id={id}
      aria-labelledby={`${id}-title`}
      data-mask-editor=""
      data-image-src={imageUrl}
      data-mask-src={maskUrl ?? undefined}
      data-width={width}
      data-height={height}
      data-fat-line={fatLine ? `${fatLine.x1},${fatLine.y1},${fatLine.x2},${fatLine.y2}` : undefined}
      data-submit-url={submitUrl}
      data-based-on={basedOn ?? undefined}
      data-csrf-header={csrfHeader}
    >
      <h2 id={`${id}-title`}>Correct the outline</h2>
      <div class="mask-toolbar" role="toolbar" aria-label="Mask tools">
        {tool('draw', 'Draw', 'd')}
        {tool('erase', 'Erase', 'e')}
        {tool('line', 'Fat line', 'f')}
        {tool('pan', 'Move view', 'h')}
        <label>
          Brush{' '}
          <input
            type="range"
            data-brush=""
            min={1}
            max={80}
            step={1}
            value={brush}
            aria-describedby={`${id}-help`}
          />
        </label>
        {action('fill', 'Fill inside outline')}
        {action('undo', 'Undo', 'Ctrl+Z')}
        {action('zoom-in', 'Zoom in', '+')}
        {action('zoom-out', 'Zoom out', '−')}
        {action('fit', 'Fit', '0')}
        {action('submit', 'Save correction', undefined, 'primary')}
      </div>
      <div
        class="mask-stage"
        tabindex={0}
        role="application"
        aria-label="Scan image with the ribeye mask"
        aria-describedby={`${id}-help`}
      >
        <canvas width={width} height={height} />
      </div>
      <p class="mask-status" role="status" aria-live="polite" />
      <p class="mask-help" id={`${id}-help`}>
        Draw or erase with the mouse, a finger or a pen; two fingers or the mouse wheel zoom. With the image
        focused: arrow keys move the view, + and − zoom, 0 fits, [ and ] change the brush. Fat line: press f,
        drag each end, or choose an end with 1 or 2 and move it with the arrow keys (Shift: 10 pixels).
      </p>
      <noscript>
        <p class="flash flash-warning">
          Correcting the outline needs JavaScript, which is turned off in this browser.
        </p>
      </noscript>
    </section>
  );
}
