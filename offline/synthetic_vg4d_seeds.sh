#!/usr/bin/env bash
# The README's synthetic VG4D band (four scores and their fusion) and the demo's replay band:
# `vg4d demo` (the synthetic recipes + held-out room-mode bags replayed) at seeds 0 1 2, each
# seed's figures and their mean ± std into results/synthetic_vg4d.json (per_seed, summary).
# Resumable: rerun to continue a killed seed. About 10 min per seed on a 2-core CPU.
#   SEEDS="0 1 2 3 4" bash offline/synthetic_vg4d_seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VG4D=${VG4D:-vg4d}
# shellcheck disable=SC2086
$VG4D seeds --recipe demo --seeds ${SEEDS:-0 1 2} --out runs/seeds/demo --results results/synthetic_vg4d.json
