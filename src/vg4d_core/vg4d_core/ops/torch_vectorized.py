"""Plain vectorised PyTorch versions of the grouping ops.

The baseline that `vg4d bench ops` compares against, and the fallback any
device can run. Same signatures and semantics as :mod:`vg4d_core.ops`.
"""
from __future__ import annotations

import torch


def furthest_point_sample(xyz: torch.Tensor, m: int) -> torch.Tensor:
    """xyz (B, N, 3) float -> idx (B, m) int64; starts at index 0 like pointnet2.

    Ties in the max distance resolve to the lowest index (``argmax``).
    """
    b, n, _ = xyz.shape
    idx = torch.zeros(b, m, dtype=torch.long, device=xyz.device)
    dist = torch.full((b, n), float("inf"), dtype=xyz.dtype, device=xyz.device)
    last = torch.zeros(b, dtype=torch.long, device=xyz.device)
    batch = torch.arange(b, device=xyz.device)
    for i in range(1, m):
        d = ((xyz - xyz[batch, last].unsqueeze(1)) ** 2).sum(-1)  # (B, N)
        dist = torch.minimum(dist, d)
        last = dist.argmax(dim=1)
        idx[:, i] = last
    return idx


def ball_query(xyz: torch.Tensor, centers: torch.Tensor, radius: float, k: int,
               empty: str = "nearest") -> torch.Tensor:
    """First ``k`` points of ``xyz`` (B, N, 3) within ``radius`` of each centre
    (B, M, 3), in index order -> idx (B, M, k) int64; slots past the last hit
    repeat the first hit. With no hit: ``empty="nearest"`` fills the row with
    the nearest point, ``empty="zero"`` with index 0 (pointnet2).
    """
    n = xyz.shape[1]
    d2 = torch.cdist(centers, xyz).square()  # (B, M, N)
    within = d2 <= radius * radius
    # rank hits by index: non-hits get N so they sort last
    order = torch.where(within, torch.arange(n, device=xyz.device), n)
    first = order.sort(dim=-1).values[..., :k]  # (B, M, k')
    if first.shape[-1] < k:
        first = torch.cat([first, first.new_full((*first.shape[:-1], k - first.shape[-1]), n)], -1)
    hit0 = first[..., :1]
    if empty == "nearest":
        fallback = d2.argmin(dim=-1, keepdim=True)
    elif empty == "zero":
        fallback = torch.zeros_like(hit0)
    else:
        raise ValueError(f"empty must be 'nearest' or 'zero', got {empty!r}")
    hit0 = torch.where(hit0 == n, fallback, hit0)
    return torch.where(first == n, hit0, first)


def group_points(features: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """features (B, C, N), idx (B, M, k) -> (B, C, M, k); differentiable in features."""
    b, c, _ = features.shape
    _, m, k = idx.shape
    flat = idx.reshape(b, 1, m * k).expand(b, c, m * k)
    return features.gather(2, flat).reshape(b, c, m, k)
