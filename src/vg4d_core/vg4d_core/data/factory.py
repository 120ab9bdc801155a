"""``build_dataset(cfg, split)``: the one place that turns a DataConfig into a Dataset."""
from __future__ import annotations

from typing import Any, Mapping

from torch.utils.data import Dataset

from vg4d_core.config import from_dict
from vg4d_core.data.config import DataConfig
from vg4d_core.paths import shared_data_dir


def build_dataset(cfg: DataConfig, split: str) -> Dataset:
    """Dataset of ``cfg.name`` for ``split`` ("train" or "test"), restricted to ``cfg.classes`` minus
    ``cfg.exclude_classes`` when either is set (renumbered; see ``PointVideoDataset.restrict_classes``).

    The dataset has ``num_classes``, ``class_names`` and ``set_epoch(epoch)``;
    items are described in :mod:`vg4d_core.data.point_video`.
    """
    ds = _build_dataset(cfg, split)
    if cfg.classes or cfg.exclude_classes:
        try:
            ds.restrict_classes(cfg.classes, cfg.exclude_classes)
        except ValueError as exc:
            raise ValueError(f"data.classes / data.exclude_classes: {exc}") from None
    return ds


def _build_dataset(cfg: DataConfig, split: str) -> Dataset:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    clip_step = cfg.train_clip_step if split == "train" else cfg.test_clip_step
    common = dict(num_frames=cfg.num_frames, points_per_frame=cfg.points_per_frame, sampling=cfg.sampling,
                  frame_interval=cfg.frame_interval, clip_step=clip_step, augment=cfg.augment, seed=cfg.seed,
                  test_views=cfg.test_views)
    if cfg.name == "msr_action3d":
        from vg4d_core.data.msr_action3d import MSRAction3D

        if cfg.rgb:
            raise ValueError("data.rgb=true but MSR-Action3D has no RGB video (depth only)")
        root = cfg.root_path or shared_data_dir() / "msr_action3d"
        return MSRAction3D(root, split, max_cached_points=cfg.max_cached_points, preload=cfg.preload,
                           cache_dir=cfg.cache_dir or None, max_videos=cfg.max_videos, **common)
    if cfg.name == "ntu":
        from vg4d_core.data.ntu_dataset import NtuDataset

        if cfg.root_path is None:
            raise ValueError("data.root must name the NTU cache folder written by `vg4d preprocess ntu`")
        if cfg.rgb and cfg.rgb_fit == "person":
            raise ValueError("data.rgb_fit=person needs colour registered to the depth image; NTU's RGB videos "
                             "are another camera: use crop, stretch or pad (fixed when the cache was written)")
        return NtuDataset(cfg.root_path, cfg.protocol, split, convention=cfg.convention, rgb=cfg.rgb,
                          rgb_size=cfg.rgb_size, max_videos=cfg.max_videos, **common)
    if cfg.name == "synthetic":
        from vg4d_core.data.synthetic import SyntheticActions

        return SyntheticActions(split, cfg.synthetic, rgb=cfg.rgb, rgb_size=cfg.rgb_size, rgb_fit=cfg.rgb_fit,
                                **common)
    if cfg.name == "bag":
        from vg4d_core.data.bag_dataset import BagDataset

        if cfg.root_path is None:
            raise ValueError("data.root must name the bag cache folder written by `vg4d bag2cache`")
        if cfg.rgb:
            raise ValueError("data.rgb=true but bag caches hold depth points only")
        return BagDataset(cfg.root_path, split, split_by=cfg.bag.split_by, test=cfg.bag.test,
                          max_videos=cfg.max_videos, **common)
    raise ValueError(f"unknown dataset name {cfg.name!r}; choose from 'msr_action3d', 'ntu', 'synthetic', 'bag'")


def data_config_from_dict(data: Mapping[str, Any]) -> DataConfig:
    """A :class:`DataConfig` from a plain dict (as stored in recipes and checkpoints)."""
    return from_dict(DataConfig, dict(data), where="data")


def build_split(data: Mapping[str, Any] | DataConfig, split: str) -> Dataset:
    """The dataset of one split of a data config (dict or dataclass); an empty split is an error."""
    cfg = data if isinstance(data, DataConfig) else data_config_from_dict(data)
    ds = build_dataset(cfg, split)
    if len(ds) == 0:
        raise ValueError(f"the {split} split of {cfg.name!r} (root {cfg.root!r}) is empty")
    return ds
