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

# shellcheck source=../scripts/setup_env.sh
. scripts/setup_env.sh
exec "$PY" -m pytest "$@"
