"""Which implementation of a grouping op runs: chosen by device, forcible by name.

Implementations, one signature each:

* ``"naive"``  - readable loops (numpy, float32); the reference the others are tested against.
* ``"numba"``  - compiled CPU kernels, parallel over the batch; default on CPU.
* ``"triton"`` - GPU kernels; default on CUDA. Runs CPU tensors only when Triton's
  interpreter was on (``TRITON_INTERPRET=1``) as the kernels were defined.
* ``"torch"``  - plain vectorised PyTorch; any device (the benchmark baseline).

Force one with the ``impl=`` keyword of an op, or for a whole block::

    with use_impl("naive"):
        idx = furthest_point_sample(xyz, 512)
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

import torch

IMPLEMENTATIONS = ("naive", "numba", "triton", "torch")

_forced: contextvars.ContextVar[str | None] = contextvars.ContextVar("vg4d_ops_impl", default=None)


def _check_name(name: object) -> str:
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"impl must be one of {IMPLEMENTATIONS}, got {name!r}")
    return name  # type: ignore[return-value]


@contextlib.contextmanager
def use_impl(name: str | None) -> Iterator[None]:
    """Run every grouping op inside the block with implementation ``name``
    (``None`` restores the choice by device). An explicit ``impl=`` wins."""
    if name is not None:
        _check_name(name)
    token = _forced.set(name)
    try:
        yield
    finally:
        _forced.reset(token)


def default_impl(device: torch.device) -> str:
    """numba on CPU, Triton on CUDA, vectorised torch anywhere else."""
    if device.type == "cpu":
        return "numba"
    if device.type == "cuda":
        return "triton"
    return "torch"


def select_impl(impl: str | None, device: torch.device) -> str:
    """Resolve ``impl`` (explicit > :func:`use_impl` > device default) and check
    that it can run tensors on ``device``."""
    name = _check_name(impl) if impl is not None else (_forced.get() or default_impl(device))
    if name == "numba" and device.type != "cpu":
        raise ValueError(f"impl='numba' runs on CPU tensors only, got tensors on {device}")
    if name == "triton" and device.type != "cuda":
        from . import triton_gpu

        if not (device.type == "cpu" and triton_gpu.INTERPRETED):
            raise ValueError(f"impl='triton' needs CUDA tensors (or TRITON_INTERPRET=1 set before "
                             f"vg4d_core.ops is imported, for CPU tensors), got tensors on {device}")
    return name
