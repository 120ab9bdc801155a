#!/usr/bin/env bash
# One command from a fresh clone to a finished test run:
#   bash tests/run.sh [pytest args...]
# Creates a virtual environment (default .venv, override with VG4D_VENV),
# installs torch (VG4D_TORCH_SPEC, default the version we test against),
# both packages in editable mode with their test extras, then runs pytest.
# Real data is looked up at $VG4D_SHARED_DATA (default ../shared/data);
# tests needing it skip with a reason when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VG4D_VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${VG4D_TORCH_SPEC:-torch==2.13.0}

if [ ! -x "$VENV/bin/python" ]; then
    echo "[vg4d] creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip setuptools wheel
# torch first, so that the packages' "torch>=2.4" is already satisfied and the
# resolver does not swap in another build (CPU vs CUDA) behind your back.
"$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install --quiet "$TORCH_SPEC"
"$PY" -m pip install --quiet -e "src/vg4d_core[test]" -e "src/vg4d_ros[test]"

echo "[vg4d] $("$PY" -c 'import torch, sys; print(f"python {sys.version.split()[0]}, torch {torch.__version__}, cuda {torch.cuda.is_available()}")')"
exec "$PY" -m pytest "$@"
