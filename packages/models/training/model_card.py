"""Model cards: machine-readable JSON (read by @cti/models to verify sha256) + a markdown rendering."""

import hashlib
import json
import os


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _md_value(v) -> str:
    if v is None:
        return "—"
    return f"`{json.dumps(v)}`" if isinstance(v, (dict, list)) else str(v)


def render_markdown(card: dict) -> str:
    lines = [f"# Model card: {card['name']} {card['version']}", "", card["description"], "",
             "| field | value |", "|---|---|"]
    for key in ("file", "sha256", "sizeBytes", "format", "precision", "opset", "task", "acceptThreshold",
                "maskThreshold"):
        if key in card:
            lines.append(f"| {key} | {_md_value(card.get(key))} |")
    sections = [("Input", "input"), ("Output", "output"), ("Preprocessing", "preprocessing"),
                ("Postprocessing", "postprocessing"), ("Training data", "trainingData"),
                ("Training", "training"), ("Metrics (phantom validation split, computed by the trainer)", "metrics"),
                ("Mask threshold calibration (scripts/calibrate-seg-threshold.ts)", "maskThresholdCalibration")]
    for title, key in sections:
        if key not in card:
            continue
        lines += ["", f"## {title}", ""]
        value = card[key]
        if isinstance(value, dict):
            lines += [f"- **{k}**: {_md_value(v)}" for k, v in value.items()]
        else:
            lines.append(_md_value(value))
    lines += ["", "## Limitations", "", card["limitations"], "",
              "The JSON card beside this file is the source of truth; `@cti/models` refuses a model file",
              "whose sha256 differs from `sha256` there.", ""]
    return "\n".join(lines)


def write_card(out_dir: str, card: dict) -> None:
    path = os.path.join(out_dir, card["file"])
    card["sha256"] = sha256_file(path)
    card["sizeBytes"] = os.path.getsize(path)
    base = os.path.join(out_dir, card["name"])
    with open(base + ".card.json", "w", encoding="utf8") as f:
        json.dump(card, f, indent=2, allow_nan=False)
        f.write("\n")
    with open(base + ".card.md", "w", encoding="utf8") as f:
        f.write(render_markdown(card))


def rerender(card_path: str) -> None:
    """Re-renders the markdown of an edited JSON card (the sha256 is re-checked against the file)."""
    with open(card_path, encoding="utf8") as f:
        card = json.load(f)
    out_dir = os.path.dirname(os.path.abspath(card_path))
    actual = sha256_file(os.path.join(out_dir, card["file"]))
    if actual != card["sha256"]:
        raise SystemExit(f"{card['file']}: sha256 {actual} differs from the card")
    with open(os.path.join(out_dir, card["name"] + ".card.md"), "w", encoding="utf8") as f:
        f.write(render_markdown(card))


if __name__ == "__main__":
    import sys

    for path in sys.argv[1:]:
        rerender(path)
