"""Foreground selection: keep the person, drop the room.

NTU RGB+D's depth is masked to the person, so the model was trained on
person-only point clouds; a robot's camera sees the whole room. This module
keeps the points that can be the actor before they enter a window:

1. a depth range (``z`` in the sensor's optical frame, metres);
2. an optional crop box (x, y, z min / max in the sensor frame, metres);
3. an optional per-frame mask aligned to the depth image (nonzero = person),
   e.g. from a person segmenter; it needs each point's pixel.

Defaults: depth range 0.5 - 4.5 m (the Kinect v2's rated range, which NTU
was recorded with; a wall or furniture farther away is dropped), no crop box,
no mask. All three are ANDed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vg4d_ros.convert import MessageError, mask_image_to_array


@dataclass
class ForegroundConfig:
    """What counts as foreground (all bounds inclusive, metres, sensor frame).

    Attributes:
        min_depth, max_depth: range of ``z``; ``None`` disables a bound.
        crop_min, crop_max: ``[x, y, z]`` corners of an axis-aligned box in
            the sensor frame (optical: x right, y down, z forward); ``None``
            = no box. Both or neither.
        use_mask: require a mask per frame (a frame without one is an error).
    """

    min_depth: float | None = 0.5
    max_depth: float | None = 4.5
    crop_min: tuple[float, float, float] | None = None
    crop_max: tuple[float, float, float] | None = None
    use_mask: bool = False

    def __post_init__(self) -> None:
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


def as_mask(mask: Any) -> np.ndarray:
    """A mask as (H, W) bool: a numpy array (bool or integer, nonzero = person)
    or a ``sensor_msgs/Image`` (mono8 / 8UC1 / 16UC1)."""
    if isinstance(mask, np.ndarray):
        if mask.ndim != 2:
            raise ValueError(f"mask must be a 2-D (H, W) array, got shape {mask.shape}")
        return mask.astype(bool, copy=False)
    return mask_image_to_array(mask)


def foreground_keep(points: np.ndarray, config: ForegroundConfig, *, pixels: np.ndarray | None = None,
                    mask: Any = None) -> np.ndarray:
    """Which points are foreground: (P,) bool.

    Args:
        points: (P, 3) float32 sensor-frame points (metres).
        pixels: (P, 2) int ``(u, v)`` pixel of each point; needed with a mask.
        mask: (H, W) mask aligned with the depth image the points came from
            (array or Image message); required when ``config.use_mask``.
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
