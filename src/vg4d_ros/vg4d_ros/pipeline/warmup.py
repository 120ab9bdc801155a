"""One inference before the first real window (pure Python, no rclpy).

The first call of the model compiles numba's point kernels (seconds on a
cold cache) and lets torch pick its kernels; without a warm-up that happens
on the first live window, which then takes seconds and every window behind
it is dropped. The transports call :func:`warm_up` at configure time.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from vg4d_core.runtime.collate import collate_clips

# a person-sized blob 2.5 m in front of the camera, metres (x right, y down, z forward)
_BODY_SIGMA_M = np.array([0.2, 0.45, 0.12], dtype=np.float32)
_BODY_CENTRE_M = np.array([0.0, 0.0, 2.5], dtype=np.float32)
_DEFAULT_RGB_SIZE = 224  # pixels, when the checkpoint records no rgb_size


def warm_up_batch(settings: Any, data_config: dict[str, Any]) -> dict[str, Any]:
    """A batch of one clip of the shape the live windows will have.

    Args:
        settings: :class:`vg4d_ros.pipeline.recognizer.Resolved` (T, N, point scale, whether RGB is used).
        data_config: the checkpoint's data configuration (``rgb_size``).

    Returns:
        the collated batch of one window (its V views): ``points`` (V, T, N, 3) float32 in the model's
        point units, and ``rgb`` (V, T, S, S, 3) uint8 when the recogniser uses colour.
    """
    t, n = settings.window.num_segments, settings.window.points_per_frame
    rng = np.random.default_rng(0)  # fixed: the warm-up is the same every time
    points = (rng.standard_normal((t, n, 3), dtype=np.float32) * _BODY_SIGMA_M + _BODY_CENTRE_M)
    item: dict[str, Any] = {"points": points * np.float32(settings.point_scale), "label": 0, "video": "warm-up"}
    if settings.use_rgb:
        size = int(data_config.get("rgb_size") or _DEFAULT_RGB_SIZE)
        item["rgb"] = np.full((t, size, size, 3), 128, dtype=np.uint8)
    return collate_clips([item] * int(getattr(settings.window, "views", 1) or 1))


def warm_up(model: Any, settings: Any) -> float:
    """Run ``model.predictor`` once on :func:`warm_up_batch`; returns the seconds it took.

    ``model``: :class:`vg4d_ros.pipeline.recognizer.LoadedModel`. Its output is discarded.
    """
    start = time.perf_counter()
    model.predictor(warm_up_batch(settings, model.data_config))
    return time.perf_counter() - start
