"""Load a `cti-phantom export` directory into preprocessed arrays (cached as one .npz per size set).

Each sample gives: the exact model inputs (hint and segmentation sizes, via cti_preprocess), a larger
copy for crop augmentation, the box normalised to the scan-area crop, the soft mask at each size.
"""

import json
import os
from multiprocessing import Pool

import numpy as np

import cti_preprocess
from cti_preprocess import area_resize, decode_gray, find_scan_area, roi_box

# The hint's view classes = the generator's kinds (PHANTOM_KINDS), 'ribeye' first: the view head
# predicts which one a frame is; only 'ribeye' is a usable view.
VIEW_CLASSES = ["ribeye", "ribeye_cut_off", "backfat_longitudinal", "transverse_wrong_site", "rump_p8",
                "probe_lifted", "motion_blur", "off_animal", "noise"]


def list_samples(root: str) -> list[str]:
    """Sample ids (e.g. '00012') in manifest order when there is a manifest, else sorted."""
    names = sorted(n[:-5] for n in os.listdir(root) if n.endswith(".json") and n[:-5].isdigit())
    if not names:
        raise SystemExit(f"no samples (NNNNN.json) in {root}")
    return names


def read_label(root: str, sid: str) -> dict:
    with open(os.path.join(root, sid + ".json"), encoding="utf8") as f:
        return json.load(f)


def _one(args: tuple[str, str, int, int, int]) -> dict:
    root, sid, hint_size, seg_size, aug_size = args
    label = read_label(root, sid)
    gray = decode_gray(os.path.join(root, sid + ".png"))
    h, w = gray.shape
    x0, y0, x1, y1 = find_scan_area(gray)
    crop = gray[y0:y1, x0:x1]
    box = label.get("ribeye_bbox")
    mask_path = os.path.join(root, sid + ".mask.png")
    if box is not None and os.path.exists(mask_path):
        mask = (decode_gray(mask_path) > 127).astype(np.float64)
    else:
        mask = np.zeros_like(gray, dtype=np.float64)
    mcrop = mask[y0:y1, x0:x1]
    cw, ch = x1 - x0, y1 - y0
    nbox = np.zeros(4, np.float32)
    if box is not None:
        bx0, by0, bx1, by1 = box
        nbox = np.clip(np.array([(bx0 - x0) / cw, (by0 - y0) / ch, (bx1 - x0) / cw, (by1 - y0) / ch]), 0, 1)
    # The refine pass's input: the ribeye box widened by random margins (what the coarse pass's box
    # might be), from the full-resolution frame like at inference; seeded by the sample id.
    roi = np.zeros((seg_size, seg_size), np.float32)
    mask_roi = np.zeros((seg_size, seg_size), np.float32)
    if box is not None:
        rng = np.random.default_rng(int(sid) * 7919 + 17)
        mx0, mx1 = rng.uniform(0.03, 0.6, 2)
        my0, my1 = rng.uniform(0.08, 0.9, 2)
        rx0, ry0, rx1, ry1 = roi_box(box, (x0, y0, x1, y1), mx0, my0, mx1, my1)
        roi = (area_resize(gray[ry0:ry1, rx0:rx1], seg_size, seg_size) / 255.0).astype(np.float32)
        mask_roi = area_resize(mask[ry0:ry1, rx0:rx1], seg_size, seg_size).astype(np.float32)
    kind = label.get("kind", "ribeye" if box is not None else "noise")
    if kind not in VIEW_CLASSES:
        raise SystemExit(f"{sid}: unknown kind {kind!r} (expected one of {VIEW_CLASSES})")
    return {
        "view_class": np.int64(VIEW_CLASSES.index(kind)),
        "has_box": box is not None,
        "hint": (area_resize(crop, hint_size, hint_size) / 255.0).astype(np.float32),
        "seg": (area_resize(crop, seg_size, seg_size) / 255.0).astype(np.float32),
        "aug": np.round(area_resize(crop, aug_size, aug_size)).astype(np.uint8),
        "mask_seg": area_resize(mcrop, seg_size, seg_size).astype(np.float32),
        "roi": roi,
        "mask_roi": mask_roi,
        "mask_aug": np.round(area_resize(mcrop, aug_size, aug_size) * 255).astype(np.uint8),
        "box": nbox.astype(np.float32),
        "positive": kind == "ribeye",
        "full_box": np.array(box if box is not None else [0, 0, 0, 0], np.float32),
        "size": np.array([w, h], np.int32),
        "crop": np.array([x0, y0, x1, y1], np.int32),
        "mask_area": float(mask.sum()),
    }


def load(root: str, hint_size: int, seg_size: int, aug_size: int, workers: int = 2) -> dict:
    # The cache is keyed by the preprocessing constants too: a changed scan-area rule must not reuse it.
    rule = "-".join(str(v) for v in (cti_preprocess.LIT_THRESHOLD, cti_preprocess.TEXTURE_STEP, cti_preprocess.COL_LIT_PCT, cti_preprocess.COL_MIN_RUN_PCT, cti_preprocess.ROW_LIT_PCT,
                                     cti_preprocess.COL_GAP_PCT, cti_preprocess.ROW_GAP_PCT, cti_preprocess.ROW_RUN_PCT))
    cache = os.path.join(root, f"cache-v3-{hint_size}-{seg_size}-{aug_size}-r{rule}.npz")
    if os.path.exists(cache):
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    ids = list_samples(root)
    jobs = [(root, sid, hint_size, seg_size, aug_size) for sid in ids]
    with Pool(workers) as pool:
        rows = pool.map(_one, jobs, chunksize=16)
    data = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    data["ids"] = np.array(ids)
    np.savez(cache, **data)
    return data
