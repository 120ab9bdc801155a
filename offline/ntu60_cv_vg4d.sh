#!/usr/bin/env bash
# The VG4D chain on ntu60_cv: pretrain -> vlm -> crossmodal -> evaluate (four scores + Table III),
# each stage resumed from its last.pt when re-run. X-CLIP weights must be local (hf download ...).
#   RAW=/data/ntu NPROC=4 bash offline/ntu60_cv_vg4d.sh [key=value overrides for every stage...]
# See offline/ntu_common.sh for the environment variables.
source "$(dirname "$0")/ntu_common.sh"
ntu_vg4d_chain ntu60_cv "$@"
