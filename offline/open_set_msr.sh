#!/usr/bin/env bash
# Open-set study of guards.confidence_threshold on MSR-Action3D (real depth): im-PSTNet lite trained
# without 5 of the 20 classes (config/train/msr_action3d_lite_openset.yaml, 25 epochs), then all 290 test
# videos scored with the recogniser's predictor and the threshold swept 0.00..0.95 by
# python -m vg4d_core.evaluation.open_set -> results/open_set_msr.json. Video level only (no MSR bags).
#   bash offline/open_set_msr.sh      # ~20 min on a 2-core CPU; resumable
set -euo pipefail
cd "$(dirname "$0")/.."
VG4D=${VG4D:-vg4d}
PY=${PY:-python}
RUN=${RUN:-runs/open_set/msr_lite_15}
OUT_JSON=${OUT_JSON:-results/open_set_msr.json}
mkdir -p "$RUN"
CMDS="$RUN/commands.txt"   # every command run, appended over resumed invocations (kept in the results JSON)
run() { local q; q=$(printf '%q ' "$@"); echo "${q% }" >> "$CMDS"; echo "+ ${q% }" >&2; "$@"; }
resume=(); [ -f "$RUN/last.pt" ] && resume=(--resume)
run $VG4D train --config config/train/msr_action3d_lite_openset.yaml --out "$RUN" "${resume[@]}"
run $PY -m vg4d_core.evaluation.open_set --fold "msr15=$RUN/last.pt" --commands "$CMDS" --out "$OUT_JSON" \
    --note "recipe: bash offline/open_set_msr.sh; 25 epochs, not the lite recipe's 100"
