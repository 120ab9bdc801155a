#!/usr/bin/env bash
# Everything that needs an NVIDIA GPU, in one run (about 10 minutes on one H100-class card):
#   the `cuda` tests (Triton kernels against the naive reference, the model and recogniser on the GPU),
#   then the GPU benchmarks, each writing its JSON under results/bench/:
#   ops_cuda.json (FPS, ball query, grouping), model_cuda.json (im-PSTNet latency / throughput / memory),
#   people_cuda.json (window-to-label latency for 1-4 people, batched vs one by one: README "Latency
#   against people"; the goal is p95 at 3 people <= 1.5 x one).
#
#   bash offline/gpu_checks.sh            (from a fresh clone: tests/run.sh installs the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup_env.sh
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device: nothing to check here")'
"$PY" -m pytest -q -m cuda
vg4d() { "$PY" -m vg4d_core.cli "$@"; }
vg4d bench ops --device cuda
vg4d bench model --device cuda
vg4d bench people --device cuda
