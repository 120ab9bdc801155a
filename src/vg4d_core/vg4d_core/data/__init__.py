"""Datasets of 4D point-cloud videos: MSR-Action3D, NTU RGB+D, synthetic RGB-D actions.

Entry points: :func:`build_dataset` (from a :class:`DataConfig`, YAML under
``config/data/``), :func:`depth_to_points` (depth image -> points). Items and
sampling rules: :mod:`vg4d_core.data.point_video`, :mod:`vg4d_core.data.sampling`.
"""
from vg4d_core.data.config import AugmentConfig, DataConfig, SyntheticConfig, load_data_config
from vg4d_core.data.depth import KINECT_V2_DEPTH, PSTNET_NTU, PSTNET_NTU_SCALE, CameraIntrinsics, depth_to_points
from vg4d_core.data.factory import build_dataset

__all__ = [
    "AugmentConfig", "CameraIntrinsics", "DataConfig", "KINECT_V2_DEPTH", "PSTNET_NTU", "PSTNET_NTU_SCALE",
    "SyntheticConfig", "build_dataset", "depth_to_points", "load_data_config",
]
