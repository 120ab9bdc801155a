"""Architectures as plain dicts, so a checkpoint alone rebuilds its model.

``arch = {"model": "IMPSTNet", "num_classes": K, "embed_dim": D,
"model_config": <IMPSTNetConfig as a dict, defaults filled in>}``. The dict
is stored in every checkpoint and compared on resume and on load; a
mismatch names every differing field (:func:`~vg4d_core.runtime.checkpoint.check_arch`).
"""
from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from vg4d_core.config import from_dict, to_dict
from vg4d_core.runtime.checkpoint import CheckpointError

MODEL_KINDS: tuple[str, ...] = ("IMPSTNet",)


def point_encoder_arch(model_config: Mapping[str, Any], num_classes: int, embed_dim: int) -> dict[str, Any]:
    """The ``arch`` dict of an im-PSTNet with ``num_classes`` outputs and a ``embed_dim`` projection.

    ``model_config`` is a plain dict (a model YAML with overrides); it is
    round-tripped through :class:`~vg4d_core.models.IMPSTNetConfig` so that
    defaults are filled in and two descriptions of one network compare equal.
    """
    from vg4d_core.models import IMPSTNetConfig

    cfg = from_dict(IMPSTNetConfig, dict(model_config), where=f"model {model_config.get('name', '')}".strip())
    return {"model": "IMPSTNet", "num_classes": int(num_classes), "embed_dim": int(embed_dim),
            "model_config": to_dict(cfg)}


def build_point_encoder(arch: Mapping[str, Any]) -> nn.Module:
    """A freshly initialised im-PSTNet of the architecture ``arch``."""
    from vg4d_core.models import IMPSTNet, IMPSTNetConfig

    kind = arch.get("model")
    if kind not in MODEL_KINDS:
        raise CheckpointError(f"unknown model {kind!r} (this version builds {', '.join(MODEL_KINDS)})")
    for key in ("num_classes", "embed_dim", "model_config"):
        if key not in arch:
            raise CheckpointError(f"architecture has no {key!r} entry: {sorted(arch)}")
    cfg = from_dict(IMPSTNetConfig, arch["model_config"], where="arch.model_config")
    return IMPSTNet(cfg, int(arch["num_classes"]), embed_dim=int(arch["embed_dim"]))
