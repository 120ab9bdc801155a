#!/usr/bin/env bash
# The live window's settings against accuracy and latency on the MSR-Action3D test bags (after
# offline/msr_action3d_bags.sh): window.views (clips scored per window) and window.min_coverage (share of
# the window length the frames must span), one replay each; writes results/bench/window_sweep_msr.json.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/msr_bags}
VG4D=${VG4D:-vg4d}
PY=${PY:-python}
TEST=$(ls -d "$OUT"/bags/a*_s0[6-9]_* "$OUT"/bags/a*_s10_* | sort)
runs=()
for setting in "views=1 cov=0.75" "views=3 cov=0.75" "views=5 cov=0.75" "views=1 cov=0.5" "views=1 cov=1.0" "views=1 cov=0"; do
    v=${setting%% *}; v=${v#views=}; c=${setting##*cov=}
    dir="$OUT/sweep/views${v}_cov${c}"
    [ -f "$dir/report.json" ] || $VG4D replay $TEST --checkpoint "$OUT/lite/last.pt" --labels "$OUT/bags/labels.yaml" \
        --out "$dir" --index-by-bag-order --quiet --no-progress --no-segment-verdicts \
        "window.views=$v" "window.min_coverage=$c" > /dev/null
    runs+=("$dir/report.json")
done
mkdir -p results/bench
$PY - "${runs[@]}" <<'PYEOF'
import json, sys
from vg4d_core.provenance import save_json
rows = []
for path in sys.argv[1:]:
    r = json.load(open(path))
    s = r["summary"]
    w = r["config"]["window"] if "config" in r else {}
    rows.append({"report": path, "views": w.get("views"), "min_coverage": w.get("min_coverage"),
                 "window_top1": s["window_top1"], "inside_windows": s["inside_windows"],
                 "video_accuracy_end_window": s["video_accuracy"],
                 "latency_ms_p50": s["latency_ms_p50"], "latency_ms_p95": s["latency_ms_p95"]})
    print(f"views {w.get('views')} min_coverage {w.get('min_coverage')}: window top-1 {s['window_top1']:.2f} % "
          f"over {s['inside_windows']} windows, latency p50 {s['latency_ms_p50']:.1f} ms p95 {s['latency_ms_p95']:.1f} ms")
save_json("results/bench/window_sweep_msr.json", {"runs": rows, "units": {"window_top1": "percent", "latency": "ms"}})
PYEOF
