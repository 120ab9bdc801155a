"""Training-time augmentation of point-cloud clips (see :class:`AugmentConfig`)."""
from __future__ import annotations

import numpy as np

from vg4d_core.data.config import AugmentConfig


def augment_clip(points: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Apply one random transform to a whole clip.

    Args:
        points: (T, N, 3) float32 clip, camera frame (y is the vertical axis).
        cfg: which transforms are on and their ranges.
        rng: the item's generator (keeps results independent of workers).
    Returns:
        (T, N, 3) float32, a new array. Order of operations: scale (per axis,
        about the origin, as PSTNet does), rotation about the y axis through
        the clip's centroid, jitter.
    """
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"points must have shape (T, N, 3), got {points.shape}")
    out = points.astype(np.float32, copy=True)
    if not cfg.enabled:
        return out
    lo, hi = cfg.scale_range
    if hi > lo or lo != 1.0:
        out *= rng.uniform(lo, hi, size=3).astype(np.float32)
    if cfg.rotate_y_deg > 0:
        theta = np.deg2rad(rng.uniform(-cfg.rotate_y_deg, cfg.rotate_y_deg))
        c, s = np.cos(theta), np.sin(theta)
        rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=np.float32)
        centre = out.reshape(-1, 3).mean(axis=0)
        out = (out - centre) @ rot.T + centre
    if cfg.jitter_std > 0:
        noise = rng.normal(0.0, cfg.jitter_std, size=out.shape).astype(np.float32)
        if cfg.jitter_clip > 0:
            np.clip(noise, -cfg.jitter_clip, cfg.jitter_clip, out=noise)
        out += noise
    return out.astype(np.float32, copy=False)
