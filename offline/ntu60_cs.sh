#!/usr/bin/env bash
# im-PSTNet pre-training on NTU RGB+D 60 cross-subject with the paper's schedule
# (config/train/ntu60_cs.yaml): preprocess -> train -> evaluate.
#   RAW=/data/ntu NPROC=4 bash offline/ntu60_cs.sh [key=value overrides...]
# See offline/ntu_common.sh for the environment variables.
source "$(dirname "$0")/ntu_common.sh"
ntu_recipe ntu60_cs "$@"
