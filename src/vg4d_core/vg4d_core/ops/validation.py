"""Input checks shared by every implementation of the grouping ops.

All implementations (naive, numba, Triton, vectorised torch) receive inputs
that went through these functions, so they may assume: float32 contiguous
coordinates with no NaN or infinity, int64 indices in range, sizes that make
sense. Errors name the offending argument and value.
"""
from __future__ import annotations

import math

import numpy as np
import torch

EMPTY_MODES = ("nearest", "zero")


def _check_tensor(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def _check_int(name: str, value: object) -> int:
    # bool is an int subclass but never a meaningful size here
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    return int(value)


def check_points(name: str, xyz: object) -> torch.Tensor:
    """Validate coordinates (B, N, 3) of any float dtype -> contiguous float32.

    All arithmetic of the ops happens in float32 so that every implementation
    produces bit-identical distances; float64 input is rounded once here.
    """
    xyz = _check_tensor(name, xyz)
    if xyz.dim() != 3 or xyz.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (B, N, 3), got {tuple(xyz.shape)}")
    if not xyz.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {xyz.dtype}")
    xyz = xyz.detach().to(torch.float32).contiguous()
    if xyz.numel() and not bool(torch.isfinite(xyz).all()):
        bad = (~torch.isfinite(xyz)).nonzero()[0].tolist()
        raise ValueError(f"{name} contains NaN or infinite coordinates (first at index {tuple(bad)}); "
                         "drop invalid points before sampling/grouping")
    return xyz


def check_fps_args(xyz: object, m: object) -> tuple[torch.Tensor, int]:
    """Validate ``furthest_point_sample(xyz (B, N, 3), m)``; returns (float32 xyz, m)."""
    xyz = check_points("xyz", xyz)
    m = _check_int("m", m)
    n = xyz.shape[1]
    if n < 1:
        raise ValueError(f"xyz must hold at least one point per batch element, got N={n}")
    if m < 1:
        raise ValueError(f"m must be >= 1, got m={m}")
    if m > n:
        raise ValueError(f"m={m} is larger than the number of points N={n}; "
                         "furthest point sampling picks distinct points")
    return xyz, m


def squared_radius(radius: object) -> float:
    """float32(radius) * float32(radius) rounded to float32, as pointnet2 computes it.

    Every implementation compares float32 squared distances to this one value.
    """
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.integer, np.floating)):
        raise TypeError(f"radius must be a real number, got {type(radius).__name__} ({radius!r})")
    r = float(radius)
    if not math.isfinite(r) or r < 0:
        raise ValueError(f"radius must be finite and >= 0, got {radius!r}")
    r32 = np.float32(r)
    return float(np.float32(r32 * r32))


def check_ball_query_args(xyz: object, centers: object, radius: object, k: object,
                          empty: object) -> tuple[torch.Tensor, torch.Tensor, float, int, str]:
    """Validate ``ball_query``; returns (xyz f32, centers f32, radius**2 in f32, k, empty)."""
    xyz = check_points("xyz", xyz)
    centers = check_points("centers", centers)
    if centers.shape[0] != xyz.shape[0]:
        raise ValueError(f"centers has batch size {centers.shape[0]} but xyz has {xyz.shape[0]}")
    if centers.device != xyz.device:
        raise ValueError(f"centers is on {centers.device} but xyz is on {xyz.device}")
    if xyz.shape[1] < 1:
        raise ValueError(f"xyz must hold at least one point per batch element, got N={xyz.shape[1]}")
    k = _check_int("k", k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got k={k}")
    if empty not in EMPTY_MODES:
        raise ValueError(f"empty must be one of {EMPTY_MODES}, got {empty!r}")
    return xyz, centers, squared_radius(radius), k, empty


def check_group_args(features: object, idx: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``group_points(features (B, C, N), idx (B, M, k))``.

    Returns contiguous features (dtype kept, autograd graph kept) and
    contiguous int64 indices checked to lie in [0, N).
    """
    features = _check_tensor("features", features)
    idx = _check_tensor("idx", idx)
    if features.dim() != 3:
        raise ValueError(f"features must have shape (B, C, N), got {tuple(features.shape)}")
    if not features.is_floating_point():
        raise TypeError(f"features must be a floating-point tensor, got dtype {features.dtype}")
    if idx.dim() != 3:
        raise ValueError(f"idx must have shape (B, M, k), got {tuple(idx.shape)}")
    if idx.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"idx must be int64 or int32, got dtype {idx.dtype}")
    if idx.shape[0] != features.shape[0]:
        raise ValueError(f"idx has batch size {idx.shape[0]} but features has {features.shape[0]}")
    if idx.device != features.device:
        raise ValueError(f"idx is on {idx.device} but features is on {features.device}")
    n = features.shape[2]
    if idx.numel():
        lo, hi = torch.stack(torch.aminmax(idx)).tolist()  # one device sync, not two
        if lo < 0 or hi >= n:
            raise ValueError(f"idx values must lie in [0, N={n}), got min {lo}, max {hi}")
    return features.contiguous(), idx.to(torch.int64).contiguous()
