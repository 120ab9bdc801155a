"""Score a clip dataset with a :class:`~vg4d_core.runtime.predictor.Predictor`
and pool the clips of each video.

The dataset yields dicts ``{"points": (T, N, 3) float32, "label": int,
"video": str, ...}``; in dense or multi-view test mode one video yields
several clips, and a video's score in every table is the mean of its clips'
probabilities (the protocol of PSTNet / P4Transformer). Under torchrun each
rank scores a strided shard of the clips and rank 0 pools all of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from vg4d_core.runtime.collate import collate_clips
from vg4d_core.runtime.distributed import DistEnv, all_gather_object, shard
from vg4d_core.runtime.metrics import summarize, topk_accuracy, video_level
from vg4d_core.runtime.predictor import Predictor


@dataclass
class ClipScores:
    """Scores of C clips: index (C,) dataset positions, tables name -> (C, K) float32
    probabilities, labels (C,) int64, videos: C ids."""

    index: np.ndarray
    tables: dict[str, np.ndarray]
    labels: np.ndarray
    videos: list[str]


@dataclass
class VideoScores:
    """Video-level tables: videos (V ids), labels (V,), tables name -> (V, K), plus clip counts."""

    videos: list[str]
    labels: np.ndarray
    tables: dict[str, np.ndarray]
    clip_tables: dict[str, np.ndarray]
    clip_labels: np.ndarray
    num_clips: int
    clip_videos: list[str] | None = None  # the video of each clip row


def score_clips(predictor: Predictor, dataset: Dataset, indices: Sequence[int], *, batch_size: int,
                workers: int = 0, progress: bool = False, desc: str = "eval") -> ClipScores:
    """Every score table of ``predictor`` for ``dataset[indices]``."""
    loader = DataLoader(Subset(dataset, list(indices)), batch_size=batch_size, shuffle=False,
                        num_workers=workers, collate_fn=collate_clips)
    tables: dict[str, list[torch.Tensor]] = {}
    labels: list[torch.Tensor] = []
    videos: list[str] = []
    it = loader
    if progress:
        from tqdm import tqdm

        it = tqdm(loader, desc=desc, leave=False, dynamic_ncols=True)
    for batch in it:
        for name, p in predictor(batch).items():
            tables.setdefault(name, []).append(p)
        labels.append(batch["label"])
        videos += batch["video"]
    k = len(predictor.class_names)
    if not labels:
        return ClipScores(np.asarray(indices, dtype=np.int64),
                          {n: np.zeros((0, k), np.float32) for n in predictor.score_names},
                          np.zeros(0, np.int64), [])
    return ClipScores(np.asarray(indices, dtype=np.int64), {n: torch.cat(v).numpy() for n, v in tables.items()},
                      torch.cat(labels).numpy(), videos)


def score_dataset(predictor: Predictor, dataset: Dataset, *, batch_size: int, workers: int = 0,
                  env: DistEnv = DistEnv(), progress: bool = False) -> VideoScores | None:
    """Video-level score tables of ``dataset``; returned on rank 0, ``None`` elsewhere.

    ``batch_size`` is global (split over the ranks), like the training batch.
    """
    local = max(1, batch_size // env.world_size)
    part = score_clips(predictor, dataset, shard(len(dataset), env), batch_size=local, workers=workers,
                       progress=progress and env.is_main)
    parts = all_gather_object(env, part)
    if not env.is_main:
        return None
    index = np.concatenate([p.index for p in parts])
    order = np.argsort(index, kind="stable")  # back to dataset order, whatever the sharding
    labels = np.concatenate([p.labels for p in parts])[order]
    videos_all = [v for p in parts for v in p.videos]
    videos = [videos_all[i] for i in order]
    names = [n for n in parts[0].tables]
    clip_tables = {n: np.concatenate([p.tables[n] for p in parts])[order] for n in names}
    tables: dict[str, np.ndarray] = {}
    vid_labels, vid_ids = None, None
    for n in names:
        tables[n], vid_labels, vid_ids = video_level(clip_tables[n], labels, videos)
    return VideoScores(vid_ids, vid_labels, tables, clip_tables, labels, int(labels.shape[0]), videos)


def primary_score(names: Sequence[str]) -> str:
    """The headline table: the fusion when present, else the first score."""
    return "fused" if "fused" in names else names[0]


def metrics_of(scores: VideoScores, class_names: Sequence[str] | None = None,
               primary: str | None = None) -> dict[str, Any]:
    """Metrics of the primary table (see :func:`runtime.metrics.summarize`) plus, under
    ``scores``, top-1/top-5 of every table, and ``clip_top1`` / ``num_clips``."""
    names = list(scores.tables)
    primary = primary or primary_score(names)
    out = summarize(scores.tables[primary], scores.labels, class_names)
    out["score"] = primary
    out["scores"] = {n: {"top1": topk_accuracy(t, scores.labels, 1), "top5": topk_accuracy(t, scores.labels, 5)}
                     for n, t in scores.tables.items()}
    out["clip_top1"] = topk_accuracy(scores.clip_tables[primary], scores.clip_labels, 1)
    out["num_clips"] = scores.num_clips
    out["videos"] = scores.videos
    out["video_predictions"] = scores.tables[primary].argmax(axis=1).tolist()
    out["video_labels"] = scores.labels.tolist()
    return out


def restrict(scores: VideoScores, videos: Sequence[str]) -> VideoScores:
    """The video-level tables of ``videos`` only (e.g. the literature's subset of a test split).

    Clip tables are dropped to the clips of those videos too. Unknown ids are an error.
    """
    keep = set(map(str, videos))
    unknown = sorted(keep - set(scores.videos))
    if unknown:
        raise ValueError(f"{len(unknown)} videos are not in the scores: {unknown[:5]}")
    rows = np.array([v in keep for v in scores.videos], dtype=bool)
    vid_index = {v: i for i, v in enumerate(scores.videos)}
    clip_rows = np.array([bool(rows[vid_index[v]]) for v in _clip_videos(scores)], dtype=bool)
    return VideoScores([v for v, r in zip(scores.videos, rows) if r], scores.labels[rows],
                       {n: t[rows] for n, t in scores.tables.items()},
                       {n: t[clip_rows] for n, t in scores.clip_tables.items()},
                       scores.clip_labels[clip_rows], int(clip_rows.sum()),
                       [v for v, r in zip(_clip_videos(scores), clip_rows) if r])


def _clip_videos(scores: VideoScores) -> list[str]:
    if scores.clip_videos is None:
        raise ValueError("these scores carry no clip-to-video map")
    return scores.clip_videos
