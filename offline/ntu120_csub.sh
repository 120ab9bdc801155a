#!/usr/bin/env bash
# im-PSTNet pre-training on NTU RGB+D 120 cross-subject with the paper's schedule
# (config/train/ntu120_csub.yaml): preprocess -> train -> evaluate.
#   RAW=/data/ntu NPROC=4 bash offline/ntu120_csub.sh [key=value overrides...]
# See offline/ntu_common.sh for the environment variables.
source "$(dirname "$0")/ntu_common.sh"
ntu_recipe ntu120_csub "$@"
