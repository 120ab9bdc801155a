#!/usr/bin/env bash
# The README's first command: set everything up on a fresh Debian/Ubuntu machine
# (Python 3.10+, no GPU, no ROS) and run the VG4D demo end to end.
#   bash demo.sh [OUT_DIR] [vg4d demo args...]     (default OUT_DIR: demo_run)
# Rerun the same command to resume a killed demo. See `vg4d demo --help`.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT=${1:-"$HERE/demo_run"}
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac  # relative to where you ran it
shift || true
cd "$HERE"
# shellcheck source=scripts/setup_env.sh
. scripts/setup_env.sh
# OpenMP's wait policy is left to the machine: on an idle 2-core machine the default (spin a while,
# then sleep) is faster (a crossmodal epoch: 17 s; 23 s with OMP_WAIT_POLICY=passive); on one busy
# with other jobs, spinning took 5x the CPU time per epoch, so there run
# `OMP_WAIT_POLICY=passive bash demo.sh`. The figures are the same either way (README "Reproducibility").
exec "$VENV/bin/vg4d" demo --out "$OUT" "$@"
