"""Training recipe: the :class:`TrainConfig` dataclass and its YAML loader.

A recipe (``config/train/<name>.yaml``) names a model YAML and a data YAML
and holds every hyper-parameter of the im-PSTNet pre-training stage. The
defaults are the paper's NTU schedule (120 epochs, SGD with momentum, lr 0.01,
weight decay 0.1 as printed, batch 32, cosine decay). ``batch_size`` is the
GLOBAL batch: under torchrun it is split evenly over the processes, so one
recipe trains the same way on 1 or 8 GPUs.

``stage`` picks what is trained (:mod:`vg4d_core.training.stages`):
``pretrain`` (im-PSTNet, cross-entropy), ``vlm`` (fine-tune the VLM on the
RGB videos: ``vlm``, ``vlm_overrides``, ``vlm_loss``) or ``crossmodal``
(im-PSTNet from ``pretrained`` aligned with the frozen VLM of
``vlm_checkpoint``: ``crossmodal_loss``, ``feature_views``). The paper
publishes no loss weights; ``crossmodal_loss`` defaults to a = b = c = 1,
d = 0 (L_rgb trains in the ``vlm`` stage: a frozen VLM cannot learn it, so
d > 0 is rejected in ``crossmodal``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

from vg4d_core.config import ConfigError, apply_overrides, from_dict, read_yaml
from vg4d_core.losses.contrastive import CrossModalLossConfig, VideoTextLossConfig
from vg4d_core.paths import resolve_named


# the training stages in the order they run (vg4d_core.training.stages builds each; the demo runs them all)
STAGES: tuple[str, ...] = ("pretrain", "vlm", "crossmodal")

@dataclass
class OptimizerConfig:
    """SGD with momentum (the paper's, for im-PSTNet) or AdamW (how CLIP-family
    video models are fine-tuned; X-CLIP was trained with AdamW). ``weight_decay``
    is applied to weights only; biases and normalisation parameters are exempt
    unless ``decay_bias_and_norm``. ``momentum`` / ``nesterov`` are SGD's,
    ``betas`` / ``eps`` AdamW's."""

    name: Literal["sgd", "adamw"] = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.1  # as printed in the paper; see the MSR recipe for PSTNet's 1e-4
    nesterov: bool = False
    decay_bias_and_norm: bool = False
    betas: tuple[float, float] = (0.9, 0.98)  # CLIP's
    eps: float = 1e-6  # CLIP's

    def __post_init__(self) -> None:
        if self.name not in ("sgd", "adamw"):
            raise ConfigError(f"optimizer.name must be 'sgd' or 'adamw', got {self.name!r}")
        b1, b2 = self.betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ConfigError(f"optimizer.betas must lie in [0, 1), got {self.betas}")
        if not self.eps > 0:
            raise ConfigError(f"optimizer.eps must be > 0, got {self.eps}")
        if self.lr <= 0:
            raise ConfigError(f"optimizer.lr must be > 0, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"optimizer.momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ConfigError(f"optimizer.weight_decay must be >= 0, got {self.weight_decay}")
        if self.nesterov and self.momentum == 0:
            raise ConfigError("optimizer.nesterov needs optimizer.momentum > 0")


@dataclass
class ScheduleConfig:
    """Per-step schedule: linear warmup from ``warmup_start_factor * lr`` to
    ``lr`` over ``warmup_epochs``, then cosine decay to ``min_lr`` at the
    last step of ``epochs``."""

    epochs: int = 120
    warmup_epochs: float = 10.0
    warmup_start_factor: float = 0.01
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"schedule.epochs must be >= 1, got {self.epochs}")
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise ConfigError(f"schedule.warmup_epochs must be in [0, epochs={self.epochs}], "
                              f"got {self.warmup_epochs}")
        if not 0 <= self.warmup_start_factor <= 1:
            raise ConfigError(f"schedule.warmup_start_factor must be in [0, 1], got {self.warmup_start_factor}")
        if self.min_lr < 0:
            raise ConfigError(f"schedule.min_lr must be >= 0, got {self.min_lr}")


@dataclass
class TrainConfig:
    """Everything one training run needs (stored inside every checkpoint).

    ``model`` / ``data``: a config name (``ntu`` -> ``config/model/ntu.yaml``)
    or a path; ``data`` may also be an inline mapping. ``*_overrides`` are
    merged over the loaded YAML (e.g. ``data_overrides.root=/datasets/msr``).
    """

    stage: Literal[STAGES] = "pretrain"  # see vg4d_core.training.stages
    model: str = "ntu"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    embed_dim: int = 512
    data: str | dict[str, Any] = "ntu60_cs"
    data_overrides: dict[str, Any] = field(default_factory=dict)
    train_split: str = "train"
    test_split: str = "test"

    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    batch_size: int = 32  # global, over all processes
    eval_batch_size: int = 32  # global
    label_smoothing: float = 0.0
    grad_clip: float = 10.0  # max global gradient L2 norm; 0 disables
    amp: Literal["auto", "bf16", "off"] = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU
    device: Literal["auto", "cpu", "cuda"] = "auto"
    sync_batchnorm: bool = True  # global-batch BatchNorm statistics under DDP (CPU/gloo and CUDA/NCCL)

    workers: int = 4  # DataLoader worker processes per training process
    threads: int = 0  # torch intra-op threads per process; 0 = torch's default for the process
    # the one seed of a run: initial weights, data order, dropout, and (unless data_overrides.seed
    # pins it) the data's own seed: synthetic generation, clip / view sampling, augmentation
    seed: int = 0
    # torch.use_deterministic_algorithms (warn-only where an op has no deterministic kernel): the same
    # command on the same machine and thread count gives the same figures
    deterministic: bool = True
    eval_every: int = 1  # evaluate on the test split every k epochs (and always after the last)
    ckpt_every: int = 0  # also keep epoch_XXXX.pt every k epochs; last.pt is written every epoch
    log_every: int = 20  # progress-bar refresh interval in steps
    progress: bool = True
    out: str = "runs/ntu60_cs"  # run directory unless --out is given

    # ---- vlm / crossmodal stages ----
    vlm: str = "xclip_b16_k600"  # vlm stage: config/vlm/ name or a VLMConfig YAML path
    vlm_overrides: dict[str, Any] = field(default_factory=dict)  # merged over that YAML (e.g. model=/local/dir)
    vlm_loss: VideoTextLossConfig = field(default_factory=VideoTextLossConfig)
    crossmodal_loss: CrossModalLossConfig = field(default_factory=CrossModalLossConfig)
    # crossmodal: the im-PSTNet checkpoint of a pretrain run (its last.pt); pretrain: start from its weights
    pretrained: str = ""
    vlm_checkpoint: str = ""  # crossmodal: the fine-tuned VLM checkpoint of a vlm run (its last.pt)
    feature_views: int = 4  # crossmodal: cached VLM video-feature views per training video (epoch e uses e mod V)
    # fraction of the training videos held out (stable hash of the video id) as the validation split
    # the fusion weights are fitted on; None: the stage's default (0 for pretrain, 0.1 for vlm and
    # crossmodal). Give every stage of one chain the same value so no stage trains on those videos.
    val_fraction: float | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("workers", "threads", "eval_every", "ckpt_every", "embed_dim"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.log_every < 1:
            raise ConfigError(f"log_every must be >= 1, got {self.log_every}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.grad_clip < 0:
            raise ConfigError(f"grad_clip must be >= 0 (0 disables), got {self.grad_clip}")
        if self.feature_views < 1:
            raise ConfigError(f"feature_views must be >= 1, got {self.feature_views}")
        if self.val_fraction is not None and not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        for name in ("a", "b", "c", "d"):
            if getattr(self.crossmodal_loss, name) < 0:
                raise ConfigError(f"crossmodal_loss.{name} must be >= 0, got {getattr(self.crossmodal_loss, name)}")
        if self.stage == "crossmodal" and self.crossmodal_loss.d > 0:
            raise ConfigError(
                f"crossmodal_loss.d={self.crossmodal_loss.d}: L_rgb trains the VLM's RGB head, but the "
                "crossmodal stage keeps the VLM frozen (it only supplies video and text features), so L_rgb "
                "cannot train anything there; it is trained in the `vlm` stage (vlm_loss.rgb). Set d: 0")

    @property
    def holdout(self) -> float:
        """The validation fraction in effect (``val_fraction`` or the stage's default)."""
        if self.val_fraction is not None:
            return self.val_fraction
        return 0.0 if self.stage == "pretrain" else 0.1


def load_train_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a recipe (name under ``config/train/`` or a path) plus ``key=value`` overrides."""
    data: dict[str, Any] = {}
    where = "TrainConfig"
    if path is not None:
        p = _named(path, "train")
        data, where = read_yaml(p), str(p)
    data = apply_overrides(data, overrides)
    return from_dict(TrainConfig, data, where=where)


def _named(name_or_path: str | Path, group: str) -> Path:
    try:
        return resolve_named(name_or_path, group)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge: ``over`` wins; nested mappings are merged key by key."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def model_config_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The model YAML named by ``cfg.model`` with ``cfg.model_overrides`` applied (a plain dict)."""
    return _merge(read_yaml(_named(cfg.model, "model")), cfg.model_overrides)


def data_config_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The data YAML named by ``cfg.data`` (or the inline mapping) with ``cfg.data_overrides``.

    The data's ``seed`` is the recipe's ``seed`` unless ``data_overrides`` sets one: one seed drives
    a run (``vg4d train ... seed=3`` draws other synthetic videos, clips, views and augmentations).
    """
    base = dict(cfg.data) if isinstance(cfg.data, dict) else read_yaml(_named(cfg.data, "data"))
    out = _merge(base, cfg.data_overrides)
    if "seed" not in cfg.data_overrides:
        out["seed"] = int(cfg.seed)
    return out


def resolved_data_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The recipe's data config as a plain dict with every default filled in."""
    from vg4d_core.config import to_dict
    from vg4d_core.data.factory import data_config_from_dict

    return to_dict(data_config_from_dict(data_config_dict(cfg)))


def vlm_config_of(cfg: TrainConfig):
    """The :class:`~vg4d_core.vlm.VLMConfig` named by ``cfg.vlm`` with ``cfg.vlm_overrides``."""
    from vg4d_core.vlm import VLMConfig

    path = _named(cfg.vlm, "vlm")
    return from_dict(VLMConfig, _merge(read_yaml(path), cfg.vlm_overrides), where=str(path))
