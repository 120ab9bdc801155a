"""Training stages: what a recipe's ``stage`` trains, and how.

A stage contributes its model wiring and its objective; the loop
(:func:`vg4d_core.training.loop.fit`) is the same for all of them.

* ``pretrain``: im-PSTNet with cross-entropy on its classifier. The
  projection head (used by cross-modal learning) gets no gradient from it, so
  the stage locks it: declared here, not discovered by a backward probe.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from torch import nn
from torch.utils.data import Dataset

from vg4d_core.runtime.architecture import build_point_encoder, point_encoder_arch
from vg4d_core.training.config import TrainConfig, model_config_dict

STAGES: tuple[str, ...] = ("pretrain",)


@dataclass
class Stage:
    """Everything the loop needs from a stage.

    ``model`` is what the optimizer trains (its unfrozen parameters),
    ``objective`` the loss over its outputs, ``arch`` the architecture dict
    stored in checkpoints, ``score_sources(model)`` the predictor sources of
    the per-epoch test pass, ``meta`` extra checkpoint entries.
    """

    name: str
    model: nn.Module
    objective: nn.Module
    arch: dict[str, Any]
    score_sources: Callable[[nn.Module], Sequence[nn.Module]]
    meta: dict[str, Any] = field(default_factory=dict)


def stage_arch(cfg: TrainConfig, num_classes: int) -> dict[str, Any]:
    """The architecture dict recipe ``cfg`` trains for ``num_classes`` classes."""
    return point_encoder_arch(model_config_dict(cfg), num_classes, cfg.embed_dim)


def build_stage(cfg: TrainConfig, train_set: Dataset) -> Stage:
    """Model, objective and scoring of ``cfg.stage`` for ``train_set``'s classes.

    The model's initial weights come from torch's global RNG: seed it the same
    in every process before calling this.
    """
    from vg4d_core.losses.classification import ClassificationObjective
    from vg4d_core.runtime.predictor import PointScores

    if cfg.stage not in STAGES:
        raise ValueError(f"unknown stage {cfg.stage!r}; choose from {list(STAGES)}")
    arch = stage_arch(cfg, train_set.num_classes)
    model = build_point_encoder(arch)
    model.lock("projection")  # cross-entropy never reaches the projection head
    return Stage("pretrain", model, ClassificationObjective(cfg.label_smoothing), arch,
                 score_sources=lambda m: [PointScores(m)])
