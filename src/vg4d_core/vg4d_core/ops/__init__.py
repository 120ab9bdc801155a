"""Point grouping ops used by PSTConv / im-PSTConv.

Public API (shapes in the function docstrings):

* :func:`furthest_point_sample` (xyz (B, N, 3), m) -> (B, m) int64
* :func:`ball_query` (xyz (B, N, 3), centers (B, M, 3), radius, k) -> (B, M, k) int64
* :func:`group_points` (features (B, C, N), idx (B, M, k)) -> (B, C, M, k)

Provisional: dispatches to the vectorised PyTorch implementation until the
numba (CPU) and Triton (GPU) kernels land.
"""
from .torch_vectorized import ball_query, furthest_point_sample, group_points

__all__ = ["ball_query", "furthest_point_sample", "group_points"]
