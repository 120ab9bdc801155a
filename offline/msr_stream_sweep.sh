#!/usr/bin/env bash
# Event settings and window rates for continuous recognition, swept on the stitched MSR-Action3D test streams
# of offline/msr_action3d_bags.sh (run that first): one replay at 15 Hz (a window for every frame) from 4
# frames on that records every verdict, then every (rate, min_frames, alpha, min_score) through the event
# tracker on those verdicts (rate and min_frames thin them exactly), with a leave-one-stream-out choice
# -> results/bench/stream_sweep_msr.json (README "Streams").
#
#   bash offline/msr_stream_sweep.sh                  (CKPT=... NAME=... for another checkpoint)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/msr_bags}
VG4D=${VG4D:-vg4d}
PY=${PY:-python}
RESULTS=${RESULTS:-results}
CKPT=${CKPT:-$OUT/lite_crops/last.pt}
NAME=${NAME:-stream_sweep}        # the replay's folder under $OUT and the JSON's name: results/bench/${NAME}_msr.json

$VG4D replay "$OUT"/streams/s?? --checkpoint "$CKPT" --labels "$OUT/streams/labels.yaml" \
    --out "$OUT/$NAME" --quiet --no-progress --no-segment-verdicts --verdicts \
    window.rate_hz=15 window.min_frames=4 window.min_coverage=0.5 motion.min_motion=0.01
mkdir -p "$RESULTS/bench"
$PY -m vg4d_ros.programs.stream_sweep "$OUT/$NAME/report.json" --out "$RESULTS/bench/${NAME}_msr.json" \
    --rates 15,7.5,5,3 --min-frames 4,5,6,8 --alphas 1.0,0.8,0.7,0.6,0.5 --min-scores 0.3,0.4,0.5,0.6
