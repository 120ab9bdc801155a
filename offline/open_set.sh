#!/usr/bin/env bash
# Open-set study of guards.confidence_threshold on the synthetic RGB-D dataset (issue "Live recognition
# under faults", item 1). For each fold, im-PSTNet lite (pretrain stage, point clouds only) is trained
# WITHOUT some classes (config/train/synthetic_pretrain_openset_<fold>.yaml, data.exclude_classes: steps =
# the step pair, boards = the board pair, arms = both appearance pairs, i.e. all four arm actions);
# then all 400 test videos are scored with the recogniser's predictor, and 80
# held-out room-mode recordings (all 8 classes, as a depth camera in a room sees them) are replayed
# through the recogniser with the threshold off, so that every window's top-1 probability is known.
# python -m vg4d_core.evaluation.open_set sweeps the threshold 0.00..0.95 over both and writes
# results/open_set_synthetic.json. Resumable: re-running skips what exists (training resumes).
#   bash offline/open_set.sh                 # ~15 min on an idle 2-core CPU (25 min on a busy one)
#   FOLDS="steps" bash offline/open_set.sh   # one fold
set -euo pipefail
cd "$(dirname "$0")/.."
VG4D=${VG4D:-vg4d}
PY=${PY:-python}
FOLDS=${FOLDS:-"steps boards arms"}
RUN=${RUN:-runs/open_set}
OUT_JSON=${OUT_JSON:-results/open_set_synthetic.json}
mkdir -p "$RUN"
CMDS="$RUN/commands.txt"   # every command run, appended over resumed invocations (kept in the results JSON)
run() { local q; q=$(printf '%q ' "$@"); echo "${q% }" >> "$CMDS"; echo "+ ${q% }" >&2; "$@"; }

for fold in $FOLDS; do
  resume=(); [ -f "$RUN/synthetic_$fold/last.pt" ] && resume=(--resume)
  run $VG4D train --config "config/train/synthetic_pretrain_openset_$fold.yaml" --out "$RUN/synthetic_$fold" \
      "${resume[@]}" progress=false
done

# the demo's held-out recording (config/demo/full.yaml bag: seed 7919, room mode), 10 videos per class, depth only
if [ ! -f "$RUN/bags/.done" ]; then
  rm -rf "$RUN/synth_room" "$RUN/bags"
  run $VG4D synth --out "$RUN/synth_room" --videos 80 --seed 7919 --room --room-back-wall 1.5 --room-side-wall 1.6
  run $VG4D ntu2bag --root "$RUN/synth_room" --out "$RUN/bags" --storage mcap --class-names synthetic --no-rgb
  touch "$RUN/bags/.done"
fi

args=()
for fold in $FOLDS; do
  # the demo's foreground settings for this room (config/demo/full.yaml recognizer_overrides), no colour,
  # threshold off: every classified window is kept with its top-1 probability
  if [ ! -f "$RUN/synthetic_$fold/replay/report.json" ]; then
    # exit 3 = some input skipped: the report is still written and names it
    run $VG4D replay "$RUN/bags" --checkpoint "$RUN/synthetic_$fold/last.pt" --config config/recognize.yaml \
        --out "$RUN/synthetic_$fold/replay" --quiet guards.confidence_threshold=0.0 topics.rgb= \
        foreground.max_depth=4.4 foreground.remove_floor=true foreground.crop_enabled=true \
        "foreground.crop_min=[-1.4, -2.5, 0.0]" "foreground.crop_max=[1.4, 2.5, 5.0]" || [ $? -eq 3 ]
  fi
  args+=(--fold "$fold=$RUN/synthetic_$fold/last.pt" --replay "$fold=$RUN/synthetic_$fold/replay/report.json")
done
run $PY -m vg4d_core.evaluation.open_set "${args[@]}" --commands "$CMDS" --out "$OUT_JSON" \
    --note "recipe: bash offline/open_set.sh (FOLDS='$FOLDS')"
