"""Foreground selection: keep the person, drop the room.

NTU RGB+D's depth is masked to the person, so the model was trained on
person-only point clouds; a robot's camera sees the whole room. This module
keeps the points that can be the actor before they enter a window:

1. a depth range (``z`` in the sensor's optical frame, metres);
2. optional dominant floor-plane removal (:func:`fit_floor_plane`): per
   frame, RANSAC over near-horizontal planes of the points left by the depth
   range; points within ``floor_distance_m`` of the accepted plane or below
   it are dropped;
3. an optional crop box (x, y, z min / max in the sensor frame, metres);
4. an optional per-frame mask aligned to the depth image (nonzero = person),
   e.g. from a person segmenter; it needs each point's pixel.

Defaults: depth range 0.5 - 4.5 m (the Kinect v2's rated range, which NTU
was recorded with; a wall or furniture farther away is dropped), no floor
removal, no crop box, no mask. All are ANDed.

Order: the floor is fitted after the depth range (so the fit does not spend
its subsample on a far wall or invalid far returns) and before the crop box
(a tight crop box would cut the floor down to a strip under the person's
feet, too few points to tell it from the person reliably; the fit wants as
much floor as the sensor sees). The mask is last: it needs no geometry.

Floor assumption: the camera is roughly upright, so the floor's normal is
near the sensor's "up" (``floor_up``; ``-y`` in the optical frame, whose y
points down). A camera tilted by up to ``floor_max_tilt_deg`` about any
horizontal axis still finds the floor; a wall facing the camera (normal
along z) never qualifies. The dominant such plane is the one with the most
points within ``floor_distance_m``: in a robot's view that is the floor, but
a large table top seen from above could win instead (everything below it
would then go too). Walls are not removed: a wall farther than
``max_depth`` goes with the depth range, a side wall with the crop box; a
wall just behind the person stays (no fixed setting separates the two).
Cost: ~4-5 ms per 512 x 424 frame (~100k points in range) on one CPU core.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vg4d_ros.pipeline.decode import MessageError

# RANSAC scores floor_iterations candidate planes against floor_sample points per frame (an S x K matrix):
# ~5x the defaults each bounds that to ~10 M distances, so no setting can stall the frame callback
MAX_FLOOR_ITERATIONS = 1000
MAX_FLOOR_SAMPLE = 10000


@dataclass
class ForegroundConfig:
    """What counts as foreground (all bounds inclusive, metres, sensor frame).

    Attributes:
        min_depth, max_depth: range of ``z``; ``None`` disables a bound.
        crop_min, crop_max: ``[x, y, z]`` corners of an axis-aligned box in
            the sensor frame (optical: x right, y down, z forward); ``None``
            = no box. Both or neither.
        use_mask: require a mask per frame (a frame without one is an error).
        remove_floor: fit and drop the dominant floor plane per frame
            (see the module docstring); off by default because NTU-style
            masked input has no floor and a fit costs a few ms per frame.
        floor_distance_m: points within this distance of the floor plane
            (metres) are floor (RANSAC inlier band and removal band); also
            everything below the plane goes. 0.04 m covers depth noise of a
            few mm and a floor that is not perfectly flat, at the cost of
            the lowest ~4 cm of the feet.
        floor_max_tilt_deg: only planes whose normal is within this angle of
            ``floor_up`` are candidates (camera pitch / roll allowance).
        floor_min_inliers: accept the best plane only if at least this
            fraction of the points (after the depth range) lie on it; below
            that the frame is left as it is (no floor in view).
        floor_iterations: RANSAC candidate planes per frame (all scored at
            once against the subsample).
        floor_sample: points in the random subsample the candidates are
            scored on (all points are classified against the final plane).
        floor_up: ``[x, y, z]`` direction of "up" in the sensor frame
            (any length > 0); ``(0, -1, 0)`` for an upright optical frame.
    """

    min_depth: float | None = 0.5
    max_depth: float | None = 4.5
    crop_min: tuple[float, float, float] | None = None
    crop_max: tuple[float, float, float] | None = None
    use_mask: bool = False
    remove_floor: bool = False
    floor_distance_m: float = 0.04
    floor_max_tilt_deg: float = 30.0
    floor_min_inliers: float = 0.1
    floor_iterations: int = 200
    floor_sample: int = 2000
    floor_up: tuple[float, float, float] = (0.0, -1.0, 0.0)

    def __post_init__(self) -> None:
        if not self.floor_distance_m > 0:
            raise ValueError(f"ForegroundConfig.floor_distance_m must be > 0 metres, got {self.floor_distance_m!r}")
        if not 0 <= self.floor_max_tilt_deg < 90:
            raise ValueError(f"ForegroundConfig.floor_max_tilt_deg must be in [0, 90) degrees, "
                             f"got {self.floor_max_tilt_deg!r}")
        if not 0 < self.floor_min_inliers <= 1:
            raise ValueError(f"ForegroundConfig.floor_min_inliers must be a fraction in (0, 1], "
                             f"got {self.floor_min_inliers!r}")
        if not 1 <= self.floor_iterations <= MAX_FLOOR_ITERATIONS:
            raise ValueError(f"ForegroundConfig.floor_iterations must be >= 1 and <= {MAX_FLOOR_ITERATIONS}, "
                             f"got {self.floor_iterations!r}")
        if not 3 <= self.floor_sample <= MAX_FLOOR_SAMPLE:
            raise ValueError(f"ForegroundConfig.floor_sample must be >= 3 and <= {MAX_FLOOR_SAMPLE} points, "
                             f"got {self.floor_sample!r}")
        up = np.asarray(self.floor_up, dtype=np.float64)
        if up.shape != (3,) or not np.all(np.isfinite(up)) or not np.linalg.norm(up) > 0:
            raise ValueError(f"ForegroundConfig.floor_up must be a nonzero [x, y, z], got {self.floor_up!r}")
        if (self.crop_min is None) != (self.crop_max is None):
            raise ValueError("ForegroundConfig: give both crop_min and crop_max, or neither")
        if self.crop_min is not None:
            lo = np.asarray(self.crop_min, dtype=np.float64)
            hi = np.asarray(self.crop_max, dtype=np.float64)
            if lo.shape != (3,) or hi.shape != (3,):
                raise ValueError(f"ForegroundConfig.crop_min / crop_max must be [x, y, z], got "
                                 f"{self.crop_min!r} / {self.crop_max!r}")
            if np.any(lo > hi):
                raise ValueError(f"ForegroundConfig.crop_min {self.crop_min!r} exceeds crop_max {self.crop_max!r}")
        if self.min_depth is not None and self.max_depth is not None and self.min_depth > self.max_depth:
            raise ValueError(f"ForegroundConfig.min_depth {self.min_depth} > max_depth {self.max_depth}")


@dataclass(frozen=True)
class FloorPlane:
    """A floor plane ``normal . p + offset = 0`` (sensor frame, metres).

    ``normal`` (3,) float64 is unit length and points up (towards ``floor_up``),
    so ``normal . p + offset`` is a point's height above the floor.
    ``inlier_fraction``: share of the fitted points within the band.
    """

    normal: np.ndarray
    offset: float
    inlier_fraction: float

    def height(self, points: np.ndarray) -> np.ndarray:
        """(P,) signed height above the plane (metres) of (P, 3) points; negative = below."""
        return np.asarray(points) @ self.normal.astype(np.float32) + np.float32(self.offset)


def _up_normal(normals: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(K, 3) normals flipped so each has a non-negative component along ``up``."""
    return normals * np.where(normals @ up < 0, -1.0, 1.0)[:, None]


def fit_floor_plane(points: np.ndarray, config: ForegroundConfig) -> FloorPlane | None:
    """The dominant near-horizontal plane of (P, 3) sensor-frame points (metres), or None.

    RANSAC, deterministic: the generator is seeded with P, so the same frame
    always gives the same plane. ``floor_iterations`` triplets are drawn from
    a subsample of ``floor_sample`` points; each triplet's plane is kept as a
    candidate only if its normal is within ``floor_max_tilt_deg`` of
    ``floor_up``; all candidates are scored against the subsample with one
    (S, 3) x (3, K) product. The best one is accepted if its inlier fraction
    (within ``floor_distance_m``) is at least ``floor_min_inliers``; it is then
    refitted once by total least squares (smallest principal axis) on its
    inliers among the P points (at most ~10 x ``floor_sample`` of them, a regular
    stride). If the refitted normal is beyond the tilt limit, the inliers were a
    band of a steeper surface, and there is no floor (None).
    Non-finite points are ignored.
    """
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be (P, 3), got shape {points.shape}")
    finite = np.isfinite(points.sum(axis=1))  # a NaN / inf coordinate makes the row sum non-finite
    pts = points if finite.all() else points[finite]  # no copy in the usual all-finite case
    n = pts.shape[0]
    if n < 3:
        return None
    up = np.asarray(config.floor_up, dtype=np.float64)
    up = up / np.linalg.norm(up)
    cos_tilt = np.cos(np.deg2rad(config.floor_max_tilt_deg))
    rng = np.random.default_rng(n)
    sub = pts[rng.choice(n, size=config.floor_sample, replace=False)] if n > config.floor_sample else pts
    sub = sub.astype(np.float64)
    tri = rng.integers(0, sub.shape[0], size=(config.floor_iterations, 3))
    a, b, c = sub[tri[:, 0]], sub[tri[:, 1]], sub[tri[:, 2]]
    normals = np.cross(b - a, c - a)  # (K, 3)
    length = np.linalg.norm(normals, axis=1)
    ok = length > 1e-9  # repeated or collinear points give no plane
    normals = _up_normal(normals[ok] / length[ok, None], up)
    a = a[ok]
    level = normals @ up >= cos_tilt
    normals, a = normals[level], a[level]
    if normals.shape[0] == 0:
        return None
    offsets = -np.einsum("kj,kj->k", normals, a)  # (K,)
    counts = np.count_nonzero(np.abs(sub @ normals.T + offsets) <= config.floor_distance_m, axis=0)
    best = int(np.argmax(counts))  # first of equals: deterministic
    if counts[best] < config.floor_min_inliers * sub.shape[0]:
        return None
    normal, offset = normals[best], float(offsets[best])
    inliers = pts[np.abs(pts @ normal.astype(np.float32) + np.float32(offset)) <= config.floor_distance_m]
    # the refit needs no more points than a few subsamples' worth: a regular stride keeps it cheap
    # and deterministic (thousands of points already pin the normal to ~1e-4 rad)
    inliers = inliers[::max(1, inliers.shape[0] // (10 * config.floor_sample))]
    if inliers.shape[0] >= 3:
        centre = inliers.mean(axis=0, dtype=np.float64)
        q = inliers.astype(np.float64) - centre
        _, vecs = np.linalg.eigh(q.T @ q)  # ascending eigenvalues: column 0 is the plane normal
        refit = _up_normal(vecs[:, :1].T, up)[0]
        if refit @ up < cos_tilt:
            # the inliers are a band cut out of a steeper surface (a ramp just past the limit, where a
            # plane at the limit crosses it at a shallow angle), not a floor
            return None
        normal, offset = refit, float(-refit @ centre)
    fraction = float(np.count_nonzero(np.abs(pts @ normal.astype(np.float32) + np.float32(offset))
                                      <= config.floor_distance_m)) / n
    return FloorPlane(normal=normal, offset=offset, inlier_fraction=fraction)


def above_floor(points: np.ndarray, config: ForegroundConfig) -> np.ndarray:
    """(P,) bool: False for floor points (within ``floor_distance_m`` of :func:`fit_floor_plane`'s
    plane) and for points below it; all True when no floor is accepted. NaN points are dropped
    when a floor is found."""
    plane = fit_floor_plane(points, config)
    if plane is None:
        return np.ones(np.asarray(points).shape[0], dtype=bool)
    return plane.height(points) > config.floor_distance_m


def as_mask(mask: Any) -> np.ndarray:
    """A mask as (H, W) bool from a numpy array (bool or integer, nonzero = person). A mask Image is
    decoded by the frame converter (:mod:`vg4d_ros.pipeline.convert`), not here."""
    if not isinstance(mask, np.ndarray):
        raise ValueError(f"mask must be a numpy (H, W) array, got {type(mask).__name__} (decode an Image with "
                         "vg4d_ros.pipeline.decode.mask_image_to_array)")
    if mask.ndim != 2:
        raise ValueError(f"mask must be a 2-D (H, W) array, got shape {mask.shape}")
    return mask.astype(bool, copy=False)


def foreground_keep(points: np.ndarray, config: ForegroundConfig, *, pixels: np.ndarray | None = None,
                    mask: Any = None) -> np.ndarray:
    """Which points are foreground: (P,) bool.

    Args:
        points: (P, 3) float32 sensor-frame points (metres).
        pixels: (P, 2) int ``(u, v)`` pixel of each point; needed with a mask.
        mask: (H, W) array aligned with the depth image the points came from
            (nonzero = person); required when ``config.use_mask``.
    """
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be (P, 3), got shape {points.shape}")
    keep = np.ones(points.shape[0], dtype=bool)
    z = points[:, 2]
    if config.min_depth is not None:
        keep &= z >= config.min_depth
    if config.max_depth is not None:
        keep &= z <= config.max_depth
    if config.remove_floor and keep.any():
        idx = np.flatnonzero(keep)
        keep[idx] = above_floor(points[idx], config)
    if config.crop_min is not None:
        lo = np.asarray(config.crop_min, dtype=np.float32)
        hi = np.asarray(config.crop_max, dtype=np.float32)
        keep &= np.all((points >= lo) & (points <= hi), axis=1)
    if mask is None:
        if config.use_mask:
            raise ValueError("ForegroundConfig.use_mask is set but no mask was given for this frame")
        return keep
    if pixels is None:
        raise ValueError("a mask needs the (u, v) pixel of each point (depth_image_to_points(return_pixels=True))")
    m = as_mask(mask)
    pixels = np.asarray(pixels)
    if pixels.shape != (points.shape[0], 2):
        raise ValueError(f"pixels must be (P, 2) = ({points.shape[0]}, 2), got {pixels.shape}")
    if pixels.size and (pixels.min() < 0 or pixels[:, 0].max() >= m.shape[1] or pixels[:, 1].max() >= m.shape[0]):
        raise MessageError(f"mask of {m.shape[1]}x{m.shape[0]} does not cover the depth image's pixels")
    keep &= m[pixels[:, 1], pixels[:, 0]]
    return keep


def select_foreground(points: np.ndarray, config: ForegroundConfig, *, pixels: np.ndarray | None = None,
                      mask: Any = None) -> np.ndarray:
    """The foreground points: (P', 3), order kept (see :func:`foreground_keep`)."""
    return np.asarray(points)[foreground_keep(points, config, pixels=pixels, mask=mask)]
