#!/usr/bin/env bash
# One command from a fresh clone to a finished test run:
#   bash tests/run.sh [pytest args...]
# Creates a virtual environment (default .venv, override with VG4D_VENV),
# installs torch + torchvision (VG4D_TORCH_SPEC, default the pair we test
# against), both packages in editable mode with their test extras and the
# [clip] extra (open_clip, so its backend tests run instead of skipping),
# then runs pytest.
# Real data is looked up at $VG4D_SHARED_DATA (default ../shared/data);
# tests needing it skip with a reason when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VG4D_VENV:-.venv}
PYTHON=${PYTHON:-python3}
# The torch/torchvision pair the tests use: open_clip needs a torchvision built
# for the very same torch. Space-separated pip requirements, e.g.
#   VG4D_TORCH_SPEC="torch==X torchvision==Y" bash tests/run.sh
TORCH_SPEC=${VG4D_TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}

if [ ! -x "$VENV/bin/python" ]; then
    echo "[vg4d] creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip setuptools wheel
# torch + torchvision first, so that the packages' "torch>=2.4" is already
# satisfied and the resolver does not swap in another build (CPU vs CUDA, or a
# torchvision for another torch) behind your back. A venv that already has both is kept.
# shellcheck disable=SC2086  # TORCH_SPEC is a list of requirements
"$PY" -c "import torch, torchvision" 2>/dev/null || "$PY" -m pip install --quiet $TORCH_SPEC
"$PY" -m pip install --quiet -e "src/vg4d_core[test,clip]" -e "src/vg4d_ros[test]"

echo "[vg4d] $("$PY" -c 'import torch, sys; import torchvision; print(f"python {sys.version.split()[0]}, torch {torch.__version__}, torchvision {torchvision.__version__}, cuda {torch.cuda.is_available()}")')"
exec "$PY" -m pytest "$@"
