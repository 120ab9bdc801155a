"""Grouping: gather each neighbour's feature vector, differentiably.

One gather serves every device and the model: :func:`gather_rows` picks rows
of a channels-last table (``table.index_select``; its backward is torch's
``index_add``, which sums the gradients of a point grouped by several
anchors). im-PSTNet runs it on CPU and GPU alike (channels-last rows are
contiguous, so the gather is bandwidth-bound and needs no kernel of its own,
and it stays visible to ``torch.compile``). :func:`group_points` is the same
gather in pointnet2's layout, ``out[b, c, i, s] = features[b, c, idx[b, i, s]]``.

An earlier numba and Triton grouping pair measured within 15 % of this gather
on CPU and brought no speed-up: it was removed so that the benchmark times the
code the model runs.

:func:`group_points_naive` is the readable reference (Python loop over the
batch, plain indexing) that both are tested against.
"""
from __future__ import annotations

import torch

from .dispatch import select_impl
from .validation import check_group_args


def gather_rows(table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Rows of a channels-last table.

    Args:
        table: (R, C) float tensor (any dtype, kept); may require grad.
        rows: (...) int64 indices into R.
    Returns:
        (..., C): ``table[rows]``, differentiable with respect to ``table``.
    """
    return table.index_select(0, rows.reshape(-1)).reshape(*rows.shape, table.shape[1])


def _group_naive(features: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    b_size, c = features.shape[:2]
    if b_size == 0:
        return features.new_empty(0, c, *idx.shape[1:])
    # one batch element at a time: features[b][:, idx[b]] is (C, M, k)
    return torch.stack([features[b][:, idx[b]] for b in range(b_size)])


def _group_gather(features: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    b, c, n = features.shape
    table = features.transpose(1, 2).reshape(b * n, c)  # (B*N, C) channels-last
    rows = idx.long() + (torch.arange(b, device=idx.device) * n)[:, None, None]  # (B, M, k)
    return gather_rows(table, rows).permute(0, 3, 1, 2)  # (B, C, M, k)


def group_points(features: torch.Tensor, idx: torch.Tensor, *, impl: str | None = None) -> torch.Tensor:
    """Gather neighbour features (pointnet2 layout).

    Args:
        features: (B, C, N) float tensor (any float dtype, kept); may require grad.
        idx: (B, M, k) int64 or int32 indices into N, e.g. from :func:`ball_query`.
        impl: "naive" forces the reference; every other implementation name
            runs the one gather (:func:`gather_rows`), on any device.

    Returns:
        (B, C, M, k) tensor of ``features``' dtype and device, differentiable
        with respect to ``features`` (twice, too: it is plain autograd).
    """
    features, idx = check_group_args(features, idx)
    if select_impl(impl, features.device) == "naive":
        return _group_naive(features, idx)
    return _group_gather(features, idx)


def group_points_naive(features: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Reference indexing of :func:`group_points` (same arguments and result)."""
    return group_points(features, idx, impl="naive")
