"""Shared pytest fixtures and marker handling for the vg4d test suite.

* ``cuda`` tests are skipped when no CUDA device is visible.
* ``shared_data`` points at the real recordings beside the project
  (``$VG4D_SHARED_DATA``, default ``<repo>/../shared/data``); tests that need
  them skip with a reason naming the path when it is absent, and fail
  instead under ``CI`` (see ``missing_data.py``).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from missing_data import skip_or_fail

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _cuda_available():
        return
    skip_cuda = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip_cuda)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real data (MSR-Action3D, NTU sample); skips if missing."""
    root = Path(os.environ.get("VG4D_SHARED_DATA", DEFAULT_SHARED_DATA))
    if not root.is_dir():
        skip_or_fail(f"real data not found at {root} (set VG4D_SHARED_DATA)")
    return root
