"""Ball query: the k neighbours of each anchor that PSTConv groups.

pointnet2 semantics: for each centre, the FIRST ``k`` points (in index order,
not the nearest) whose squared float32 distance ``dx*dx + dy*dy + dz*dz`` is
strictly below ``float32(radius)**2``; slots after the last hit repeat the
first hit.

Rows with no point inside the ball: pointnet2 silently returns index 0, an
arbitrary point (which happens often when anchors of frame t query frame
t +- 1). Here the default ``empty="nearest"`` fills such a row with the
nearest point (lowest index on ties), so the grouped displacement is the true
closest one; ``empty="zero"`` reproduces pointnet2 exactly.

Radius 0 therefore finds nothing (d < 0 never holds) and every row takes the
``empty`` rule: with "nearest" that is the closest point, the centre itself
when it belongs to ``xyz``.

:func:`ball_query_naive` is the readable reference that the numba, Triton and
vectorised torch versions are tested against.
"""
from __future__ import annotations

import numpy as np
import torch

from .dispatch import select_impl
from .validation import check_ball_query_args


def _ball_query_naive(xyz: torch.Tensor, centers: torch.Tensor, r2: float, k: int,
                      empty: str) -> torch.Tensor:
    pts = xyz.cpu().numpy()  # (B, N, 3) float32
    ctr = centers.cpu().numpy()  # (B, M, 3) float32
    r2_32 = np.float32(r2)
    b_size, m = ctr.shape[:2]
    out = np.zeros((b_size, m, k), np.int64)
    for b in range(b_size):
        x, y, z = pts[b, :, 0], pts[b, :, 1], pts[b, :, 2]
        for i in range(m):
            dx = x - ctr[b, i, 0]
            dy = y - ctr[b, i, 1]
            dz = z - ctr[b, i, 2]
            d = dx * dx + dy * dy + dz * dz  # float32, evaluated left to right
            hits = np.flatnonzero(d < r2_32)[:k]  # first k in index order
            if hits.size:
                out[b, i, :] = hits[0]
                out[b, i, : hits.size] = hits
            elif empty == "nearest":
                out[b, i, :] = int(np.argmin(d))  # first minimum: lowest index on ties
            else:
                out[b, i, :] = 0
    return torch.from_numpy(out).to(xyz.device)


def _ball_query_numba(xyz, centers, r2, k, empty):
    from . import numba_cpu

    return torch.from_numpy(numba_cpu.ball_query(xyz.numpy(), centers.numpy(), r2, k, empty == "nearest"))


def _ball_query_triton(xyz, centers, r2, k, empty):
    from . import triton_gpu

    return triton_gpu.ball_query(xyz, centers, r2, k, empty == "nearest")


def _ball_query_torch(xyz, centers, r2, k, empty):
    from . import torch_vectorized

    return torch_vectorized.ball_query_r2(xyz, centers, r2, k, empty)


_IMPLS = {"naive": _ball_query_naive, "numba": _ball_query_numba, "triton": _ball_query_triton,
          "torch": _ball_query_torch}


def ball_query(xyz: torch.Tensor, centers: torch.Tensor, radius: float, k: int,
               empty: str = "nearest", *, impl: str | None = None) -> torch.Tensor:
    """Indices of the first ``k`` points of ``xyz`` within ``radius`` of each centre.

    Args:
        xyz: (B, N, 3) points, any float dtype (computed in float32), no NaN/inf.
        centers: (B, M, 3) query centres on the same device (need not be points of ``xyz``).
        radius: ball radius in the units of ``xyz``, finite, >= 0.
        k: neighbours per centre, >= 1 (may exceed the number of points).
        empty: what fills a row with no point inside the ball: "nearest"
            (default: the nearest point) or "zero" (index 0, pointnet2).
        impl: force an implementation ("naive", "numba", "triton", "torch");
            default by device (see :mod:`vg4d_core.ops.dispatch`).

    Returns:
        (B, M, k) int64 on ``xyz``'s device. Not differentiable (indices).
    """
    xyz, centers, r2, k, empty = check_ball_query_args(xyz, centers, radius, k, empty)
    return _IMPLS[select_impl(impl, xyz.device)](xyz, centers, r2, k, empty)


def ball_query_naive(xyz: torch.Tensor, centers: torch.Tensor, radius: float, k: int,
                     empty: str = "nearest") -> torch.Tensor:
    """Reference loops of :func:`ball_query` (same arguments and result)."""
    return ball_query(xyz, centers, radius, k, empty, impl="naive")
