#!/usr/bin/env bash
# The MSR-Action3D lite band: offline/msr_action3d_lite.sh's recipe at seeds 0 1 2, each evaluated
# with its protocol's 5 test views; per-seed figures and mean ± std into
# results/msr_action3d_lite_seeds.json. About an hour per seed on a 2-core CPU. Resumable.
set -euo pipefail
cd "$(dirname "$0")/.."
VG4D=${VG4D:-vg4d}
# shellcheck disable=SC2086
$VG4D seeds --recipe train:msr_action3d_lite --seeds ${SEEDS:-0 1 2} --out runs/seeds/msr_action3d_lite \
  --results results/msr_action3d_lite_seeds.json "$@" --eval test_views=5
