#!/usr/bin/env bash
# The VG4D chain on ntu120_cset: pretrain -> vlm -> crossmodal -> evaluate (four scores + Table III).
# Every stage resumes from its last.pt when re-run (a finished stage is skipped by its loop).
#   CACHE=/path/to/ntu/cache bash offline/ntu120_cset_vg4d.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${CACHE:?set CACHE to the vg4d preprocess ntu output}
VG4D=${VG4D:-vg4d}
stage() {  # stage RECIPE RUN [overrides...]
    local recipe=$1 run=$2; shift 2
    local resume=(); [ -f "$run/last.pt" ] && resume=(--resume)
    $VG4D train --config "$recipe" --out "$run" "${resume[@]}" "data_overrides.root=$CACHE" "$@"
}
stage config/train/ntu120_cset.yaml runs/ntu120_cset val_fraction=0.05
stage config/train/ntu120_cset_vlm.yaml runs/ntu120_cset_vlm
stage config/train/ntu120_cset_crossmodal.yaml runs/ntu120_cset_crossmodal
$VG4D evaluate --checkpoint runs/ntu120_cset_crossmodal/last.pt --out runs/ntu120_cset_crossmodal/eval --ablations "root=$CACHE"
