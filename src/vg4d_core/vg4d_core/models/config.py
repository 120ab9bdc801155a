"""Architecture configuration of im-PSTNet (and of PSTNet built for comparison).

An architecture is a plain dataclass, :class:`IMPSTNetConfig`, filled from a
YAML file under ``config/model/`` by :func:`load_model_config`. It is
serialisable with :func:`vg4d_core.config.to_dict`, so a checkpoint can carry
the exact architecture it was trained with.

Units of the radius
-------------------
``radius`` is the ball-query radius of the first layer, **in the coordinate
units of the dataset the config targets**; each layer multiplies it by its
``radius_scale`` (PSTNet: r, 2r, 4r).

* NTU RGB+D configs use metres. PSTNet's (and the VG4D paper's) radius 0.1 is
  in PSTNet's NTU units: its conversion script (focal 280, image centre, and
  its PNG reader) yields coordinates of about 1.53 x metres, so 0.1 PSTNet
  units = 0.1 / 1.53 = 0.065 m, the value ``config/model/ntu.yaml`` uses.
* MSR-Action3D configs use the literature's units (pixel back-projection with
  focal 280, depth in raw sensor units, everything divided by 300). There
  PSTNet and PSTNet++ used radius 0.5 with 9 neighbours (24 frames x 2048
  points), P4Transformer radius 0.7 with 32 neighbours.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence, get_args

from ..config import ConfigError, load_config
from ..paths import resolve_named

PaddingMode = Literal["zeros", "replicate"]
Aggregation = Literal["addition", "multiplication"]
Pooling = Literal["max", "sum", "avg"]
TemporalFusion = Literal["concat", "sum"]
EmptyNeighbourhood = Literal["zero", "nearest"]  # the ball-query ``empty`` modes of vg4d_core.ops

#: every layer option's allowed values, read off the types above: the one
#: place they are written (the config, PSTConv and the temporal windows check
#: against this table)
CHOICES: dict[str, tuple[str, ...]] = {
    "padding_mode": get_args(PaddingMode),
    "spatial_aggregation": get_args(Aggregation),
    "spatial_pooling": get_args(Pooling),
    "temporal_fusion": get_args(TemporalFusion),
    "empty_neighbourhood": get_args(EmptyNeighbourhood),
}


def check_choice(name: str, value: object, error: type[Exception] = ValueError, where: str = "") -> None:
    """Raise ``error`` unless ``value`` is one of ``CHOICES[name]``."""
    allowed = CHOICES[name]
    if value not in allowed:
        raise error(f"{where}{name} must be one of {list(allowed)}, got {value!r}")


def temporal_output_frames(frames: int, kernel: int, stride: int, padding: tuple[int, int]) -> int:
    """Anchor frames a temporal convolution produces from ``frames`` input frames: the one rule.

    PSTNet's rule: anchors at padded positions ``l//2 + j * stride`` while the
    whole window fits, i.e. ``(frames + p0 + p1 - l) // stride + 1``, and 0 if
    the padded clip is shorter than the kernel. Trailing frames that do not
    fill a window are dropped.
    """
    padded = frames + padding[0] + padding[1]
    if padded < kernel:
        return 0
    return (padded - kernel) // stride + 1


@dataclass
class LayerConfig:
    """One (im-)PSTConv stage.

    ``mid_channels`` is the width of the spatial stage (pooled over the k
    neighbours), ``out_channels`` the width after the temporal stage. The
    input width is the previous stage's ``out_channels`` (0 for the first
    stage: coordinates only).
    """

    mid_channels: int
    out_channels: int
    radius_scale: float = 1.0
    temporal_kernel: int = 1
    spatial_stride: int = 1
    temporal_stride: int = 1
    temporal_padding: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        for name in ("mid_channels", "out_channels", "temporal_kernel", "spatial_stride", "temporal_stride"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"layer {name} must be a positive integer, got {value!r}")
        if self.temporal_kernel % 2 != 1:
            raise ConfigError(f"layer temporal_kernel must be odd, got {self.temporal_kernel}")
        if not self.radius_scale > 0:
            raise ConfigError(f"layer radius_scale must be > 0, got {self.radius_scale!r}")
        pad = tuple(self.temporal_padding)
        if len(pad) != 2 or any(isinstance(p, bool) or not isinstance(p, int) or p < 0 for p in pad):
            raise ConfigError(f"layer temporal_padding must be two integers >= 0, got {self.temporal_padding!r}")
        self.temporal_padding = (int(pad[0]), int(pad[1]))


@dataclass
class IMPSTNetConfig:
    """An im-PSTNet / PSTNet architecture.

    Geometry: ``frames`` x ``points`` is the clip the architecture is designed
    for (what training feeds it and what the benchmark times); the network
    accepts any clip long enough for its temporal kernels. ``radius`` is in
    the dataset's coordinate units (see the module docstring), ``neighbours``
    is k of the ball query.

    Layer style (the same for every stage):

    * ``spatial_aggregation``: how the displacement term and the feature term
      meet before pooling: ``addition`` (equivalently one linear layer on the
      concatenation) or ``multiplication`` (PSTNet's MSR variant).
    * ``spatial_norm``: BatchNorm + ReLU on every neighbour's spatial feature
      before pooling (PSTNet++); PSTNet has none.
    * ``spatial_pooling``: ``max``, ``sum`` or ``avg`` over the k neighbours.
    * ``temporal_fusion``: ``concat`` = PSTNet (BatchNorm + ReLU on the l
      pooled offsets, concatenated, one linear map); ``sum`` = PSTNet++ (one
      linear map per offset, optionally BatchNorm + ReLU each, summed).
    * ``temporal_norm``: whether that BatchNorm + ReLU is there.
    * ``relu_between``: ReLU on each stage's output except the last (PSTNet).
    * ``padding_mode``: temporal padding frames are ``zeros`` (all points at
      the origin, zero features) or ``replicate`` (copies of the end frames).
    * ``empty_neighbourhood``: what a ball with no point inside groups:
      ``zero`` = point 0 of the frame (the pointnet2 op PSTNet uses),
      ``nearest`` = the nearest point.

    The two im-PSTConv improvements (VG4D eq. 8), each a switch:
    ``normalize_displacement`` (displacement divided by the layer's radius)
    and ``anchor_feature`` (the anchor point's own feature concatenated to
    every neighbour's input).

    Head: ``dropout`` before the classifier; the projection head maps the
    ``layers[-1].out_channels`` features to the vision-language embedding.
    """

    name: str = "custom"
    frames: int = 24
    points: int = 2048
    radius: float = 0.5
    neighbours: int = 9
    layers: list[LayerConfig] = field(default_factory=list)
    padding_mode: PaddingMode = "replicate"
    spatial_aggregation: Aggregation = "addition"
    spatial_norm: bool = True
    spatial_pooling: Pooling = "max"
    temporal_fusion: TemporalFusion = "sum"
    temporal_norm: bool = True
    relu_between: bool = False
    empty_neighbourhood: EmptyNeighbourhood = "nearest"
    normalize_displacement: bool = True
    anchor_feature: bool = True
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("frames", "points", "neighbours"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{self.name}: {name} must be a positive integer, got {value!r}")
        if not self.radius > 0:
            raise ConfigError(f"{self.name}: radius must be > 0 (dataset units), got {self.radius!r}")
        if not self.layers:
            raise ConfigError(f"{self.name}: layers must list at least one stage")
        for name in CHOICES:
            check_choice(name, getattr(self, name), ConfigError, where=f"{self.name}: ")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"{self.name}: dropout must be in [0, 1), got {self.dropout!r}")
        # the designed clip must survive every stage
        frames, points = self.frames, self.points
        for i, layer in enumerate(self.layers):
            frames = output_frames(frames, layer)
            points = points // layer.spatial_stride
            if frames < 1 or points < 1:
                raise ConfigError(
                    f"{self.name}: a {self.frames} x {self.points} clip leaves {max(frames, 0)} frames x "
                    f"{points} points after layer {i}; shorten the strides or kernels"
                )

    @property
    def out_channels(self) -> int:
        """Width of the pooled clip feature (the last stage's output)."""
        return self.layers[-1].out_channels

    def layer_shapes(self, frames: int | None = None, points: int | None = None) -> list[tuple[int, int]]:
        """(frames, points) after each stage for a ``frames`` x ``points`` clip."""
        frames = self.frames if frames is None else frames
        points = self.points if points is None else points
        out = []
        for layer in self.layers:
            frames = output_frames(frames, layer)
            points = points // layer.spatial_stride
            out.append((frames, points))
        return out


def output_frames(frames: int, layer: LayerConfig) -> int:
    """Anchor frames stage ``layer`` produces from ``frames`` input frames
    (:func:`temporal_output_frames`)."""
    return temporal_output_frames(frames, layer.temporal_kernel, layer.temporal_stride, layer.temporal_padding)


def load_model_config(name: str | Path, overrides: Sequence[str] = ()) -> IMPSTNetConfig:
    """Load an architecture: a path to a YAML file, or a name in ``config/model/``.

    ``load_model_config("msr")`` reads ``config/model/msr.yaml``;
    ``overrides`` are ``key=value`` strings (``radius=0.08``).
    """
    try:
        path = resolve_named(name, "model")
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    return load_config(IMPSTNetConfig, path, overrides)
