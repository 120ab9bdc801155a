# Sourced by tests/run.sh and demo.sh (not run on its own): makes the virtual
# environment the project runs in and sets PY to its python.
#   VG4D_VENV       where (default .venv)
#   VG4D_TORCH_SPEC the torch/torchvision pair (default the one the tests use:
#                   open_clip needs a torchvision built for the very same torch)
#   PYTHON          the interpreter that creates it (default python3, 3.10+)
# A venv that already holds torch and torchvision keeps them.
VENV=${VG4D_VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${VG4D_TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "[vg4d] $PYTHON is $("$PYTHON" --version 2>&1); vg4d needs Python 3.10 or newer (set PYTHON=...)" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "[vg4d] creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip setuptools wheel
# torch + torchvision first, so that the packages' "torch>=2.4" is already
# satisfied and the resolver does not swap in another build (CPU vs CUDA, or a
# torchvision for another torch) behind your back.
# shellcheck disable=SC2086  # TORCH_SPEC is a list of requirements
"$PY" -c "import torch, torchvision" 2>/dev/null || "$PY" -m pip install --quiet $TORCH_SPEC
"$PY" -m pip install --quiet -e "src/vg4d_core[test,clip]" -e "src/vg4d_ros[test]"
echo "[vg4d] $("$PY" -c 'import torch, sys; import torchvision; print(f"python {sys.version.split()[0]}, torch {torch.__version__}, torchvision {torchvision.__version__}, cuda {torch.cuda.is_available()}")')"
