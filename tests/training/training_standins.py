"""Small stand-ins with the model and dataset contracts of vg4d, for loop tests.

ToyActions: class c moves a point cloud along direction c over time, so the
class is learnable in a few steps; items follow the dataset contract
{"points": (T, N, 3) float32, "label": int, "video": str, "frame_indices": (T,)}
with per-epoch reproducible noise (``set_epoch``). TinyNet follows the model
contract forward(xyz (B, T, N, 3)) -> {"features", "logits", "embedding"}.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset


class ToyActions(Dataset):
    def __init__(self, videos: int = 16, num_classes: int = 4, frames: int = 4, points: int = 16,
                 clips_per_video: int = 1, seed: int = 0, noise: float = 0.3, fail_at_epoch: int = -1):
        self.videos, self.num_classes, self.frames, self.points = videos, num_classes, frames, points
        self.clips_per_video, self.seed, self.noise = clips_per_video, seed, noise
        self.class_names = [f"action{c}" for c in range(num_classes)]
        self.epoch = 0
        self.fail_at_epoch = fail_at_epoch
        g = np.random.default_rng(1234)
        self.directions = g.normal(size=(num_classes, 3)).astype(np.float32)

    def set_epoch(self, epoch: int) -> None:
        if epoch == self.fail_at_epoch:
            raise KeyboardInterrupt(f"simulated kill at the start of epoch {epoch + 1}")
        self.epoch = epoch

    def __len__(self) -> int:
        return self.videos * self.clips_per_video

    def __getitem__(self, i: int) -> dict:
        video, clip = divmod(i, self.clips_per_video)
        label = video % self.num_classes
        g = np.random.default_rng((self.seed, self.epoch, i))
        t = np.linspace(0, 1, self.frames, dtype=np.float32)[:, None, None]  # (T, 1, 1)
        base = g.normal(size=(1, self.points, 3)).astype(np.float32) * self.noise
        pts = base + t * self.directions[label] + g.normal(size=(self.frames, self.points, 3)) * 0.05
        return {"points": pts.astype(np.float32), "label": label, "video": f"v{video:03d}",
                "frame_indices": np.arange(clip, clip + self.frames, dtype=np.int64)}


class TinyNet(nn.Module):
    def __init__(self, num_classes: int, frames: int = 4, width: int = 16, embed_dim: int = 8,
                 dropout: float = 0.0):
        super().__init__()
        self.point_mlp = nn.Sequential(nn.Linear(3, width), nn.ReLU(), nn.Linear(width, width))
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(frames * width, num_classes)
        self.proj = nn.Linear(frames * width, embed_dim)

    def forward(self, xyz: torch.Tensor) -> dict[str, torch.Tensor]:
        b = xyz.shape[0]
        feat = self.point_mlp(xyz).mean(dim=2).reshape(b, -1)  # (B, T * width)
        emb = nn.functional.normalize(self.proj(feat), dim=-1)
        return {"features": feat, "logits": self.head(self.drop(feat)), "embedding": emb}


def tiny_arch(num_classes: int, **kw) -> dict:
    return {"model": "TinyNet", "num_classes": num_classes, "model_config": dict(kw)}


def fit_tiny(cfg, run_dir, *, model, **kw):
    """``fit`` with the pre-training stage's objective and scoring (cross-entropy, ``pc`` score)."""
    from vg4d_core.losses.classification import ClassificationObjective
    from vg4d_core.runtime.predictor import PointScores
    from vg4d_core.training.loop import fit

    kw.setdefault("objective", ClassificationObjective(cfg.label_smoothing))
    kw.setdefault("score_sources", lambda m: [PointScores(m)])
    return fit(cfg, run_dir, model=model, **kw)
