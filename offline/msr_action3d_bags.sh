#!/usr/bin/env bash
# MSR-Action3D through ROS 2 bags, as a new user's own-bag loop runs it on a 2-core CPU:
#   msr2bag (16UC1 mm + CameraInfo, 15 Hz) -> bag2cache -> lite training (subjects 1-5 / 6-10)
#   -> a fine-tune on temporal crops and prefixes (live windows hold part of an action, or its start)
#   -> vg4d evaluate on the cache -> vg4d replay of the test bags -> results/parity_msr.json
#   -> stitched test streams (idle gaps 1-4 s) -> vg4d replay -> results/stream_msr.json
#
#   bash offline/msr_action3d_bags.sh [key=value training overrides...]
#
# Every step resumes: bags and the cache are written bag by bag, training continues from last.pt.
# Data: $VG4D_SHARED_DATA/msr_action3d (default ../shared/data/msr_action3d).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/msr_bags}
VG4D=${VG4D:-vg4d}
PY=${PY:-python}
RESULTS=${RESULTS:-results}
DATA=${VG4D_SHARED_DATA:-../shared/data}
STREAMS=${STREAMS:-5}            # stitched test streams (each: the test videos of one subject, shuffled)

$VG4D msr2bag --root "$DATA/msr_action3d" --out "$OUT/bags"
[ -f "$OUT/cache/bag_index.json" ] || $VG4D bag2cache "$OUT"/bags/a* --labels "$OUT/bags/labels.yaml" \
    --out "$OUT/cache" --points 2048 --classes "$DATA/msr_action3d_classes.txt"
resume=()
[ -f "$OUT/lite/last.pt" ] && resume=(--resume)
$VG4D train --config config/train/msr_action3d_lite_bags.yaml --out "$OUT/lite" "${resume[@]}" \
    data_overrides.root="$OUT/cache" "$@"
# the live checkpoint: 10 more epochs on random 10-100 % temporal crops of each training video, 3 in 4 of
# them prefixes
resume=()
[ -f "$OUT/lite_crops/last.pt" ] && resume=(--resume)
$VG4D train --config config/train/msr_action3d_lite_bags_crops.yaml --out "$OUT/lite_crops" "${resume[@]}" \
    pretrained="$OUT/lite/last.pt" data_overrides.root="$OUT/cache"
CKPT="$OUT/lite_crops/last.pt"
$VG4D evaluate --checkpoint "$CKPT" --out "$OUT/lite_crops/eval" --no-progress
# the test bags in the cache's order (sorted names, subjects 6-10), each one labelled segment
TEST=$(ls -d "$OUT"/bags/a*_s0[6-9]_* "$OUT"/bags/a*_s10_* | sort)
$VG4D replay $TEST --checkpoint "$CKPT" --labels "$OUT/bags/labels.yaml" --out "$OUT/replay" \
    --index-by-bag-order --quiet --no-progress
# continuous streams: per test subject, its videos in a seeded random order with idle gaps
rm -rf "$OUT/streams"; mkdir -p "$OUT/streams"
for s in 06 07 08 09 10; do
    $VG4D stitch $(ls -d "$OUT"/bags/a*_s${s}_*) --labels "$OUT/bags/labels.yaml" --out "$OUT/streams/s$s" --seed "$((10#$s))"
done
# one labels file for all streams
$PY - "$OUT/streams" <<'PYEOF'
import sys, pathlib, yaml
root = pathlib.Path(sys.argv[1]); bags = {}
for f in sorted(root.glob("*.labels.yaml")):
    bags.update(yaml.safe_load(f.read_text())["bags"])
(root / "labels.yaml").write_text(yaml.safe_dump({"bags": bags}))
PYEOF
# how much people move while acting and standing still, on the TRAINING subjects: motion.min_motion below
$PY offline/msr_motion.py --bags "$OUT/bags" --checkpoint "$CKPT" --out "$RESULTS/motion_msr.json"
# streaming settings (README "Streams": a sweep of rates and event settings): a window every 2/15 s of
# message time (7.5 Hz, what a 2-core CPU keeps up with at 3 views), windows from half the window length on,
# smoothing alpha 0.5 and no label below a smoothed probability of 0.35, and the still rule: min_motion 0.01,
# above the motion of MSR's own still moments (results/motion_msr.json)
$VG4D replay "$OUT"/streams/s?? --checkpoint "$CKPT" --labels "$OUT/streams/labels.yaml" \
    --out "$OUT/stream_replay" --quiet --no-progress --no-segment-verdicts \
    window.rate_hz=7.5 window.min_coverage=0.5 events.alpha=0.5 events.min_score=0.35 motion.min_motion=0.01
mkdir -p "$RESULTS"
$PY -m vg4d_ros.programs.stream_results --metrics "$OUT/lite_crops/eval/metrics.json" --replay "$OUT/replay/report.json" \
    --parity "$RESULTS/parity_msr.json" --stream-replay "$OUT/stream_replay/report.json" --stream "$RESULTS/stream_msr.json" \
    --training "$VG4D train --config config/train/msr_action3d_lite_bags.yaml --out $OUT/lite data_overrides.root=$OUT/cache $*" \
    --training "$VG4D train --config config/train/msr_action3d_lite_bags_crops.yaml --out $OUT/lite_crops pretrained=$OUT/lite/last.pt data_overrides.root=$OUT/cache"
