#!/usr/bin/env bash
# im-PSTNet lite on MSR-Action3D on a CPU (2 cores: under 2 hours), then its
# evaluation, copied to results/msr_action3d_lite.json.
#
#   bash offline/msr_action3d_lite.sh [key=value recipe overrides...]
#
# MSR-Action3D needs no preprocessing: the .mat depth videos are converted
# when the dataset is built (data root: $VG4D_SHARED_DATA/msr_action3d, or
# data_overrides.root=/path). Re-running after a kill resumes from last.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
RECIPE=config/train/msr_action3d_lite.yaml
RUN=${RUN:-runs/msr_action3d_lite}
VG4D=${VG4D:-vg4d}

resume=()
[ -f "$RUN/last.pt" ] && resume=(--resume)
$VG4D train --config "$RECIPE" --out "$RUN" "${resume[@]}" "$@"
$VG4D evaluate --checkpoint "$RUN/last.pt" --out "$RUN/eval"
RESULTS=${RESULTS:-results}
mkdir -p "$RESULTS"
cp "$RUN/eval/metrics.json" "$RESULTS/msr_action3d_lite.json"
echo "$RESULTS/msr_action3d_lite.json written (headline: final epoch; see its 'training' entry for the run)"
