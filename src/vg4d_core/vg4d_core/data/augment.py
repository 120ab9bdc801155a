"""Training-time augmentation of point-cloud clips and their RGB frames (see :class:`AugmentConfig`)."""
from __future__ import annotations

import cv2
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


def augment_rgb(frames: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Apply one random flip / crop to all frames of a clip.

    Args:
        frames: uint8 (T, H, W, 3) RGB frames.
        cfg: ``enabled``, ``rgb_flip``, ``rgb_crop_min`` (see :class:`AugmentConfig`).
        rng: the item's generator; drawn from only when a transform is on, so a recipe without RGB
            augmentation gets the same points and frames as before it existed.
    Returns:
        uint8 (T, H, W, 3), the input itself when nothing is on. Colours are never changed: a colour
        can be the only cue between two classes (the synthetic set's red / blue cup).
    """
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must have shape (T, H, W, 3), got {frames.shape}")
    if not cfg.enabled or (not cfg.rgb_flip and cfg.rgb_crop_min >= 1.0):
        return frames
    out = frames
    if cfg.rgb_crop_min < 1.0:
        h, w = frames.shape[1:3]
        side = rng.uniform(cfg.rgb_crop_min, 1.0)
        ch, cw = max(1, int(round(h * side))), max(1, int(round(w * side)))
        y0 = int(rng.integers(0, h - ch + 1))
        x0 = int(rng.integers(0, w - cw + 1))
        if (ch, cw) != (h, w):
            out = np.stack([cv2.resize(np.ascontiguousarray(f[y0:y0 + ch, x0:x0 + cw]), (w, h),
                                       interpolation=cv2.INTER_LINEAR) for f in frames])
    if cfg.rgb_flip and rng.random() < 0.5:
        out = out[:, :, ::-1]
    return np.ascontiguousarray(out)
