"""Multiply-accumulate counts of an im-PSTNet forward pass, per clip.

Two counts per stage:

* ``naive``: the spatial linear map applied to every grouped neighbour, as
  PSTNet's code does: ``T' * l * M * k * (3 + C [+ C]) * mid``;
* ``implemented``: what :class:`~vg4d_core.models.pstconv.PSTConv` does:
  the displacement and feature maps once per input point
  (``L * N * (3 + C) * mid``) and the anchor-feature map once per anchor
  (``T' * M * C * mid``); a neighbour then costs a gather and an add, no MAC.

The temporal stage, ``T' * M * l * mid * out``, is the same in both, and the
heads are added by :func:`clip_macs`. FPS, ball query, gathers, BatchNorm
and pooling are memory traffic, not MACs, and are left out: on both CPU and
GPU they, not the MACs, bound the speed of the grouped stages.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import IMPSTNetConfig, output_frames


@dataclass
class StageCost:
    """MACs of one stage for one clip; frames/points are the stage's output."""

    frames: int
    points: int
    naive_spatial: int
    implemented_spatial: int
    temporal: int

    @property
    def naive(self) -> int:
        return self.naive_spatial + self.temporal

    @property
    def implemented(self) -> int:
        return self.implemented_spatial + self.temporal


def stage_costs(cfg: IMPSTNetConfig, frames: int | None = None, points: int | None = None) -> list[StageCost]:
    """Per-stage MACs of one ``frames`` x ``points`` clip (defaults: the config's)."""
    frames = cfg.frames if frames is None else frames
    points = cfg.points if points is None else points
    costs = []
    in_ch = 0
    k = cfg.neighbours
    for layer in cfg.layers:
        t_out = output_frames(frames, layer)
        m = points // layer.spatial_stride
        l, mid = layer.temporal_kernel, layer.mid_channels
        anchor_ch = in_ch if (cfg.anchor_feature and in_ch) else 0
        grouped = t_out * l * m * k
        naive = grouped * (3 + in_ch + anchor_ch) * mid
        implemented = frames * points * (3 + in_ch) * mid + t_out * m * anchor_ch * mid
        temporal = t_out * m * l * mid * layer.out_channels
        costs.append(StageCost(t_out, m, naive, implemented, temporal))
        frames, points, in_ch = t_out, m, layer.out_channels
    return costs


def clip_macs(cfg: IMPSTNetConfig, num_classes: int = 0, embed_dim: int = 0) -> dict[str, int]:
    """Total MACs of one clip forward: ``naive`` and ``implemented`` (heads included)."""
    costs = stage_costs(cfg)
    heads = cfg.out_channels * (num_classes + embed_dim)
    return {
        "naive": sum(c.naive for c in costs) + heads,
        "implemented": sum(c.implemented for c in costs) + heads,
    }
