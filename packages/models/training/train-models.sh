#!/usr/bin/env bash
# Reproduces both models in one command (`pnpm train:models`): builds @cti/imaging, exports the
# training phantoms with its cti-phantom CLI (the only data source), then trains with Debian's
# PyTorch (/usr/bin/python3; no PyPI) and writes the ONNX files + model cards into ../models.
#
# Environment (all optional):
#   CTI_IMAGING_REF   git commit of @cti/imaging to generate with (default HEAD; the committed
#                     generator, not the working tree, so the data is reproducible from the card)
#   CTI_TRAIN_COUNT   phantoms to export            (default 3600)
#   CTI_TRAIN_SEED    export seed                   (default 7101)
#   CTI_TRAIN_NEGATIVES share of negatives          (default 0.35; every negative kind, NEGATIVE_MIX)
#   CTI_VIEW_COUNT    view-calibration phantoms     (default 1200, half negatives, seed CTI_TRAIN_SEED+1)
#   CTI_TRAIN_REALISM=1  export both sets with `cti-phantom export --realism` (ribeye realism, hard
#                     positives, more cut-off/mid-sweep negatives; off by default: the 3.2.0 attempt
#                     trained on them came out worse than 3.0.0, see the README)
#   CTI_MODEL_VERSION version written to the cards  (default from training/VERSION)
#   CTI_TRAIN_DIR     work dir for phantoms + cache (default $TMPDIR/cti-train)
#   CTI_TRAIN_ARGS    extra arguments for train.py  (e.g. "--hint-epochs 10" for a quick run)
#   CTI_MODELS_OUT    where to copy models + cards when they pass training/quality_floor.py
#                     (default ../models, i.e. the committed ones; training writes into a scratch
#                     dir under CTI_TRAIN_DIR first)
#   CTI_PYTHON        python with Debian's torch    (default /usr/bin/python3)
#   CTI_TRAIN_EXPORT_ONLY=1  stop after the phantom export
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkg=$(dirname "$here")
root=$(cd "$pkg/../.." && pwd)
py=${CTI_PYTHON:-/usr/bin/python3}
count=${CTI_TRAIN_COUNT:-3600}
seed=${CTI_TRAIN_SEED:-7101}
negatives=${CTI_TRAIN_NEGATIVES:-0.35}
view_count=${CTI_VIEW_COUNT:-1200}
view_seed=$((seed + 1))
realism=""
[ "${CTI_TRAIN_REALISM:-}" = 1 ] && realism="--realism"
version=${CTI_MODEL_VERSION:-$(cat "$here/VERSION")}
work=${CTI_TRAIN_DIR:-${TMPDIR:-/tmp}/cti-train}
start=$(date +%s)
# Per phase: wall time and the CPU time of the phase's processes (user + sys, all threads): wall
# time depends on what else the machine runs, CPU time much less.
TIMEFORMAT='train-models: phase took %R s wall, %U s user + %S s sys CPU'

"$py" -c 'import torch, onnx' || { echo "need python3-torch and python3-onnx (apt) for $py" >&2; exit 1; }
mkdir -p "$work"

# Build the generator from a commit (git archive into the work dir), never from a dirty working tree.
# The last commit that changed the generator (so unrelated commits do not force a new export).
commit=$(git -C "$root" log -1 --format=%H "${CTI_IMAGING_REF:-HEAD}" -- packages/imaging tsconfig.base.json)
gen="$work/imaging-$commit"
# The generator's workspace dependencies (@cti/contracts, @cti/runtime) resolve through the linked
# node_modules to this checkout's packages: build them first (a fresh clone has no dist/).
(cd "$root" && pnpm --filter '@cti/imaging^...' run build >/dev/null)
if [ ! -f "$gen/packages/imaging/dist/cli.js" ]; then
  rm -rf "$gen" && mkdir -p "$gen"
  git -C "$root" archive "$commit" packages/imaging tsconfig.base.json | tar -x -C "$gen"
  ln -s "$root/packages/imaging/node_modules" "$gen/packages/imaging/node_modules"
  (cd "$gen/packages/imaging" && ./node_modules/.bin/tsc -p tsconfig.build.json)
fi
gen_sha=$(cd "$gen/packages/imaging" && find dist -name '*.js' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)
data="$work/phantoms-${commit:0:12}-s$seed-n$count-neg$negatives${realism:+-realism}"
if [ ! -f "$data/manifest.json" ]; then
  rm -rf "$data"
  echo "train-models: exporting $count training phantoms"
  time node "$gen/packages/imaging/dist/cli.js" export --out "$data" --count "$count" --seed "$seed" \
    --preset training --negatives "$negatives" --workers 2 $realism
fi
# The view verdict's calibration set: its own seed, half negatives (never the held-out set).
view_data="$work/view-${commit:0:12}-s$view_seed-n$view_count${realism:+-realism}"
if [ ! -f "$view_data/manifest.json" ]; then
  rm -rf "$view_data"
  echo "train-models: exporting $view_count view-calibration phantoms"
  time node "$gen/packages/imaging/dist/cli.js" export --out "$view_data" --count "$view_count" --seed "$view_seed" \
    --preset training --negatives 0.5 --max-side 640 --workers 2 $realism
fi
export_done=$(date +%s)
echo "train-models: phantoms in $data (export/reuse took $((export_done - start)) s)"
[ "${CTI_TRAIN_EXPORT_ONLY:-}" = 1 ] && exit 0
cat > "$data/generator.json" <<JSON
{"package": "@cti/imaging", "gitCommit": "$commit", "distSha256": "$gen_sha",
 "command": "cti-phantom export --count $count --seed $seed --preset training --negatives $negatives --workers 2${realism:+ $realism}"}
JSON

# Everything is written into a fresh scratch dir first and copied over $out only when the models
# clear quality_floor.py's floors (a collapsed run must never replace the committed models).
out=${CTI_MODELS_OUT:-$pkg/models}
scratch="$work/models-$version-$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$scratch"
train() { # shellcheck disable=SC2086
  "$py" "$here/train.py" --data "$data" --out "$scratch" --version "$version" \
    --generator-info "$data/generator.json" --export-seconds $((export_done - start)) ${CTI_TRAIN_ARGS:-} "$@"
}
echo "train-models: building the preprocessing cache"
time train --cache-only
# The two nets train at once, one torch thread each (CTI_TRAIN_ARGS="--only seg" trains one):
# on 2 cores that halves the training phase against one after the other.
case " ${CTI_TRAIN_ARGS:-} " in
  *" --only "*)
    echo "train-models: training into $scratch"
    time train ;;
  *)
    echo "train-models: training hint and segmentation at once into $scratch (logs: $scratch/train-*.log)"
    time {
      train --only hint >"$scratch/train-hint.log" 2>&1 & hint_pid=$!
      train --only seg >"$scratch/train-seg.log" 2>&1 & seg_pid=$!
      hint_rc=0 seg_rc=0
      wait "$hint_pid" || hint_rc=$?
      wait "$seg_pid" || seg_rc=$?
      cat "$scratch/train-hint.log" "$scratch/train-seg.log"
      [ "$hint_rc" = 0 ] && [ "$seg_rc" = 0 ] || { echo "train-models: training failed (hint $hint_rc, seg $seg_rc)" >&2; exit 1; }
    } ;;
esac
# The segmentation mask threshold, calibrated on the validation split through the inference pipeline.
# (`--only hint` / `--only seg` train one net: each step runs when its net was trained.)
if [ -f "$scratch/ribeye-seg.card.json" ]; then
  echo "train-models: calibrating the mask threshold"
  time node "$pkg/scripts/calibrate-seg-threshold.ts" --data "$data" --models "$scratch"
fi
# The view verdict's logistic calibration over the new hint's outputs.
if [ -f "$scratch/ribeye-hint.card.json" ]; then
  echo "train-models: calibrating the view verdict"
  time node "$pkg/scripts/calibrate-view.ts" --data "$view_data" --models "$scratch" --version "$version" \
    --command "cti-phantom export --count $view_count --seed $view_seed --preset training --negatives 0.5 --max-side 640${realism:+ $realism} (@cti/imaging $commit)"
fi
case " ${CTI_TRAIN_ARGS:-} " in *" --no-quality-floor "*)
  echo "train-models: --no-quality-floor: models left in $scratch, not copied to $out" >&2
  exit 0 ;;
esac
# A run of one net (--only seg|hint) is checked for that net's cards only.
only=$(printf '%s\n' " ${CTI_TRAIN_ARGS:-} " | sed -n 's/.* --only \(seg\|hint\) .*/\1/p')
"$py" "$here/quality_floor.py" "$scratch" ${only:+--only "$only"} || { echo "train-models: models left in $scratch" >&2; exit 1; }
mkdir -p "$out"
cp "$scratch"/*.onnx "$scratch"/*.card.json "$scratch"/*.card.md "$out"/
(cd "$root" && pnpm exec biome format --write "$out" >/dev/null) # cards in the repo's JSON style
echo "train-models: models copied from $scratch to $out"
echo "train-models: total $(( $(date +%s) - start )) s (export $((export_done - start)) s)"
