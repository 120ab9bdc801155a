"""Run a classifier over a clip dataset and pool its scores per video.

The dataset yields dicts ``{"points": (T, N, 3) float32, "label": int,
"video": str, ...}``; in dense test mode one video yields several clips, and
a video's score is the mean of its clips' softmax probabilities (the protocol
of PSTNet / P4Transformer). Under torchrun each rank scores a strided shard
of the clips and rank 0 pools all of them.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from vg4d_core.evaluation.metrics import summarize, topk_accuracy, video_level
from vg4d_core.training.distributed import DistEnv, all_gather_object, shard


def collate_clips(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch dataset items: points (B, T, N, 3) float32, label (B,) int64, video: B ids.

    Only the fields the point-cloud classifier uses are batched, so optional
    extras (RGB frames) never have to agree in shape across items.
    """
    if not items:
        raise ValueError("cannot collate an empty batch")
    points = torch.stack([torch.as_tensor(it["points"], dtype=torch.float32) for it in items])
    if points.ndim != 4 or points.shape[-1] != 3:
        raise ValueError(f"points must be (T, N, 3) per clip, got batch shape {tuple(points.shape)}")
    labels = torch.tensor([int(it["label"]) for it in items], dtype=torch.int64)
    return {"points": points, "label": labels, "video": [str(it["video"]) for it in items]}


def autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` for ``device`` when ``dtype`` is set, else a no-op context."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass
class ClipScores:
    """Scores of C clips: index (C,) dataset positions, probs (C, K) float32,
    labels (C,) int64, videos: C ids."""

    index: np.ndarray
    probs: np.ndarray
    labels: np.ndarray
    videos: list[str]


@torch.no_grad()
def predict_clips(model: nn.Module, dataset: Dataset, indices: Sequence[int], *, batch_size: int,
                  device: torch.device, amp_dtype: torch.dtype | None = None, workers: int = 0,
                  progress: bool = False, desc: str = "eval") -> ClipScores:
    """Softmax probabilities of ``model(points)["logits"]`` for ``dataset[indices]``."""
    was_training = model.training
    model.eval()
    loader = DataLoader(Subset(dataset, list(indices)), batch_size=batch_size, shuffle=False,
                        num_workers=workers, collate_fn=collate_clips)
    probs, labels, videos = [], [], []
    it = loader
    if progress:
        from tqdm import tqdm

        it = tqdm(loader, desc=desc, leave=False, dynamic_ncols=True)
    for batch in it:
        xyz = batch["points"].to(device, non_blocking=True)  # (B, T, N, 3)
        with autocast(device, amp_dtype):
            logits = model(xyz)["logits"]  # (B, K)
        probs.append(torch.softmax(logits.float(), dim=1).cpu())
        labels.append(batch["label"])
        videos += batch["video"]
    model.train(was_training)
    if not probs:
        k = getattr(dataset, "num_classes", 0)
        return ClipScores(np.asarray(indices, dtype=np.int64), np.zeros((0, k), np.float32),
                          np.zeros(0, np.int64), [])
    return ClipScores(np.asarray(indices, dtype=np.int64), torch.cat(probs).numpy(),
                      torch.cat(labels).numpy(), videos)


def evaluate_model(model: nn.Module, dataset: Dataset, *, batch_size: int, device: torch.device,
                   amp_dtype: torch.dtype | None = None, workers: int = 0, env: DistEnv = DistEnv(),
                   class_names: Sequence[str] | None = None, progress: bool = False) -> dict[str, Any] | None:
    """Video-level metrics of ``model`` on ``dataset`` (see :func:`metrics.summarize`)
    plus ``clip_top1`` and ``num_clips``; returned on rank 0, ``None`` elsewhere.

    ``batch_size`` is global (split over the ranks), like the training batch.
    """
    local = max(1, batch_size // env.world_size)
    part = predict_clips(model, dataset, shard(len(dataset), env), batch_size=local, device=device,
                         amp_dtype=amp_dtype, workers=workers, progress=progress and env.is_main)
    parts = all_gather_object(env, part)
    if not env.is_main:
        return None
    index = np.concatenate([p.index for p in parts])
    order = np.argsort(index, kind="stable")  # back to dataset order, whatever the sharding
    probs = np.concatenate([p.probs for p in parts])[order]
    labels = np.concatenate([p.labels for p in parts])[order]
    videos_all = [v for p in parts for v in p.videos]
    videos = [videos_all[i] for i in order]
    vid_scores, vid_labels, vid_ids = video_level(probs, labels, videos)
    out = summarize(vid_scores, vid_labels, class_names)
    out["clip_top1"] = topk_accuracy(probs, labels, 1)
    out["num_clips"] = int(probs.shape[0])
    out["videos"] = vid_ids
    out["video_predictions"] = vid_scores.argmax(axis=1).tolist()
    out["video_labels"] = vid_labels.tolist()
    return out
