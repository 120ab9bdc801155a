"""Random-weights im-PSTNet checkpoints for benchmarks that need a model of a given shape, not a trained one.

A live benchmark measures memory, latency and robustness of the pipeline;
what the weights say does not matter, so no training run is needed, and the
checkpoint is fully determined by its arguments (fixed seed).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from vg4d_core.config import to_dict
from vg4d_core.models import load_model_config
from vg4d_core.runtime.architecture import build_point_encoder, point_encoder_arch
from vg4d_core.runtime.checkpoint import FORMAT, atomic_save


def random_checkpoint(path: str | Path, *, model: str = "lite", class_names: Sequence[str],
                      frames: int | None = None, points: int | None = None, embed_dim: int = 16,
                      data_config: dict[str, Any] | None = None, seed: int = 0) -> Path:
    """Write a vg4d checkpoint of an im-PSTNet with random (seeded) weights; returns its path.

    Args:
        path: where to write it (atomically).
        model: model config name (``config/model/<model>.yaml``), e.g. ``lite``.
        class_names: one name per output class.
        frames, points: clip geometry (segments x points per frame); default: the model config's.
        embed_dim: size of the projection head (irrelevant to a point-only checkpoint's scores).
        data_config: entries merged over the recorded data configuration (``name``, ``num_frames``,
            ``points_per_frame``, ``seed``); e.g. ``{"convention": "kinect_v2"}`` for points in metres.
        seed: torch seed of the initialisation.
    """
    import torch

    cfg = to_dict(load_model_config(model))
    cfg.update({k: v for k, v in (("frames", frames), ("points", points)) if v is not None})
    arch = point_encoder_arch(cfg, len(class_names), embed_dim)
    torch.manual_seed(seed)
    net = build_point_encoder(arch)
    dc = {"name": "synthetic", "num_frames": cfg["frames"], "points_per_frame": cfg["points"], "seed": seed,
          **(data_config or {})}
    return atomic_save({"format": FORMAT, "arch": arch, "model": net.state_dict(), "epoch": 0,
                        "class_names": list(class_names), "data_config": dc}, path)
