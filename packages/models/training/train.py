"""Train both CTI ribeye models from a `cti-phantom export` directory and write ONNX files + model cards.

    /usr/bin/python3 train.py --data DIR --out ../models [--version 1.0.0] [--quick]

Run through `pnpm train:models` (train-models.sh), which exports the phantoms first.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cti_preprocess as pp  # noqa: E402
from dataset import VIEW_CLASSES, load  # noqa: E402
from export_onnx import count_ops, export_hint, export_seg  # noqa: E402
from model_card import sha256_file, write_card  # noqa: E402
from quality_floor import check, hint_failures, seg_failures  # noqa: E402
from train_hint import train_hint  # noqa: E402
from train_seg import train_seg  # noqa: E402

PREPROCESSING_ID = "gray601-scanarea-v3-area"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--seed", type=int, default=20260107)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hint-size", type=int, default=128)
    ap.add_argument("--seg-size", type=int, default=96)
    ap.add_argument("--hint-epochs", type=int, default=24)
    ap.add_argument("--max-samples", type=int, default=None, help="use only the first N samples (quick runs)")
    ap.add_argument("--qat-epochs", type=int, default=2)
    ap.add_argument("--seg-epochs", type=int, default=18)
    ap.add_argument("--seg-widths", default="8,16,24,40,64")
    ap.add_argument("--seg-area-weight", type=float, default=0.5,
                    help="weight of the bounded area term |A_p - A_t| / (A_p + A_t) on ribeyes")
    ap.add_argument("--seg-roi-share", type=float, default=0.5,
                    help="share of the ribeyes trained as the refine pass sees them (box + random margins)")
    ap.add_argument("--view-weight", type=float, default=1.5, help="weight of the hint's view-class loss")
    ap.add_argument("--hard-view-weight", type=float, default=1.0,
                    help="share of ribeye_cut_off and motion_blur among the negative view classes (x the others)")
    ap.add_argument("--no-quality-floor", action="store_true",
                    help="export even below quality_floor.py's floors (quick smoke runs into a scratch dir)")
    ap.add_argument("--only", choices=["hint", "seg"], default=None)
    ap.add_argument("--cache-only", action="store_true",
                    help="build the preprocessing cache and stop (train-models.sh then trains both nets at once)")
    ap.add_argument("--generator-info", default=None, help="JSON identifying the generator build")
    ap.add_argument("--export-seconds", type=int, default=None)
    return ap.parse_args()


def preprocessing(size: int) -> dict:
    return {"id": PREPROCESSING_ID, "gray": "RGB -> round(0.299 R + 0.587 G + 0.114 B); gray kept as is",
            "scanArea": {"litThreshold": pp.LIT_THRESHOLD, "textureStep": pp.TEXTURE_STEP, "colLitPct": pp.COL_LIT_PCT, "colMinRunPct": pp.COL_MIN_RUN_PCT, "rowLitPct": pp.ROW_LIT_PCT,
                         "colGapPct": pp.COL_GAP_PCT, "rowGapPct": pp.ROW_GAP_PCT, "rowRunPct": pp.ROW_RUN_PCT,
                         "minCropFraction": pp.MIN_CROP_FRACTION},
            "resize": f"area average of the scan-area crop to {size}x{size} (aspect not kept)",
            "scale": "value / 255 -> float32 in [0,1]", "size": size}


def training_data(args, data, manifest) -> dict:
    pos = data["positive"]
    generator = None
    if args.generator_info:
        with open(args.generator_info, encoding="utf8") as f:
            generator = json.load(f)
    return {"source": "@cti/imaging `cti-phantom export` (TypeScript phantom generator)",
            "generator": generator, "exportSeconds": args.export_seconds, "export": manifest, "samples": int(len(pos)), "positives": int(pos.sum()),
            "negatives": int((~pos).sum()), "kinds": {c: int((data["view_class"] == k).sum()) for k, c in enumerate(VIEW_CLASSES)},
            "validationSplit": "last 8 % of the samples by id"}


def constant_prior(data) -> list[float]:
    """Mean ribeye box relative to the whole image: the image-blind baseline the eval compares against."""
    pos = data["positive"]
    rel = data["full_box"][pos] / np.concatenate([data["size"][pos], data["size"][pos]], axis=1)
    return [round(float(v), 4) for v in rel.mean(axis=0)]


def below_floor_dir(out: str) -> str:
    """Where a model below the quality floor is written (kept for inspection; a rerun is not needed to
    look at it), never over OUT's models."""
    path = os.path.join(out, "below-floor")
    os.makedirs(path, exist_ok=True)
    return path


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log = lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)
    t0, c0 = time.time(), time.process_time()
    data = load(args.data, args.hint_size, args.seg_size, 160)
    if args.max_samples:
        data = {k: v[: args.max_samples] for k, v in data.items()}
    log(f"loaded {len(data['positive'])} samples in {time.time() - t0:.0f} s (CPU {time.process_time() - c0:.0f} s in this "
        "process; the preprocessing cache is built by 2 worker processes)")
    if args.cache_only:
        return
    manifest_path = os.path.join(args.data, "manifest.json")
    with open(manifest_path, encoding="utf8") as f:
        manifest = {k: v for k, v in json.load(f).items() if k != "samples"}
    n = len(data["positive"])
    n_val = max(1, n * 8 // 100)
    train_idx, val_idx = torch.arange(0, n - n_val), np.arange(n - n_val, n)
    common = {"version": args.version, "format": "onnx", "opset": 13,
              "trainingData": training_data(args, data, manifest),
              "limitations": "Trained only on synthetic B-mode phantoms. Phantom validation figures do not predict "
                             "real-scan accuracy; see `pnpm eval:models` for real-scan variants vs a constant prior."}
    env = {"torch": torch.__version__, "python": platform.python_version(), "threads": args.threads,
           "seed": args.seed}
    if args.only in (None, "hint"):
        t, c = time.time(), time.process_time()
        net, metrics = train_hint(data, train_idx, val_idx, {"seed": args.seed, "hint_size": args.hint_size,
                                                            "hint_epochs": args.hint_epochs,
                                                            "hint_qat_epochs": args.qat_epochs,
                                                            "view_weight": args.view_weight,
                                                            "hard_view_weight": args.hard_view_weight}, log)
        # Below the floor (quality_floor.py): exported into OUT/below-floor/ for inspection, never into OUT.
        failures = [] if args.no_quality_floor else hint_failures(metrics["qat"])
        out = below_floor_dir(args.out) if failures else args.out
        int8, fp32 = "ribeye-hint-int8.onnx", "ribeye-hint-fp32-reference.onnx"
        int8_check, fp32_check = export_hint(net, args.hint_size, os.path.join(out, int8), os.path.join(out, fp32))
        write_card(out, {
            "name": "ribeye-hint", **common, "file": int8, "task": "bbox-hint", "precision": "int8-qdq",
            "description": "Ribeye bounding-box hint for the capture agent (Raspberry Pi): a small fully-convolutional "
                           "CNN predicting per cell the share inside the ribeye box, the box decoded from its "
                           "row/column profiles in the graph, and a view-class head (which of the generator's "
                           "kinds the frame is) read by the view verdict; test-time flip; quantization-aware "
                           "trained, exported as int8 QDQ ONNX.",
            "input": {"name": "image", "shape": [1, 1, args.hint_size, args.hint_size], "dtype": "float32"},
            "output": {"name": "box_score", "shape": [1, 5 + len(VIEW_CLASSES)],
                       "layout": "x0, y0, x1, y1 in [0,1] of the scan-area crop; score = predicted IoU of that box; "
                                 "then one logit per view class (viewClasses)"},
            "viewClasses": VIEW_CLASSES,
            "preprocessing": preprocessing(args.hint_size),
            "postprocessing": "box scaled to the scan-area crop and offset to input-image pixels",
            "acceptThreshold": 0.5, "constantPrior": constant_prior(data),
            "constantPriorInScanArea": [round(float(v), 4) for v in data["box"][data["positive"]].mean(axis=0)],
            "fp32Reference": {"file": fp32, "sha256": sha256_file(os.path.join(out, fp32)),
                              "use": "evaluation only (int8-vs-fp32 agreement)", "selfCheck": fp32_check},
            "selfCheck": int8_check,
            "graphOps": count_ops(os.path.join(out, int8)),
            "training": {**env, "fp32Epochs": args.hint_epochs, "qatEpochs": args.qat_epochs, "batch": 64,
                         "viewLossWeight": args.view_weight, "hardViewClassShare": args.hard_view_weight,
                         "seconds": round(time.time() - t), "cpuSeconds": round(time.process_time() - c)},
            "metrics": metrics})
        check("ribeye-hint", failures)
        log(f"hint done in {time.time() - t:.0f} s (CPU {time.process_time() - c:.0f} s)")
    if args.only in (None, "seg"):
        t, c = time.time(), time.process_time()
        widths = [int(v) for v in args.seg_widths.split(",")]
        net, metrics = train_seg(data, train_idx, val_idx, {"seed": args.seed, "seg_size": args.seg_size,
                                                           "seg_epochs": args.seg_epochs, "seg_widths": widths,
                                                           "seg_area_weight": args.seg_area_weight,
                                                           "seg_roi_share": args.seg_roi_share}, log)
        log(f"seg val {metrics}")
        # A collapsed net (empty masks: Dice 0) goes to OUT/below-floor/, never into OUT.
        failures = [] if args.no_quality_floor else seg_failures(metrics)
        out = below_floor_dir(args.out) if failures else args.out
        file = "ribeye-seg.onnx"
        seg_check = export_seg(net, args.seg_size, os.path.join(out, file))
        write_card(out, {
            "name": "ribeye-seg", **common, "file": file, "task": "segmentation", "precision": "fp32",
            "description": f"Ribeye (longissimus) segmentation for server grading: compact U-Net, widths {widths}, "
                           "test-time flip (mean of the image's and its mirror's probability maps).",
            "input": {"name": "image", "shape": [1, 1, args.seg_size, args.seg_size], "dtype": "float32"},
            "output": {"name": "prob", "shape": [1, 1, args.seg_size, args.seg_size],
                       "layout": "ribeye probability per pixel of the resized scan-area crop"},
            "preprocessing": preprocessing(args.seg_size),
            "postprocessing": "two passes of the same network. Coarse: the scan-area crop; its probability map "
                              "resized bilinearly to the crop, thresholded at refine.coarseThreshold, pasted "
                              "into the frame, largest 8-connected component, holes filled. Refine: the coarse "
                              "mask's box widened by refine.marginX of its width left and right and "
                              "refine.marginY of its height above and below (inside the scan area), area-resized "
                              "to the input; its map back to that box the same way, thresholded at "
                              "maskThreshold (calibrated on the validation split for the smallest area error "
                              "through this pipeline: scripts/calibrate-seg-threshold.ts). When the refine mask "
                              "(at refine.coarseThreshold) reaches a side of its box that lies inside the scan "
                              "area, the box is widened to the union of the coarse box and that mask (same "
                              "margins) and refined again, at most twice. When the last refine map is unsure of "
                              "its mask (more cells between 0.3 and 0.7 than half its cells at 0.5 or more) and "
                              "that mask's area (at maskThreshold) is more than 1.4 but at most 4 times off the "
                              "coarse mask's either way, the coarse map is the answer; the score stays the refine "
                              "map's crispness. An empty coarse mask is the answer.",
            "refine": {"marginX": pp.ROI_MARGIN_X, "marginY": pp.ROI_MARGIN_Y, "coarseThreshold": 0.5,
                       "minSide": pp.ROI_MIN_SIDE},
            "maskThreshold": 0.5, "selfCheck": seg_check,  # calibrate-seg-threshold.ts sets it next
            "training": {**env, "epochs": args.seg_epochs, "batch": 32, "widths": widths,
                         "samples": "ribeyes, cut-off ribeyes (visible mask) and a third of the anatomical and "
                                    "noise negatives (empty masks); no lifted-probe or mid-sweep frames",
                         "loss": "BCE over every pixel + soft Dice and areaWeight * |A_p - A_t| / (A_p + A_t) "
                                 "over the samples with a ribeye",
                         "areaWeight": args.seg_area_weight, "refineShare": args.seg_roi_share,
                         "seconds": round(time.time() - t), "cpuSeconds": round(time.process_time() - c)},
            "metrics": metrics})
        check("ribeye-seg", failures)
        log(f"seg done in {time.time() - t:.0f} s (CPU {time.process_time() - c:.0f} s)")
    log(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
