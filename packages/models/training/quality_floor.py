"""Floors a trained model must clear before it is exported or copied over the committed models.

A training run that collapses (e.g. a segmentation net that outputs empty masks everywhere: validation
Dice 0, area error 1) still exits 0 and writes plausible-looking files. These checks make such a run
fail with a message naming the metric, so `pnpm train:models` never replaces good models with
degenerate ones. They are floors against collapse, not the issue's targets (`pnpm eval:models`).

CLI (train-models.sh, after calibration): quality_floor.py MODELS_DIR -> exit 1 with the failures.
"""

import json
import os
import sys

SEG_MIN_DICE = 0.7  # validation Dice at the input resolution (a collapsed net: 0)
SEG_MAX_AREA_ERROR = 0.5  # mean relative area error at the input resolution (a collapsed net: 1)
HINT_MIN_IOU = 0.6  # mean box IoU on validation ribeyes
VIEW_MIN_POSITIVES = 0.8  # validation ribeyes the view head calls ribeye (p >= 0.5)
VIEW_MIN_NEGATIVES = 0.8  # validation negatives it does not
VIEW_MIN_AUC = 0.9  # the calibrated verdict's ROC AUC on its calibration phantoms
VIEW_MIN_ACCEPTED_RIBEYES = 0.8  # ...and the share of those ribeyes it accepts at its threshold


class QualityFloorError(SystemExit):
    def __init__(self, model: str, failures: list[str]):
        super().__init__(f"{model}: below the quality floor, written to below-floor/ instead of beside the models -- "
                         + "; ".join(failures))
        self.failures = failures


def _below(metrics: dict, key: str, floor: float, failures: list[str]) -> None:
    v = metrics.get(key)
    if v is None or not v >= floor:  # None / NaN fail too
        failures.append(f"{key} {v} < {floor}")


def _above(metrics: dict, key: str, ceiling: float, failures: list[str]) -> None:
    v = metrics.get(key)
    if v is None or not v <= ceiling:
        failures.append(f"{key} {v} > {ceiling}")


def seg_failures(metrics: dict) -> list[str]:
    """The segmentation's validation metrics (train_seg.evaluate) against the floors."""
    failures: list[str] = []
    _below(metrics, "val_dice_at_input_res", SEG_MIN_DICE, failures)
    _above(metrics, "val_area_error_at_input_res", SEG_MAX_AREA_ERROR, failures)
    if "val_roi_dice_at_input_res" in metrics:
        _below(metrics, "val_roi_dice_at_input_res", SEG_MIN_DICE, failures)
    # No floor on val_negatives_empty_mask: since 3.0.0 the segmentation outlines the likeliest ribeye
    # on any frame (cut-off, lifted and mid-sweep frames do show one) and the view verdict rejects the
    # frame; a net that lights everything fails the Dice floor.
    return failures


def hint_failures(metrics: dict) -> list[str]:
    """The hint's (QAT) validation metrics (train_hint.evaluate) against the floors: the box and a view
    head that separates (degenerate = everything one class)."""
    failures: list[str] = []
    _below(metrics, "val_mean_iou", HINT_MIN_IOU, failures)
    _below(metrics, "val_view_positives_p_ge_0_5", VIEW_MIN_POSITIVES, failures)
    if metrics.get("val_negatives"):
        _below(metrics, "val_view_negatives_p_lt_0_5", VIEW_MIN_NEGATIVES, failures)
    return failures


def view_failures(card: dict) -> list[str]:
    """The calibrated view verdict's card (scripts/calibrate-view.ts) against the floors."""
    failures: list[str] = []
    cal = card.get("calibration", card)
    _below(cal, "rocAuc", VIEW_MIN_AUC, failures)
    accepted = (cal.get("acceptedByKind") or {}).get("ribeye")
    if not isinstance(accepted, str) or "/" not in accepted:
        failures.append(f"acceptedByKind.ribeye missing ({accepted!r})")
    else:
        a, n = (int(v) for v in accepted.split("/"))
        if n == 0 or a / n < VIEW_MIN_ACCEPTED_RIBEYES:
            failures.append(f"ribeyes accepted {accepted} < {VIEW_MIN_ACCEPTED_RIBEYES}")
    return failures


def check(model: str, failures: list[str]) -> None:
    if failures:
        raise QualityFloorError(model, failures)


# The cards each net's run writes: `train.py --only hint` also yields the view card calibrated on it.
CARDS = {"seg": ("ribeye-seg",), "hint": ("ribeye-hint", "ribeye-view")}


def check_dir(models: str, only: str | None = None) -> list[str]:
    """Every card in `models` against its floors; the failures, each prefixed by the model. `only`
    ('seg' or 'hint'): a run that trained one net; the other net's cards are not expected."""
    out: list[str] = []
    expected = CARDS[only] if only else CARDS["seg"] + CARDS["hint"]

    def card(name: str) -> dict:
        path = os.path.join(models, f"{name}.card.json")
        if not os.path.exists(path):
            if name in expected:
                out.append(f"{name}: no card at {path}")
            return {}
        with open(path, encoding="utf8") as f:
            return json.load(f)

    seg, hint, view = card("ribeye-seg"), card("ribeye-hint"), card("ribeye-view")
    if seg:
        out += [f"ribeye-seg: {m}" for m in seg_failures(seg.get("metrics", {}))]
    if hint:
        out += [f"ribeye-hint: {m}" for m in hint_failures(hint.get("metrics", {}).get("qat", {}))]
    if view:
        out += [f"ribeye-view: {m}" for m in view_failures(view)]
    return out


def main(argv: list[str]) -> int:
    only = None
    if len(argv) == 4 and argv[2] == "--only" and argv[3] in CARDS:
        only, argv = argv[3], argv[:2]
    if len(argv) != 2:
        print("usage: quality_floor.py MODELS_DIR [--only seg|hint]", file=sys.stderr)
        return 2
    failures = check_dir(argv[1], only)
    for f in failures:
        print(f"quality floor: {f}", file=sys.stderr)
    if failures:
        print(f"quality floor: {argv[1]} FAILED ({len(failures)}); the committed models are left as they are",
              file=sys.stderr)
        return 1
    print(f"quality floor: {argv[1]} passes (seg Dice >= {SEG_MIN_DICE}, hint IoU >= {HINT_MIN_IOU}, "
          f"view AUC >= {VIEW_MIN_AUC})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
