#!/usr/bin/env bash
# Shared by offline/ntu*.sh: preprocess NTU RGB+D once, pre-train im-PSTNet with
# the paper's schedule on one protocol, evaluate, copy the metrics to results/.
#
# Environment:
#   RAW=/data/ntu        folder holding nturgb+d_depth_masked/ and nturgb+d_rgb/ (required
#                        unless the cache is complete already)
#   CACHE=cache/ntu      training cache (one for NTU60 and NTU120: NTU120 contains NTU60)
#   NPROC=1              GPUs: >1 trains under torchrun (DDP) with the same recipe
#   RUN=runs/<protocol>  run directory; re-running resumes from RUN/last.pt
#   VG4D=vg4d            the CLI
#   RESULTS=results      where the metrics JSON is copied
# Extra arguments are recipe overrides (key=value).
set -euo pipefail

ntu_recipe() {
    local protocol=$1; shift
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    local recipe=config/train/$protocol.yaml
    local cache=${CACHE:-cache/ntu}
    local run=${RUN:-runs/$protocol}
    local nproc=${NPROC:-1}
    local vg4d=${VG4D:-vg4d}

    if [ -n "${RAW:-}" ]; then
        # resumable: videos already in the cache are skipped. Exit status 1 means some
        # videos failed to convert (listed above, and in the cache's report): train without them.
        local rc=0
        $vg4d preprocess ntu --root "$RAW" --out "$cache" || rc=$?
        if [ "$rc" -eq 1 ]; then
            echo "warning: some videos were not converted (see above); training on the rest" >&2
        elif [ "$rc" -ne 0 ]; then
            exit "$rc"
        fi
    elif [ ! -d "$cache" ]; then
        echo "set RAW=/path/to/ntu (raw NTU RGB+D) or CACHE=/path/to/existing/cache" >&2
        exit 2
    fi

    local resume=()
    [ -f "$run/last.pt" ] && resume=(--resume)
    if [ "$nproc" -gt 1 ]; then
        torchrun --standalone --nproc_per_node "$nproc" -m vg4d_core.training.cli \
            --config "$recipe" --out "$run" "${resume[@]}" "data_overrides.root=$cache" "$@"
    else
        $vg4d train --config "$recipe" --out "$run" "${resume[@]}" "data_overrides.root=$cache" "$@"
    fi
    $vg4d evaluate --checkpoint "$run/last.pt" --out "$run/eval"
    local results=${RESULTS:-results}
    mkdir -p "$results"
    cp "$run/eval/metrics.json" "$results/$protocol.json"
    echo "$results/$protocol.json written (headline: final epoch)"
}
