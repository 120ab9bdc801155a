"""Fixtures for the grouping-op tests: adversarial point sets and the Triton
kernels compiled for Triton's CPU interpreter."""
from __future__ import annotations

import pytest
import torch

import vg4d_core.ops.triton_gpu as triton_gpu_module


def point_cases() -> dict[str, torch.Tensor]:
    """Named (B, N, 3) float32 point sets, including the degenerate ones."""
    g = torch.Generator().manual_seed(0)
    base = torch.rand(3, 40, 3, generator=g)
    dup = base.repeat_interleave(5, dim=1)[:, torch.randperm(200, generator=g)]  # every point 5 times, shuffled
    return {
        "uniform": torch.rand(3, 257, 3, generator=g),
        "gaussian_blobs": torch.cat([torch.randn(2, 100, 3, generator=g) * 0.05 + c for c in (0.0, 1.0, 3.0)], 1),
        "duplicates": dup,
        "all_identical": torch.full((2, 64, 3), 0.37),
        # coordinates on a 1/4 grid: many exactly equal distances (ties) and
        # points exactly at radius 0.25 (inside test is strict)
        "lattice": (torch.randint(0, 5, (2, 150, 3), generator=g) / 4.0),
        "single_point": torch.rand(1, 1, 3, generator=g),
        "large_coords": torch.rand(2, 128, 3, generator=g) * 1000.0 + 5000.0,
    }


@pytest.fixture(scope="session")
def cases() -> dict[str, torch.Tensor]:
    return point_cases()


@pytest.fixture(scope="session")
def triton_interpreted():
    """:mod:`vg4d_core.ops.triton_gpu` when its kernels run under Triton's interpreter.

    Triton decides at import time (its own library functions such as
    ``tl.argmax`` are jit-decorated then) whether kernels are interpreted, so
    the flag cannot be switched inside a running process: these tests run in
    a child process started with ``TRITON_INTERPRET=1`` (see
    ``test_triton_kernels.py::test_kernels_under_triton_interpreter``) and
    skip in the parent.
    """
    if not triton_gpu_module.INTERPRETED:
        pytest.skip("runs in the TRITON_INTERPRET=1 child process of test_kernels_under_triton_interpreter")
    return triton_gpu_module
