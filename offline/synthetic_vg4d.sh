#!/usr/bin/env bash
# The synthetic VG4D chain on CPU: tiny X-CLIP -> pretrain -> vlm -> crossmodal -> evaluate.
# Resumable: re-running continues each stage from its last.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
VG4D=${VG4D:-vg4d}
PY=${PY:-python}
# 64 px frames, 16 px patches, width 64, 32-d embeddings (embed_dim of every synthetic recipe)
[ -d runs/tiny_xclip_64 ] || $PY -m vg4d_core.vlm.tiny runs/tiny_xclip_64 --image 64 --patch 16 --width 64 --dim 32 --frames 8
stage() { local resume=(); [ -f "runs/$1/last.pt" ] && resume=(--resume)
          local t0=$SECONDS
          $VG4D train --config "config/train/$1.yaml" --out "runs/$1" "${resume[@]}"
          echo "[synthetic_vg4d] $1: $((SECONDS - t0)) s"; }
stage synthetic_pretrain
stage synthetic_vlm
stage synthetic_crossmodal
$VG4D evaluate --checkpoint runs/synthetic_crossmodal/last.pt --out runs/synthetic_crossmodal/eval --ablations
