#!/usr/bin/env bash
# The synthetic VG4D result tables, after offline/synthetic_vg4d.sh:
# Table II (crossmodal runs with one loss switched off), Table III (score
# ablations) and the four scores + fusion, into results/synthetic_vg4d*.
set -euo pipefail
cd "$(dirname "$0")/.."
VG4D=${VG4D:-vg4d}
PY=${PY:-python}
study() { local name=$1; shift
          [ -f "runs/synthetic_crossmodal_$name/last.pt" ] && return 0
          local t0=$SECONDS
          $VG4D train --config config/train/synthetic_crossmodal.yaml --out "runs/synthetic_crossmodal_$name" "$@"
          echo "[synthetic_vg4d_results] crossmodal $name: $((SECONDS - t0)) s"; }
study no_pc_video crossmodal_loss.a=0   # without L_pc,video
study no_pc_text crossmodal_loss.b=0    # without L_pc,text
$VG4D evaluate --checkpoint runs/synthetic_crossmodal/last.pt --out runs/synthetic_crossmodal/eval --ablations \
  --no-progress --loss-study full=runs/synthetic_crossmodal/last.pt \
  no_pc_video=runs/synthetic_crossmodal_no_pc_video/last.pt \
  no_pc_text=runs/synthetic_crossmodal_no_pc_text/last.pt
$PY -m vg4d_core.evaluation.synthetic_report runs/synthetic_crossmodal/eval results
