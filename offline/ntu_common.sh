#!/usr/bin/env bash
# Shared by offline/ntu*.sh: preprocess NTU RGB+D once, then either pre-train
# im-PSTNet with the paper's schedule on one protocol (ntu_recipe) or run the
# whole VG4D chain pretrain -> vlm -> crossmodal (ntu_vg4d_chain); evaluate,
# copy the metrics to results/.
#
# Environment:
#   RAW=/data/ntu        folder holding nturgb+d_depth_masked/ and nturgb+d_rgb/ (required
#                        unless the cache is complete already)
#   CACHE=cache/ntu      training cache (one for NTU60 and NTU120: NTU120 contains NTU60)
#   NPROC=1              GPUs: >1 trains under torchrun (DDP) with the same recipe
#   RUN=runs/<protocol>  run directory (the chain: runs/<protocol>_vg4d/<stage>/);
#                        re-running resumes every stage from its last.pt
#   VG4D=vg4d            the CLI
#   RESULTS=results      where the metrics JSON is copied
# Extra arguments are recipe overrides (key=value).
set -euo pipefail

ntu_cache() {  # preprocess (resumable) when RAW is set; sets CACHE_DIR
    CACHE_DIR=${CACHE:-cache/ntu}
    if [ -n "${RAW:-}" ]; then
        # resumable: videos already in the cache are skipped. Exit status 1 means some
        # videos failed to convert (listed above, and in the cache's report): train without them.
        local rc=0
        ${VG4D:-vg4d} preprocess ntu --root "$RAW" --out "$CACHE_DIR" || rc=$?
        if [ "$rc" -eq 1 ]; then
            echo "warning: some videos were not converted (see above); training on the rest" >&2
        elif [ "$rc" -ne 0 ]; then
            exit "$rc"
        fi
    elif [ ! -d "$CACHE_DIR" ]; then
        echo "set RAW=/path/to/ntu (raw NTU RGB+D) or CACHE=/path/to/existing/cache" >&2
        exit 2
    fi
}

train_stage() {  # train_stage RECIPE RUN [overrides...]: one stage, resumed when RUN/last.pt exists
    local recipe=$1 run=$2; shift 2
    local resume=()
    [ -f "$run/last.pt" ] && resume=(--resume)
    if [ "${NPROC:-1}" -gt 1 ]; then
        torchrun --standalone --nproc_per_node "$NPROC" -m vg4d_core.training.cli \
            --config "$recipe" --out "$run" "${resume[@]}" "data_overrides.root=$CACHE_DIR" "$@"
    else
        ${VG4D:-vg4d} train --config "$recipe" --out "$run" "${resume[@]}" "data_overrides.root=$CACHE_DIR" "$@"
    fi
}

ntu_recipe() {
    local protocol=$1; shift
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    local run=${RUN:-runs/$protocol}
    local vg4d=${VG4D:-vg4d}
    ntu_cache
    train_stage "config/train/$protocol.yaml" "$run" "$@"
    $vg4d evaluate --checkpoint "$run/last.pt" --out "$run/eval"
    local results=${RESULTS:-results}
    mkdir -p "$results"
    cp "$run/eval/metrics.json" "$results/$protocol.json"
    echo "$results/$protocol.json written (headline: final epoch)"
}

ntu_vg4d_chain() {  # ntu_vg4d_chain PROTOCOL: VG4D's three stages, then the four scores + Table III
    local protocol=$1; shift
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    local base=${RUN:-runs/${protocol}_vg4d}
    local vg4d=${VG4D:-vg4d}
    ntu_cache
    # the same validation videos are held out of every stage (a stable hash of the video id), so the
    # fusion weights are fitted on videos no stage trained on
    train_stage "config/train/$protocol.yaml" "$base/pretrain" val_fraction=0.05 "$@"
    train_stage "config/train/${protocol}_vlm.yaml" "$base/vlm" "$@"
    train_stage "config/train/${protocol}_crossmodal.yaml" "$base/crossmodal" \
        "pretrained=$base/pretrain/last.pt" "vlm_checkpoint=$base/vlm/last.pt" "$@"
    $vg4d evaluate --checkpoint "$base/crossmodal/last.pt" --out "$base/crossmodal/eval" --ablations \
        "root=$CACHE_DIR"
    local results=${RESULTS:-results}
    mkdir -p "$results"
    cp "$base/crossmodal/eval/metrics.json" "$results/${protocol}_vg4d.json"
    echo "$results/${protocol}_vg4d.json written (headline: the fusion, final epochs)"
}
