"""Point grouping ops used by PSTConv / im-PSTConv, on any device, nothing to compile.

Public API (shapes in the function docstrings):

* :func:`furthest_point_sample` (xyz (B, N, 3), m) -> (B, m) int64
* :func:`ball_query` (xyz (B, N, 3), centers (B, M, 3), radius, k, empty="nearest") -> (B, M, k) int64
* :func:`group_points` (features (B, C, N), idx (B, M, k)) -> (B, C, M, k), differentiable,
  and the same gather channels-last, :func:`gather_rows` (table (R, C), rows (...)) -> (..., C)

FPS and ball query have four implementations with one signature and
bit-identical results: a naive reference (``*_naive``), numba on CPU, Triton
on CUDA, and plain vectorised torch (benchmark baseline, any device).
Grouping is one torch gather on every device (see :mod:`.grouping`) beside its
naive reference. The device picks one;
``impl=`` or :func:`use_impl` forces one. Clips are handled as flattened
batches of frames, e.g. xyz of shape (B*T, N, 3).
"""
from .dispatch import IMPLEMENTATIONS, default_impl, use_impl
from .grouping import gather_rows, group_points, group_points_naive
from .neighbours import ball_query, ball_query_naive
from .sampling import furthest_point_sample, furthest_point_sample_naive

__all__ = [
    "IMPLEMENTATIONS",
    "ball_query",
    "ball_query_naive",
    "default_impl",
    "furthest_point_sample",
    "furthest_point_sample_naive",
    "gather_rows",
    "group_points",
    "group_points_naive",
    "use_impl",
]
