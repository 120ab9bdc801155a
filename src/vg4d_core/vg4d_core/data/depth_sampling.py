"""One depth frame -> a fixed-size random subset of its points.

This is the conversion that made the NTU training cache
(:func:`vg4d_core.data.preprocess.convert_depth_frames` calls it for every
frame) and the one a live sensor must use so that a recognizer sees the
same kind of points it was trained on:

1. the valid pixels of the frame, in raster order
   (:func:`vg4d_core.data.depth.valid_flat_indices`, the rule of
   :func:`~vg4d_core.data.depth.valid_pixels`: integer 0 / float NaN, inf,
   <= 0 are invalid; optional depth range);
2. when there are more than ``max_points`` of them, a uniform random subset
   of exactly ``max_points``, drawn as ``sort(rng.choice(count, max_points,
   replace=False))`` (so the draw, hence the subset, is reproducible from the
   generator's state) and kept in raster order; otherwise all of them;
3. back-projection with :func:`vg4d_core.data.depth.backproject`, the one
   pinhole formula of the project (metres times ``scale``, float32).

The cache then stores the points quantised to int16 (:func:`quantise_points`),
so a cached point is the float32 point of this function to within half a
quantum (0.5 mm by default).
"""
from __future__ import annotations

import numpy as np

from vg4d_core.data.depth import (CameraIntrinsics, _as_numpy_depth, backproject, check_image_size, convention,
                                  valid_flat_indices)

INT16_LIMIT = 32767  # largest |coordinate| in quanta that the int16 cache holds


def sample_pixels(depth, max_points: int, rng: np.random.Generator | None, *, min_raw: float | None = None,
                  max_raw: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The valid pixels of one frame that :func:`sample_depth_frame` keeps.

    Args:
        depth: (H, W) integer or float depth image (see :mod:`vg4d_core.data.depth`).
        max_points: keep at most this many pixels (>= 1).
        rng: generator of the subset; consulted only when the frame has more
            than ``max_points`` valid pixels (may be None otherwise).
        min_raw, max_raw: optional inclusive valid range, in raw units.
    Returns:
        ``(v, u, z, count)``: rows (N,) int64, columns (N,) int64, raw depth
        (N,) in the input dtype, N = min(count, max_points), raster order;
        ``count`` = valid pixels of the frame before subsampling.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 1:
        raise ValueError(f"max_points must be a positive integer, got {max_points!r}")
    depth = _as_numpy_depth(depth)
    flat, z = valid_flat_indices(depth, min_raw=min_raw, max_raw=max_raw)
    count = int(z.shape[0])
    if count > max_points:
        if rng is None:
            raise ValueError(f"a frame with {count} valid pixels > max_points={max_points} needs an rng")
        keep = np.sort(rng.choice(count, size=int(max_points), replace=False))
        flat, z = flat[keep], z[keep]
    v, u = np.divmod(flat, depth.shape[1])
    return v, u, z, count


def sample_depth_frame(depth, intrinsics: CameraIntrinsics, rng: np.random.Generator | None, max_points: int, *,
                       depth_unit: float | None = None, scale: float = 1.0, min_depth: float | None = None,
                       max_depth: float | None = None, return_count: bool = False):
    """One depth frame (e.g. one live ``sensor_msgs/Image``) -> its sampled points.

    Args:
        depth: (H, W) numpy array or tensor: uint16 (``16UC1``, raw units, 0 =
            no data) or float32 (``32FC1``, metres; NaN / inf / <= 0 = no data).
        intrinsics: pinhole intrinsics of this image size (checked when its
            width/height are set).
        rng: generator of the random subset (see :func:`sample_pixels`).
        max_points: points kept per frame (the cache's ``points_per_frame``).
        depth_unit: metres per raw unit; default 0.001 (mm) for integer input,
            1.0 for float input.
        scale: output units per metre (1.0 = metres; the cache's convention
            gives it, :func:`vg4d_core.data.depth.convention`).
        min_depth, max_depth: optional inclusive valid range in metres.
        return_count: also return the number of valid pixels before subsampling.
    Returns:
        (N, 3) float32 points, x right / y down / z forward in metres x
        ``scale``, N = min(valid pixels, max_points), raster order; with
        ``return_count`` a tuple ``(points, count)``.
    """
    depth = _as_numpy_depth(depth)
    check_image_size(depth.shape, intrinsics)
    if depth_unit is None:
        depth_unit = 1.0 if np.issubdtype(depth.dtype, np.floating) else 1e-3
    if not depth_unit > 0:
        raise ValueError(f"depth_unit must be > 0 metres per raw unit, got {depth_unit!r}")
    lo = None if min_depth is None else min_depth / depth_unit
    hi = None if max_depth is None else max_depth / depth_unit
    v, u, z, count = sample_pixels(depth, max_points, rng, min_raw=lo, max_raw=hi)
    # float64 so that e.g. 1500 mm is exactly 1.5 m before backproject's cast to float32
    points = backproject(u, v, z.astype(np.float64) * depth_unit, intrinsics, scale)
    return (points, count) if return_count else points


def quantise_points(points: np.ndarray, quantum: float) -> np.ndarray:
    """(N, 3) float points -> (N, 3) int16 in units of ``quantum`` (rounded to nearest).

    Raises ValueError when a coordinate does not fit in int16 (|q| > 32767).
    """
    if not quantum > 0:
        raise ValueError(f"quantum must be > 0, got {quantum!r}")
    q = np.rint(np.asarray(points, dtype=np.float64) / quantum)
    if q.size and np.abs(q).max() > INT16_LIMIT:
        raise ValueError(f"coordinates beyond the int16 cache range (+-{INT16_LIMIT * quantum:g}); "
                         f"use a larger quantum")
    return q.astype(np.int16)


def sample_like_cache(depth, settings, rng: np.random.Generator | None, *,
                      intrinsics: CameraIntrinsics | None = None, min_depth: float | None = None,
                      max_depth: float | None = None, return_count: bool = False):
    """:func:`sample_depth_frame` with the settings of an NTU cache (:class:`~vg4d_core.data.cache.CacheSettings`).

    ``settings.points_per_frame`` points, in the units of ``settings.convention``
    (metres for ``kinect_v2``, PSTNet's units for ``pstnet``). ``intrinsics``
    defaults to the convention's camera (Kinect v2 / PSTNet's); a live sensor
    passes its own (from ``CameraInfo``) and keeps the convention's scale.
    Every frame of the cache was made by this call (with the default
    intrinsics) before quantisation, so it is the one a live node calls.
    """
    preset, scale = convention(settings.convention)
    return sample_depth_frame(depth, intrinsics or preset, rng, settings.points_per_frame, scale=scale,
                              min_depth=min_depth, max_depth=max_depth, return_count=return_count)
