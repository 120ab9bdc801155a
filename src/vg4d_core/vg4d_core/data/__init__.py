"""Datasets of 4D point-cloud videos: MSR-Action3D, NTU RGB+D, synthetic RGB-D actions.

Entry points: :func:`build_dataset` (from a :class:`DataConfig`, YAML under
``config/data/``), :func:`depth_to_points` (depth image -> points),
:func:`sample_depth_frame` / :func:`sample_like_cache` (one depth frame -> the
fixed-size point subset the NTU cache holds; a live sensor's conversion). Items and
sampling rules: :mod:`vg4d_core.data.point_video`, :mod:`vg4d_core.data.sampling`.

The names below are imported on first use, so that command-line tools built
on the submodules (``vg4d preprocess``, ``vg4d synth``) do not pay for
importing torch.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "AugmentConfig": "vg4d_core.data.config",
    "DataConfig": "vg4d_core.data.config",
    "SyntheticConfig": "vg4d_core.data.config",
    "load_data_config": "vg4d_core.data.config",
    "CameraIntrinsics": "vg4d_core.data.depth",
    "KINECT_V2_DEPTH": "vg4d_core.data.depth",
    "PSTNET_NTU": "vg4d_core.data.depth",
    "PSTNET_NTU_SCALE": "vg4d_core.data.depth",
    "depth_to_points": "vg4d_core.data.depth",
    "sample_depth_frame": "vg4d_core.data.depth_sampling",
    "sample_like_cache": "vg4d_core.data.depth_sampling",
    "build_dataset": "vg4d_core.data.factory",
    "build_split": "vg4d_core.data.factory",
    "data_config_from_dict": "vg4d_core.data.factory",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vg4d_core.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
