/**
 * Preprocessing shared with training — a line-by-line mirror of training/cti_preprocess.py
 * (preprocess-parity.test.ts runs both on the same fixtures). Change both together and bump
 * PREPROCESSING_ID; the model cards name the id they were trained with.
 */
import { createScratchBuffer, type GrayImage } from '@cti/imaging';

export const PREPROCESSING_ID = 'gray601-scanarea-v3-area';

const LIT_THRESHOLD = 8; // a pixel is "lit" when gray > this (above black margins and JPEG noise, below dark tissue)
const TEXTURE_STEP = 2; // ...and "active" when it also differs by >= 2 from its right or lower neighbour (speckle)
const COL_LIT_PCT = 30; // a column belongs to the scan when >= 30 % of its pixels are lit
const COL_MIN_RUN_PCT = 1; // column runs narrower than 1 % of the width (>= 3 px) are edges, not a scan
const ROW_LIT_PCT = 20; // a row (within the chosen columns) when >= 20 % of its pixels are lit
const COL_GAP_PCT = 6; // dark columns (probe lift-off) narrower than 6 % of the width are bridged
const ROW_GAP_PCT = 1; // dark rows narrower than 1 % of the height are bridged
const ROW_RUN_PCT = 6; // row runs shorter than 6 % of the height (text, ticks) are not part of the scan
const MIN_CROP_FRACTION = 4; // a crop narrower/shorter than 1/4 of the image falls back to the whole image...
const DEEP_FIELD_HEIGHT_PCT = 50; // ...except a narrow one >= 50 % of the image tall
const DEEP_FIELD_SHARE_PCT = 65; // holding >= 65 % of the frame's active pixels (a deep field)
// The second, weak pass (dark fields: shadowed, low gain, a dark near side), tried when the first finds
// nothing, is refused, or keeps under RETRY_SHARE_PCT % of the frame's active pixels:
const RETRY_SHARE_PCT = 65;
const WEAK_COL_PCT = 10; // columns with >= 10 % active pixels...
const WEAK_COL_GAP_PCT = 1; // ...gaps under 1 % of the width bridged (a ruler beside the field stays out)
const WEAK_ROW_PCT = 5; // rows with >= 5 % of the columns' pixels active
const WEAK_SHARE_PCT = 80; // kept only when it holds >= 80 % of the active pixels (and the first crop)

/** [x0, y0, x1, y1] with exclusive ends, in pixels. */
export type CropBox = [number, number, number, number];

export type Preprocessed = { tensor: Float32Array; size: number; crop: CropBox };

type Run = [number, number];

/** Runs [start, end) of active indices, gaps <= maxGap bridged. */
function runs(length: number, active: (i: number) => boolean, maxGap: number): Run[] {
  const out: Run[] = [];
  let start = -1;
  let last = -1;
  for (let i = 0; i < length; i++) {
    if (!active(i)) continue;
    if (start < 0 || i - last - 1 > maxGap) {
      if (start >= 0) out.push([start, last + 1]);
      start = i;
    }
    last = i;
  }
  if (start >= 0) out.push([start, last + 1]);
  return out;
}

/**
 * Column runs of the scan: columns with >= pass.colPct % active pixels, runs narrower than
 * COL_MIN_RUN_PCT % of the width dropped (the long vertical edge of a panel backdrop or a gray bar
 * is one active column), then gaps narrower than pass.colGapPct % of the width bridged.
 */
function columnRuns(colCounts: Int32Array, w: number, h: number, pass: Pass): Run[] {
  const minWidth = Math.max(3, Math.floor((w * COL_MIN_RUN_PCT) / 100));
  const wide = runs(w, (x) => colCounts[x]! * 100 >= pass.colPct * h, 0).filter(
    ([a, b]) => b - a >= minWidth,
  );
  const maxGap = Math.floor((w * pass.colGapPct) / 100);
  const merged: Run[] = [];
  for (const r of wide) {
    const prev = merged.at(-1);
    if (prev && r[0] - prev[1] <= maxGap) prev[1] = r[1];
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** The run with the largest count sum (the first on ties). */
function bestRun(counts: Int32Array, candidates: Run[]): Run | null {
  let best: Run | null = null;
  let bestSum = -1;
  for (const [a, b] of candidates) {
    let total = 0;
    for (let k = a; k < b; k++) total += counts[k]!;
    if (total > bestSum) {
      best = [a, b];
      bestSum = total;
    }
  }
  return best;
}

/**
 * Active pixels: lit (gray > LIT_THRESHOLD) and textured (differs by >= TEXTURE_STEP from the pixel
 * to its right or below; the last column / row compare with nothing). Speckle is textured; flat
 * backgrounds (black or gray), panel backdrops and the inside of glyphs are not. Also counted per
 * column as they are found (findScanArea's first question), rather than in a second pass over the frame.
 */
type ActivePixels = { active: Uint8Array; colCounts: Int32Array };

/**
 * activePixels' plane, kept from one frame to the next: findScanArea reads it only before it returns (it
 * never awaits), and it is cleared first. A fresh 300 kB plane per 640×480 frame is one more buffer
 * outside V8's heap to allocate, zero and collect per grading; over 4 MiB a plane of its own each time.
 */
const activePlane = createScratchBuffer(Uint8Array);

function activePixels(image: GrayImage): ActivePixels {
  const { data, width: w, height: h } = image;
  const active = activePlane.take(w * h).fill(0);
  const colCounts = new Int32Array(w);
  const step2 = TEXTURE_STEP * TEXTURE_STEP;
  const test = (i: number, x: number, dx: number, dy: number) => {
    if (data[i]! > LIT_THRESHOLD && (dx * dx >= step2 || dy * dy >= step2)) {
      active[i] = 1;
      colCounts[x]!++;
    }
  };
  for (let y = 0; y < h - 1; y++) {
    const row = y * w;
    for (let x = 0; x < w - 1; x++) {
      const i = row + x;
      const v = data[i]!;
      if (v <= LIT_THRESHOLD) continue;
      const dx = data[i + 1]! - v;
      const dy = data[i + w]! - v;
      if (dx * dx >= step2 || dy * dy >= step2) {
        active[i] = 1;
        colCounts[x]!++;
      }
    }
    test(row + w - 1, w - 1, 0, data[row + 2 * w - 1]! - data[row + w - 1]!);
  }
  const last = (h - 1) * w;
  for (let x = 0; x < w - 1; x++) test(last + x, x, data[last + x + 1]! - data[last + x]!, 0);
  return { active, colCounts };
}

/**
 * The scan area: drops black or gray margins and backgrounds, header and settings text, panel
 * backdrops, gray bars and rulers; the whole image if none is found or it is under 1/4 of the image
 * either way, unless a narrow crop is a deep field (isDeepField). A dark field (shadowed, low gain,
 * a dark near side) has too few active columns for the first pass: a second, weak pass (weakPass)
 * is tried when the first finds nothing, is refused, or keeps under 65 % of the active pixels.
 *
 * @example const [x0, y0, x1, y1] = findScanArea(await decodeGray('frame.png'));
 */
export function findScanArea(image: GrayImage): CropBox {
  const { width: w, height: h } = image;
  const pixels = activePixels(image);
  const found = scanAreaCandidate(image, pixels, STRICT);
  const ok = found !== null && acceptable(found, w, h);
  if (ok && found.activeInside * 100 >= RETRY_SHARE_PCT * found.activeTotal) return found.crop;
  const weak = weakPass(image, pixels, ok ? found : null, found);
  if (weak) return weak;
  return ok ? found.crop : [0, 0, w, h];
}

type Pass = { colPct: number; colGapPct: number; rowPct: number };
const STRICT: Pass = { colPct: COL_LIT_PCT, colGapPct: COL_GAP_PCT, rowPct: ROW_LIT_PCT };
const WEAK: Pass = { colPct: WEAK_COL_PCT, colGapPct: WEAK_COL_GAP_PCT, rowPct: WEAK_ROW_PCT };

/** Not under 1/4 of the image either way, unless a narrow crop is a deep field. */
function acceptable(found: Candidate, w: number, h: number): boolean {
  const [x0, y0, x1, y1] = found.crop;
  if ((y1 - y0) * MIN_CROP_FRACTION < h) return false;
  return (x1 - x0) * MIN_CROP_FRACTION >= w || isDeepField(found, h);
}

/**
 * The weak pass: columns with >= 10 % active pixels (small gaps only, so rulers and text beside the
 * field stay out), rows with >= 5 %; the run holding the first pass's candidate (`seed`) and at least
 * its rows. Its crop is kept only when it passes the size checks, holds >= 80 % of the frame's active
 * pixels (a frame of furniture or a run that is not the field does not) and contains the accepted
 * first crop (`kept`), if any; null otherwise. Held-out phantoms (issue 13, w111): fields split by a
 * shadow (9001 00032: a 157 of 594 px run, -86 % area error) and screens whose field the first pass
 * missed (5417 00239: +337 %) — see packages/models/README.md.
 */
function weakPass(
  image: GrayImage,
  pixels: ActivePixels,
  kept: Candidate | null,
  seed: Candidate | null,
): CropBox | null {
  const { width: w, height: h } = image;
  const weak = scanAreaCandidate(image, pixels, WEAK, seed);
  if (!weak || !acceptable(weak, w, h)) return null;
  if (weak.activeInside * 100 < WEAK_SHARE_PCT * weak.activeTotal) return null;
  if (kept && !contains(weak.crop, kept.crop)) return null;
  return weak.crop;
}

const contains = (a: CropBox, b: CropBox) => a[0] <= b[0] && a[1] <= b[1] && a[2] >= b[2] && a[3] >= b[3];

/**
 * A narrow crop is a deep field (22-28 cm: tall and narrow on the screen) when it is at least half
 * the image tall and holds at least 65 % of the frame's active pixels: beside it is text and rulers,
 * not speckle. A narrow run cut out of a wider field (the bright far side of a linear field whose near
 * side under the fat is dark, a convex sector's middle) leaves more of the speckle outside (held-out
 * phantoms: 0.38-0.62 of it inside against 0.66-0.99 for deep fields). A refused field costs nothing
 * against the plain 1/4 rule; an accepted wrong run hides the ribeye, hence the high bar.
 */
function isDeepField({ crop, activeInside, activeTotal }: Candidate, h: number): boolean {
  return (
    (crop[3] - crop[1]) * 100 >= DEEP_FIELD_HEIGHT_PCT * h &&
    activeInside * 100 >= DEEP_FIELD_SHARE_PCT * activeTotal
  );
}

type Candidate = { crop: CropBox; activeInside: number; activeTotal: number };

/**
 * The column and row runs of one pass, before findScanArea's size check (null: none found). With a
 * `seed` (the first pass's candidate), the column run holding its middle and at least its rows.
 */
function scanAreaCandidate(
  image: GrayImage,
  { active, colCounts }: ActivePixels,
  pass: Pass,
  seed: Candidate | null = null,
): Candidate | null {
  const { width: w, height: h } = image;
  const colRuns = columnRuns(colCounts, w, h, pass);
  const mid = seed ? (seed.crop[0] + seed.crop[2]) >> 1 : -1;
  const cols = seed ? (colRuns.find(([a, b]) => a <= mid && mid < b) ?? null) : bestRun(colCounts, colRuns);
  if (!cols) return null;
  const [x0, x1] = cols;
  const rowCounts = new Int32Array(h);
  for (let y = 0; y < h; y++) {
    let n = 0;
    for (let i = y * w + x0, end = y * w + x1; i < end; i++) n += active[i]!;
    rowCounts[y] = n;
  }
  const minRow = pass.rowPct * (x1 - x0);
  const rowRuns = runs(h, (y) => rowCounts[y]! * 100 >= minRow, Math.floor((h * ROW_GAP_PCT) / 100));
  // From the first to the last tall run: a dark band inside the scan (low-gain tissue) must not
  // split it, while short runs (header text, ruler ticks) fall away.
  const tall = rowRuns.filter(([a, b]) => (b - a) * 100 >= ROW_RUN_PCT * h);
  const rows: Run | null = tall.length > 0 ? [tall[0]![0], tall.at(-1)![1]] : bestRun(rowCounts, rowRuns);
  if (!rows) return null;
  const y0 = seed ? Math.min(rows[0], seed.crop[1]) : rows[0];
  const y1 = seed ? Math.max(rows[1], seed.crop[3]) : rows[1];
  let activeInside = 0;
  for (let y = y0; y < y1; y++) activeInside += rowCounts[y]!;
  const activeTotal = colCounts.reduce((a, n) => a + n, 0);
  return { crop: [x0, y0, x1, y1], activeInside, activeTotal };
}

type AreaWeights = { start: Int32Array; weights: Float64Array[] };

/** Output cell i averages input [i*nIn/nOut, (i+1)*nIn/nOut) with fractional edge weights. */
export function areaWeights(nIn: number, nOut: number): AreaWeights {
  const scale = nIn / nOut;
  const start = new Int32Array(nOut);
  const weights: Float64Array[] = [];
  for (let i = 0; i < nOut; i++) {
    const a = i * scale;
    const b = (i + 1) * scale;
    const j0 = Math.floor(a);
    const j1 = Math.min(Math.ceil(b), nIn);
    const w = new Float64Array(j1 - j0);
    for (let j = j0; j < j1; j++) w[j - j0] = (Math.min(b, j + 1) - Math.max(a, j)) / scale;
    start[i] = j0;
    weights.push(w);
  }
  return { start, weights };
}

/** Area-average resize of the crop of `image` to outW×outH, float64 in gray units (rows first). */
export function areaResizeCrop(image: GrayImage, crop: CropBox, outW: number, outH: number): Float64Array {
  const out = new Float64Array(outW * outH);
  areaResizeInto(image, crop, outW, outH, out, 1);
  return out;
}

/** The crop of `image` area-resized to size×size, float32 in [0,1] (the model input). */
export function cropTensor(image: GrayImage, crop: CropBox, size: number): Float32Array {
  const tensor = new Float32Array(size * size);
  areaResizeInto(image, crop, size, size, tensor, 255);
  return tensor;
}

/**
 * areaResizeCrop's values divided by `divisor`, into `out`: rows first (each output row the weighted
 * sum of its input rows, taps in order), then columns — one output row at a time, so the vertical pass
 * lives in one crop-wide line (a few kB, in cache) instead of an outH × crop-width float64 plane
 * (~0.6 MB at 128 px). The same sums in the same order, so the same values (x + 0 = x: a line starts
 * at its first tap instead of at zero).
 */
function areaResizeInto(
  image: GrayImage,
  crop: CropBox,
  outW: number,
  outH: number,
  out: Float64Array | Float32Array,
  divisor: number,
): void {
  const [x0, y0, x1, y1] = crop;
  const cw = x1 - x0;
  const ry = areaWeights(y1 - y0, outH);
  const rx = areaWeights(cw, outW);
  const data = image.data;
  const line = new Float64Array(cw);
  for (let i = 0; i < outH; i++) {
    const wts = ry.weights[i]!;
    const first = (y0 + ry.start[i]!) * image.width + x0;
    const w0 = wts.length > 0 ? wts[0]! : 0; // an empty crop's line is 0, as the sums of nothing
    for (let x = 0; x < cw; x++) line[x] = w0 * data[first + x]!;
    for (let k = 1; k < wts.length; k++) {
      const src = first + k * image.width;
      const wk = wts[k]!;
      for (let x = 0; x < cw; x++) line[x]! += wk * data[src + x]!;
    }
    for (let o = 0; o < outW; o++) {
      const wo = rx.weights[o]!;
      const base = rx.start[o]!;
      let acc = 0;
      for (let k = 0; k < wo.length; k++) acc += wo[k]! * line[base + k]!;
      out[i * outW + o] = acc / divisor;
    }
  }
}

/**
 * Gray image -> model input (size×size float32 in [0,1]) and the scan-area crop it came from. A caller
 * that already found the scan area (the grader runs two models on one frame) passes it in.
 */
export function preprocess(
  image: GrayImage,
  size: number,
  crop: CropBox = findScanArea(image),
): Preprocessed {
  return { tensor: cropTensor(image, crop, size), size, crop };
}
