"""From a recipe (or a checkpoint) to the objects the loop needs: model and datasets.

The architecture travels as a plain dict (``arch``), so a checkpoint alone
rebuilds its model: ``{"model": "IMPSTNet", "num_classes": K, "embed_dim": D,
"model_config": <IMPSTNetConfig as a dict, defaults filled in>}``.
"""
from __future__ import annotations

from typing import Any, Mapping

from torch import nn
from torch.utils.data import Dataset

from vg4d_core.config import from_dict, to_dict
from vg4d_core.training.checkpoint import CheckpointError
from vg4d_core.training.config import TrainConfig, data_config_dict, model_config_dict


def model_arch(cfg: TrainConfig, num_classes: int) -> dict[str, Any]:
    """The ``arch`` dict of recipe ``cfg`` for a ``num_classes``-way classifier."""
    from vg4d_core.models import IMPSTNetConfig

    model_cfg = from_dict(IMPSTNetConfig, model_config_dict(cfg), where=f"model {cfg.model}")
    # round trip through the dataclass: defaults filled in, types normalised, so
    # two recipes describing the same network compare equal
    return {"model": "IMPSTNet", "num_classes": int(num_classes), "embed_dim": int(cfg.embed_dim),
            "model_config": to_dict(model_cfg)}


def build_model(arch: Mapping[str, Any]) -> nn.Module:
    """A freshly initialised model of the architecture ``arch``."""
    from vg4d_core.models import IMPSTNet, IMPSTNetConfig

    if arch.get("model") != "IMPSTNet":
        raise CheckpointError(f"unknown model {arch.get('model')!r} (this version builds 'IMPSTNet')")
    cfg = from_dict(IMPSTNetConfig, arch["model_config"], where="arch.model_config")
    return IMPSTNet(cfg, int(arch["num_classes"]), embed_dim=int(arch["embed_dim"]))


def data_config(data: Mapping[str, Any]):
    """A ``DataConfig`` from a plain dict (as stored in recipes and checkpoints)."""
    from vg4d_core.data import DataConfig

    return from_dict(DataConfig, data, where="data")


def resolved_data_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The recipe's data config as a plain dict with every default filled in."""
    return to_dict(data_config(data_config_dict(cfg)))


def build_split(data: Mapping[str, Any], split: str) -> Dataset:
    """The dataset of one split ("train" / "test") of a data config dict."""
    from vg4d_core.data import build_dataset

    ds = build_dataset(data_config(data), split)
    if len(ds) == 0:
        raise ValueError(f"the {split} split of {data.get('name')!r} (root {data.get('root')!r}) is empty")
    return ds
