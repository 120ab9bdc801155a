"""Furthest point sampling (FPS): the anchor points of every PSTConv layer.

pointnet2 semantics: the first sample is point 0; each next sample is the
point whose distance to the samples chosen so far is largest. Distances are
squared float32 ``dx*dx + dy*dy + dz*dz`` (left to right) in every
implementation, and ties resolve to the lowest index, so all implementations
return identical indices. Unlike pointnet2's kernel, points near the origin
are not skipped (pointnet2 ignores points with squared norm <= 1e-3).

:func:`furthest_point_sample_naive` is the readable reference that the
numba, Triton and vectorised torch versions are tested against.
"""
from __future__ import annotations

import numpy as np
import torch

from .dispatch import select_impl
from .validation import check_fps_args


def _fps_naive(xyz: torch.Tensor, m: int) -> torch.Tensor:
    pts = xyz.cpu().numpy()  # (B, N, 3) float32
    b_size, n, _ = pts.shape
    out = np.zeros((b_size, m), np.int64)
    for b in range(b_size):
        x, y, z = pts[b, :, 0], pts[b, :, 1], pts[b, :, 2]
        dist = np.full(n, np.inf, np.float32)  # squared distance to the nearest sample
        last = 0
        for i in range(1, m):
            dx = x - x[last]
            dy = y - y[last]
            dz = z - z[last]
            d = dx * dx + dy * dy + dz * dz  # float32, evaluated left to right
            dist = np.minimum(dist, d)
            last = int(np.argmax(dist))  # first maximum: lowest index on ties
            out[b, i] = last
    return torch.from_numpy(out).to(xyz.device)


def _fps_numba(xyz: torch.Tensor, m: int) -> torch.Tensor:
    from . import numba_cpu

    return torch.from_numpy(numba_cpu.furthest_point_sample(xyz.numpy(), m))


def _fps_triton(xyz: torch.Tensor, m: int) -> torch.Tensor:
    from . import triton_gpu

    return triton_gpu.furthest_point_sample(xyz, m)


def _fps_torch(xyz: torch.Tensor, m: int) -> torch.Tensor:
    from . import torch_vectorized

    return torch_vectorized.furthest_point_sample(xyz, m)


_IMPLS = {"naive": _fps_naive, "numba": _fps_numba, "triton": _fps_triton, "torch": _fps_torch}


def furthest_point_sample(xyz: torch.Tensor, m: int, *, impl: str | None = None) -> torch.Tensor:
    """Indices of ``m`` furthest-point samples of each point set.

    Args:
        xyz: (B, N, 3) coordinates, any float dtype (computed in float32),
            no NaN/inf. Batch over frames by flattening, e.g. (B*T, N, 3).
        m: number of samples, 1 <= m <= N.
        impl: force an implementation ("naive", "numba", "triton", "torch");
            default by device (see :mod:`vg4d_core.ops.dispatch`).

    Returns:
        (B, m) int64 on ``xyz``'s device; column 0 is always index 0. Not
        differentiable (indices).
    """
    xyz, m = check_fps_args(xyz, m)
    return _IMPLS[select_impl(impl, xyz.device)](xyz, m)


def furthest_point_sample_naive(xyz: torch.Tensor, m: int) -> torch.Tensor:
    """Reference loops of :func:`furthest_point_sample` (same arguments and result)."""
    return furthest_point_sample(xyz, m, impl="naive")
