"""Plain vectorised PyTorch versions of the grouping ops.

The baseline that `vg4d bench ops` compares against, and the fallback any
device can run. Same semantics and bit-identical results as
:mod:`vg4d_core.ops`: squared distances are ``dx*dx + dy*dy + dz*dz`` in
float32 evaluated left to right (``torch.cdist`` would differ in the last
bits and flip neighbours at the ball's edge), ties go to the lowest index.
Inputs are assumed validated (float32, finite); use :mod:`vg4d_core.ops`
for checked entry points.
"""
from __future__ import annotations

import numpy as np
import torch

from .validation import EMPTY_MODES

# Ball query materialises (rows, M, N) distances; process the batch in chunks
# of about this many elements to bound memory (2**25 floats = 128 MiB).
_CHUNK_ELEMENTS = 1 << 25


def _sqdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (..., 3), b (..., 3) broadcastable -> (...) squared distance, float32 left to right."""
    dx = a[..., 0] - b[..., 0]
    dy = a[..., 1] - b[..., 1]
    dz = a[..., 2] - b[..., 2]
    return dx * dx + dy * dy + dz * dz


def furthest_point_sample(xyz: torch.Tensor, m: int) -> torch.Tensor:
    """xyz (B, N, 3) float32 -> idx (B, m) int64; starts at index 0 like pointnet2.

    Ties in the max distance resolve to the lowest index (``argmax``).
    """
    b, n, _ = xyz.shape
    idx = torch.zeros(b, m, dtype=torch.long, device=xyz.device)
    dist = torch.full((b, n), float("inf"), dtype=xyz.dtype, device=xyz.device)
    last = torch.zeros(b, dtype=torch.long, device=xyz.device)
    batch = torch.arange(b, device=xyz.device)
    for i in range(1, m):
        d = _sqdist(xyz, xyz[batch, last].unsqueeze(1))  # (B, N)
        dist = torch.minimum(dist, d)
        last = dist.argmax(dim=1)
        idx[:, i] = last
    return idx


def ball_query_r2(xyz: torch.Tensor, centers: torch.Tensor, r2: float, k: int,
                  empty: str = "nearest") -> torch.Tensor:
    """:func:`ball_query` with the squared radius given as a float32-exact value.

    xyz (B, N, 3), centers (B, M, 3) float32 -> (B, M, k) int64. Hits are
    ``d < r2``; see :func:`vg4d_core.ops.ball_query` for the semantics.
    """
    if empty not in EMPTY_MODES:
        raise ValueError(f"empty must be 'nearest' or 'zero', got {empty!r}")
    b, n, _ = xyz.shape
    m = centers.shape[1]
    out = torch.empty(b, m, k, dtype=torch.long, device=xyz.device)
    r2_t = torch.tensor(r2, dtype=torch.float32, device=xyz.device)
    ar = torch.arange(n, device=xyz.device)
    step = max(1, _CHUNK_ELEMENTS // max(1, m * n))
    kk = min(k, n)
    for s in range(0, b, step):
        d2 = _sqdist(centers[s:s + step, :, None, :], xyz[s:s + step, None, :, :])  # (b', M, N)
        # rank hits by index: non-hits get N so they sort last
        order = torch.where(d2 < r2_t, ar, n)
        first = order.topk(kk, dim=-1, largest=False, sorted=True).values  # (b', M, kk)
        if kk < k:
            first = torch.cat([first, first.new_full((*first.shape[:-1], k - kk), n)], -1)
        hit0 = first[..., :1]
        if empty == "nearest":
            fallback = d2.argmin(dim=-1, keepdim=True)
        else:
            fallback = torch.zeros_like(hit0)
        hit0 = torch.where(hit0 == n, fallback, hit0)
        out[s:s + step] = torch.where(first == n, hit0, first)
    return out


def ball_query(xyz: torch.Tensor, centers: torch.Tensor, radius: float, k: int,
               empty: str = "nearest") -> torch.Tensor:
    """First ``k`` points of ``xyz`` (B, N, 3) strictly within ``radius`` of each
    centre (B, M, 3), in index order -> idx (B, M, k) int64; slots past the last
    hit repeat the first hit. With no hit: ``empty="nearest"`` fills the row with
    the nearest point, ``empty="zero"`` with index 0 (pointnet2).
    """
    r = np.float32(radius)
    return ball_query_r2(xyz, centers, float(np.float32(r * r)), k, empty)


def group_points(features: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """features (B, C, N), idx (B, M, k) -> (B, C, M, k); differentiable in features."""
    b, c, _ = features.shape
    _, m, k = idx.shape
    flat = idx.reshape(b, 1, m * k).expand(b, c, m * k)
    return features.gather(2, flat).reshape(b, c, m, k)
