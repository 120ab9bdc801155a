#!/usr/bin/env bash
# The synthetic VG4D chain on CPU: tiny X-CLIP -> pretrain -> vlm -> crossmodal -> evaluate.
# Resumable: re-running continues each stage from its last.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
VG4D=${VG4D:-vg4d}
PY=${PY:-python}
[ -d runs/tiny_xclip ] || $PY -m vg4d_core.vlm.tiny runs/tiny_xclip
stage() { local resume=(); [ -f "runs/$1/last.pt" ] && resume=(--resume)
          $VG4D train --config "config/train/$1.yaml" --out "runs/$1" "${resume[@]}"; }
stage synthetic_pretrain
stage synthetic_vlm
stage synthetic_crossmodal
$VG4D evaluate --checkpoint runs/synthetic_crossmodal/last.pt --out runs/synthetic_crossmodal/eval --ablations
