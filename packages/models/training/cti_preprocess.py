"""Preprocessing shared by training and inference (mirrored line by line in src/preprocess.ts).

1. decode to 8-bit gray: RGB -> round(0.299 R + 0.587 G + 0.114 B) (what @cti/imaging's toGray does);
2. find the scan area: drop black or gray margins, header and settings text, panel backdrops, gray
   bars and rulers (a pixel is active when lit -- gray > 8 -- and textured -- it differs by >= 2 from
   its right or lower neighbour, as speckle does and flat backgrounds and glyph interiors do not;
   columns: the run with the most active pixels; rows: from the first to the last active run at
   least 6 % of the height tall, so a dark band inside the scan -- low-gain tissue -- does not split
   it while short runs -- text lines, ruler ticks -- fall away; a crop under 1/4 of the image either
   way falls back to the whole image, except a narrow one at least half the image tall that holds at
   least 65 % of the frame's active pixels -- a deep field, tall and narrow on the screen; a dark field
   -- shadowed, low gain, a dark near side -- gets a second, weak pass: columns >= 10 % active, rows
   >= 5 %, kept when it holds >= 80 % of the active pixels and the first pass's accepted crop, tried
   when the first pass finds nothing, is refused or keeps under 65 % of the active pixels);
3. area-average resize of that crop to S x S (non-uniform: the aspect is not kept) and scale to [0,1].

A parity test (src/preprocess-parity.test.ts) runs a fixture through this file and through the
TypeScript code and compares the outputs, so change both together.
"""

import json
import sys

import numpy as np
from PIL import Image, ImageOps

LIT_THRESHOLD = 8  # a pixel is "lit" when gray > this (above black margins and JPEG noise, below dark tissue)
TEXTURE_STEP = 2  # ...and "active" when it also differs by >= 2 from its right or lower neighbour (speckle)
COL_LIT_PCT = 30  # a column belongs to the scan when >= 30 % of its pixels are lit
COL_MIN_RUN_PCT = 1  # column runs narrower than 1 % of the width (>= 3 px) are edges, not a scan
ROW_LIT_PCT = 20  # a row (within the chosen columns) when >= 20 % of its pixels are lit
COL_GAP_PCT = 6  # dark columns (probe lift-off) narrower than 6 % of the width are bridged
ROW_GAP_PCT = 1  # dark rows narrower than 1 % of the height are bridged
ROW_RUN_PCT = 6  # row runs shorter than 6 % of the height (text, ticks) are not part of the scan
MIN_CROP_FRACTION = 4  # a crop narrower/shorter than 1/4 of the image falls back to the whole image...
DEEP_FIELD_HEIGHT_PCT = 50  # ...except a narrow one >= 50 % of the image tall
DEEP_FIELD_SHARE_PCT = 65  # holding >= 65 % of the frame's active pixels (a deep field)
# The second, weak pass (dark fields: shadowed, low gain, a dark near side), tried when the first finds
# nothing, is refused, or keeps under RETRY_SHARE_PCT % of the frame's active pixels:
RETRY_SHARE_PCT = 65
WEAK_COL_PCT = 10  # columns with >= 10 % active pixels...
WEAK_COL_GAP_PCT = 1  # ...gaps under 1 % of the width bridged (a ruler beside the field stays out)
WEAK_ROW_PCT = 5  # rows with >= 5 % of the columns' pixels active
WEAK_SHARE_PCT = 80  # kept only when it holds >= 80 % of the active pixels (and the first crop)
STRICT = (COL_LIT_PCT, COL_GAP_PCT, ROW_LIT_PCT)  # (column %, column gap %, row %) of a pass
WEAK = (WEAK_COL_PCT, WEAK_COL_GAP_PCT, WEAK_ROW_PCT)


def decode_gray(path: str) -> np.ndarray:
    """Any PNG/JPEG/BMP -> (H, W) uint8 gray, same arithmetic as @cti/imaging's toGray.

    Turned as its EXIF orientation says, like @cti/imaging's decodeRaster (and every viewer).
    """
    with Image.open(path) as opened:
        opened.load()
        im = ImageOps.exif_transpose(opened)
        if im.mode in ("L", "1"):
            return np.asarray(im.convert("L"), dtype=np.uint8).copy()
        if im.mode.startswith("I;16") or im.mode == "I":
            # 16-bit gray (PIL opens it as "I" or "I;16"): keep the high byte, as sharp does
            # (v >> 8); convert("L") clipped every value above 255 to white.
            return (np.asarray(im, dtype=np.int64) >> 8).clip(0, 255).astype(np.uint8)
        if im.mode in ("LA", "F"):
            return np.asarray(im.convert("L"), dtype=np.uint8).copy()
        rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
    return rgb_to_gray(rgb)


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    return np.floor(y + 0.5).clip(0, 255).astype(np.uint8)


def _runs(active: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Runs [start, end) of active indices, gaps <= max_gap bridged."""
    runs: list[tuple[int, int]] = []
    start, last = -1, -1
    for i in range(len(active)):
        if not active[i]:
            continue
        if start < 0 or i - last - 1 > max_gap:
            if start >= 0:
                runs.append((start, last + 1))
            start = i
        last = i
    if start >= 0:
        runs.append((start, last + 1))
    return runs


def _column_runs(col_counts: np.ndarray, w: int, h: int, col_pct: int, gap_pct: int) -> list[tuple[int, int]]:
    """Columns with >= col_pct % active pixels; runs narrower than COL_MIN_RUN_PCT % of the width
    dropped (a panel backdrop's or a gray bar's long vertical edge), then gaps <= gap_pct % bridged."""
    min_width = max(3, w * COL_MIN_RUN_PCT // 100)
    wide = [r for r in _runs(col_counts * 100 >= col_pct * h, 0) if r[1] - r[0] >= min_width]
    max_gap = w * gap_pct // 100
    merged: list[list[int]] = []
    for a, b in wide:
        if merged and a - merged[-1][1] <= max_gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _best_run(counts: np.ndarray, runs: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The run with the largest count sum (the first on ties)."""
    best, best_sum = None, -1
    for a, b in runs:
        total = int(counts[a:b].sum())
        if total > best_sum:
            best, best_sum = (a, b), total
    return best


def active_pixels(gray: np.ndarray) -> np.ndarray:
    """Lit (gray > LIT_THRESHOLD) and textured: differs by >= TEXTURE_STEP from the right or lower neighbour."""
    g = gray.astype(np.int16)
    dx = np.zeros_like(g)
    dx[:, :-1] = np.abs(g[:, 1:] - g[:, :-1])
    dy = np.zeros_like(g)
    dy[:-1, :] = np.abs(g[1:, :] - g[:-1, :])
    return (gray > LIT_THRESHOLD) & ((dx >= TEXTURE_STEP) | (dy >= TEXTURE_STEP))


def find_scan_area(gray: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), exclusive end, of the active scan area; the whole image when none is found."""
    h, w = gray.shape
    lit = active_pixels(gray)
    col_counts = lit.sum(axis=0).astype(np.int64)
    found = _scan_area_candidate(lit, col_counts, STRICT)
    ok = found is not None and _acceptable(found, w, h)
    if ok and found[1] * 100 >= RETRY_SHARE_PCT * found[2]:
        return found[0]
    weak = _weak_pass(lit, col_counts, found if ok else None, found)
    if weak is not None:
        return weak
    return found[0] if ok else (0, 0, w, h)


def _acceptable(found, w: int, h: int) -> bool:
    """Not under 1/4 of the image either way, unless a narrow crop is a deep field."""
    (x0, y0, x1, y1), active_inside, active_total = found
    if (y1 - y0) * MIN_CROP_FRACTION < h:
        return False
    return (x1 - x0) * MIN_CROP_FRACTION >= w or _is_deep_field(y1 - y0, h, active_inside, active_total)


def _weak_pass(lit: np.ndarray, col_counts: np.ndarray, kept, seed):
    """The weak pass's crop (the run holding the seed's middle, at least its rows) when it passes the size
    checks, holds >= WEAK_SHARE_PCT % of the active pixels and contains the kept crop; else None."""
    h, w = lit.shape
    weak = _scan_area_candidate(lit, col_counts, WEAK, seed)
    if weak is None or not _acceptable(weak, w, h):
        return None
    if weak[1] * 100 < WEAK_SHARE_PCT * weak[2]:
        return None
    if kept is not None:
        a, b = weak[0], kept[0]
        if not (a[0] <= b[0] and a[1] <= b[1] and a[2] >= b[2] and a[3] >= b[3]):
            return None
    return weak[0]


def _is_deep_field(crop_h: int, h: int, active_inside: int, active_total: int) -> bool:
    """A narrow crop is a deep field (22-28 cm: tall and narrow on the screen) when it is at least half
    the image tall and holds at least 65 % of the frame's active pixels (beside it is text and rulers,
    not speckle); a narrow run cut out of a wider field leaves more of the speckle outside."""
    return (crop_h * 100 >= DEEP_FIELD_HEIGHT_PCT * h
            and active_inside * 100 >= DEEP_FIELD_SHARE_PCT * active_total)


def _scan_area_candidate(lit: np.ndarray, col_counts: np.ndarray, pass_, seed=None):
    """((x0, y0, x1, y1), active pixels inside, active pixels in the frame) of one pass before the size
    check, or None; with a seed (the first pass's candidate), the column run holding its middle and at
    least its rows."""
    h, w = lit.shape
    col_pct, gap_pct, row_pct = pass_
    col_runs = _column_runs(col_counts, w, h, col_pct, gap_pct)
    if seed is not None:
        mid = (seed[0][0] + seed[0][2]) >> 1
        cols = next((r for r in col_runs if r[0] <= mid < r[1]), None)
    else:
        cols = _best_run(col_counts, col_runs)
    if cols is None:
        return None
    x0, x1 = cols
    row_counts = lit[:, x0:x1].sum(axis=1).astype(np.int64)
    row_runs = _runs(row_counts * 100 >= row_pct * (x1 - x0), h * ROW_GAP_PCT // 100)
    tall = [r for r in row_runs if (r[1] - r[0]) * 100 >= ROW_RUN_PCT * h]
    rows = (tall[0][0], tall[-1][1]) if tall else _best_run(row_counts, row_runs)
    if rows is None:
        return None
    y0, y1 = rows
    if seed is not None:
        y0, y1 = min(y0, seed[0][1]), max(y1, seed[0][3])
    return (x0, y0, x1, y1), int(row_counts[y0:y1].sum()), int(col_counts.sum())


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix: output cell i averages input [i*n_in/n_out, (i+1)*n_in/n_out)."""
    m = np.zeros((n_out, n_in), dtype=np.float64)
    scale = n_in / n_out
    for i in range(n_out):
        a, b = i * scale, (i + 1) * scale
        j0, j1 = int(np.floor(a)), min(int(np.ceil(b)), n_in)
        for j in range(j0, j1):
            m[i, j] = (min(b, j + 1) - max(a, j)) / scale
    return m


def area_resize(img: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    """Area-average resize of a (H, W) array, float64 out (rows first, then columns)."""
    h, w = img.shape
    return area_weights(h, out_h) @ img.astype(np.float64) @ area_weights(w, out_w).T


def preprocess(gray: np.ndarray, size: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Gray (H, W) uint8 -> ((size, size) float32 in [0,1], scan-area crop box)."""
    x0, y0, x1, y1 = find_scan_area(gray)
    crop = gray[y0:y1, x0:x1]
    return (area_resize(crop, size, size) / 255.0).astype(np.float32), (x0, y0, x1, y1)


# The segmentation's refine pass (src/segmentation-model.ts roiBox): the coarse mask's box widened by
# ROI_MARGIN_X of its width left and right and ROI_MARGIN_Y of its height above and below, kept inside
# the scan area, then area-resized to the model's input like the first pass.
ROI_MARGIN_X = 0.25
ROI_MARGIN_Y = 0.4
ROI_MIN_SIDE = 8


def roi_box(box, crop, mx: float = ROI_MARGIN_X, my: float = ROI_MARGIN_Y, mx1: float | None = None,
            my1: float | None = None) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), exclusive end: `box` widened by mx / my (left, top) and mx1 / my1 (right, bottom;
    default the same) of its size, clipped to `crop`, at least ROI_MIN_SIDE px (or the crop) each way."""
    bx0, by0, bx1, by1 = box
    cx0, cy0, cx1, cy1 = crop
    w, h = bx1 - bx0, by1 - by0
    mx1 = mx if mx1 is None else mx1
    my1 = my if my1 is None else my1
    x0, x1 = max(cx0, int(np.floor(bx0 - mx * w))), min(cx1, int(np.ceil(bx1 + mx1 * w)))
    y0, y1 = max(cy0, int(np.floor(by0 - my * h))), min(cy1, int(np.ceil(by1 + my1 * h)))
    x0, x1 = _min_side(x0, x1, cx0, cx1)
    y0, y1 = _min_side(y0, y1, cy0, cy1)
    return (x0, y0, x1, y1)


def _min_side(a: int, b: int, lo: int, hi: int) -> tuple[int, int]:
    """Grow [a, b) to ROI_MIN_SIDE (or all of [lo, hi)), around its middle, inside [lo, hi)."""
    need = min(ROI_MIN_SIDE, hi - lo)
    if b - a >= need:
        return a, b
    a = max(lo, min((a + b - need) // 2, hi - need))
    return a, a + need


def main(argv: list[str]) -> int:
    """CLI used by the parity test: preprocess.py IMAGE SIZE -> JSON on stdout."""
    if len(argv) != 3:
        print("usage: cti_preprocess.py IMAGE SIZE", file=sys.stderr)
        return 2
    gray = decode_gray(argv[1])
    x, crop = preprocess(gray, int(argv[2]))
    gray_sum = int(gray.astype(np.int64).sum())
    print(json.dumps({"width": gray.shape[1], "height": gray.shape[0], "graySum": gray_sum,
                      "crop": list(crop), "data": [round(float(v), 7) for v in x.ravel()]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
