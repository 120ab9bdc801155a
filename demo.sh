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
# idle OpenMP threads (torch's and numba's) sleep instead of spinning: on a 2-core machine with
# anything else running, spinning took 5x the CPU time per training epoch (measured while
# writing #23's band); the figures do not change (set OMP_WAIT_POLICY=active to compare)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
exec "$VENV/bin/vg4d" demo --out "$OUT" "$@"
