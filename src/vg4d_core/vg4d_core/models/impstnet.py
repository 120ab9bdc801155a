"""im-PSTNet: the 4D point-cloud-video encoder of VG4D, with its two heads.

Backbone: a stack of (im-)PSTConv stages built from an
:class:`~vg4d_core.models.config.IMPSTNetConfig`. The first stage (no input
features, temporal kernel 1) is the per-frame spatial extractor; the rest
mix space and time. The last stage's features are averaged over points and
max-pooled over frames (PSTNet's reduction) into one clip feature, which
feeds a linear classifier and a linear projection onto the unit sphere of the
vision-language embedding space.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import IMPSTNetConfig
from .pstconv import PSTConv, check_point_clip


class IMPSTNet(nn.Module):
    """im-PSTNet encoder with classification and projection heads.

    Args:
        cfg: the architecture.
        num_classes: K, classifier outputs.
        embed_dim: D, width of the vision-language embedding (512 for X-CLIP ViT-B/16).

    ``forward(xyz)`` takes coordinates (B, T, N, 3) in the config's units and
    returns ``dict(features=(B, C_out), logits=(B, K), embedding=(B, D))``,
    the embedding L2-normalised (float32, also under autocast).
    """

    def __init__(self, cfg: IMPSTNetConfig, num_classes: int, embed_dim: int = 512) -> None:
        super().__init__()
        if not isinstance(cfg, IMPSTNetConfig):
            raise TypeError(f"cfg must be an IMPSTNetConfig, got {type(cfg).__name__}")
        for name, value in (("num_classes", num_classes), ("embed_dim", embed_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.cfg = cfg
        self.num_classes = num_classes
        self.embed_dim = embed_dim
        layers = []
        in_channels = 0
        for spec in cfg.layers:
            layers.append(PSTConv(
                in_channels, spec.mid_channels, spec.out_channels,
                radius=cfg.radius * spec.radius_scale, neighbours=cfg.neighbours,
                temporal_kernel=spec.temporal_kernel, spatial_stride=spec.spatial_stride,
                temporal_stride=spec.temporal_stride, temporal_padding=spec.temporal_padding,
                padding_mode=cfg.padding_mode, spatial_aggregation=cfg.spatial_aggregation,
                spatial_pooling=cfg.spatial_pooling, spatial_norm=cfg.spatial_norm,
                temporal_fusion=cfg.temporal_fusion, temporal_norm=cfg.temporal_norm,
                normalize_displacement=cfg.normalize_displacement, anchor_feature=cfg.anchor_feature,
                empty_neighbourhood=cfg.empty_neighbourhood,
            ))
            in_channels = spec.out_channels
        self.layers = nn.ModuleList(layers)
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(cfg.out_channels, num_classes)
        self.projection = nn.Linear(cfg.out_channels, embed_dim, bias=False)  # CLIP-style projection

    #: the batch field ``forward`` reads (the training loop and the predictor look it up)
    input_key = "points"
    #: parts that :meth:`lock` can freeze
    PARTS: tuple[str, ...] = ("backbone", "classifier", "projection")

    def part_modules(self) -> dict[str, list[nn.Module]]:
        """The modules of each part: backbone (PSTConv stages), classifier, projection."""
        return {"backbone": [self.layers], "classifier": [self.classifier], "projection": [self.projection]}

    def lock(self, *parts: str) -> list[str]:
        """Freeze ``parts`` (no gradient, so not in the optimizer, not synchronised by DDP).

        Each training stage declares what it trains: pre-training's
        cross-entropy never reaches the projection head, so it locks
        ``"projection"``; cross-modal learning trains all three. Returns the
        frozen parameter names. BatchNorm statistics of a locked backbone keep
        updating in train mode; call ``.eval()`` on it to freeze them too.
        """
        unknown = [p for p in parts if p not in self.PARTS]
        if unknown:
            raise ValueError(f"unknown part(s) {unknown}; IMPSTNet has {list(self.PARTS)}")
        frozen = []
        modules = self.part_modules()
        for part in parts:
            for module in modules[part]:
                for p in module.parameters():
                    p.requires_grad_(False)
        for name, p in self.named_parameters():
            if not p.requires_grad:
                frozen.append(name)
        return frozen

    def min_frames(self) -> int:
        """Shortest clip every stage accepts."""
        frames = 1
        while not self._fits(frames):
            frames += 1
        return frames

    def _fits(self, frames: int) -> bool:
        for layer in self.layers:
            frames, _ = layer.output_size(frames, layer.spatial_stride)
            if frames < 1:
                return False
        return True

    def encode(self, xyz: torch.Tensor) -> torch.Tensor:
        """Backbone: xyz (B, T, N, 3) -> clip features (B, C_out)."""
        self._check_input(xyz)
        features = None
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            xyz, features = layer(xyz, features)  # (B, T', M, 3), (B, T', M, C)
            if self.cfg.relu_between and i < last:
                features = F.relu(features)
        return features.mean(dim=2).amax(dim=1)  # mean over points, max over frames

    def forward(self, xyz: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.encode(xyz)
        logits = self.classifier(self.dropout(features))
        embedding = F.normalize(self.projection(features).float(), dim=-1)
        return {"features": features, "logits": logits, "embedding": embedding}

    def _check_input(self, xyz: torch.Tensor) -> None:
        b, frames, points = check_point_clip(xyz, "(B, T, N, 3)")
        if b < 1:
            raise ValueError(f"xyz holds no clip: shape {tuple(xyz.shape)}")
        if not self._fits(frames):
            raise ValueError(f"xyz has {frames} frames; {self.cfg.name} needs at least {self.min_frames()}")
        stride = 1
        for layer in self.layers:
            stride *= layer.spatial_stride
        if points < stride:
            raise ValueError(f"xyz has {points} points per frame; {self.cfg.name} subsamples by {stride} "
                             f"and needs at least that many")
