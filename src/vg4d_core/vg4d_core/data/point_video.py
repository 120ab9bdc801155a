"""The dataset base class shared by MSR-Action3D, NTU RGB+D and synthetic data.

Every dataset yields dicts that torch's default collate stacks::

    {"points": float32 (T, N, 3),        # one clip, N points per frame
     "label": int,                       # class index in [0, num_classes)
     "video": str,                       # stable video id (several dense clips share it)
     "frame_indices": int64 (T,),        # frames of the video used, in order
     "rgb": uint8 (T, H, W, 3)}          # RGB order; only when RGB is enabled,
                                         # sampled at the same frame_indices

A subclass supplies, per video, a :class:`~vg4d_core.data.clip_sampler.FrameSource`
(the points of each frame) and optionally RGB frames; the clip sampler
(:class:`vg4d_core.data.clip_sampler.ClipSampler`, shared with the live window)
picks frames and points, and this class adds dense clips and augmentation.

Reproducibility: item ``i`` of epoch ``e`` draws all its randomness from
``item_rng(seed, split, e, i)``, so results do not depend on the number of
workers. Call :meth:`set_epoch` before iterating an epoch; with
``persistent_workers=True`` the workers keep the epoch they were started with,
so use ``persistent_workers=False`` (the default) when ``set_epoch`` matters.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from vg4d_core.data.augment import augment_clip, augment_rgb
from vg4d_core.data.config import AugmentConfig
from vg4d_core.data.clip_sampler import ClipSampler, FrameSource
from vg4d_core.data.sampling import dense_clip_indices, item_rng, num_dense_clips


def evenly_spread(n_total: int, n_keep: int) -> np.ndarray:
    """Indices of ``n_keep`` items spread evenly over ``n_total`` (all if 0 or >= total)."""
    if n_keep <= 0 or n_keep >= n_total:
        return np.arange(n_total)
    return np.unique(np.linspace(0, n_total - 1, n_keep).round().astype(np.int64))


class PointVideoDataset(Dataset):
    """Clips of point-cloud videos (abstract: see the module docstring).

    ``FRAME_RATE_HZ``: the sensor's frame rate (None: unknown); with the
    video lengths it gives :meth:`typical_video_s`, which training records in
    the checkpoint so a live recognizer's window spans what the model saw.

    Args:
        video_ids: stable id of each video.
        labels: class index of each video.
        video_lengths: frames of each video (>= 1).
        class_names: the dataset's classes; ``num_classes = len(class_names)``.
        split: "train" (random sampling + augmentation) or "test".
        num_frames: T.
        points_per_frame: N.
        sampling: "segment" (one clip per video) or "dense" (several clips).
        frame_interval, clip_step: dense sampling only.
        test_views: segment sampling, test split only: clips per video, their
            scores averaged per video by the evaluation (1 = the middle frames).
        augment: training augmentation; ignored for the test split.
        seed: base of every item's random stream.
    """

    FRAME_RATE_HZ: float | None = None

    def typical_video_s(self) -> float | None:
        """Median video duration in seconds (None when the frame rate is unknown)."""
        lengths = [n for n, label in zip(self.video_lengths, self.labels) if label >= 0]
        if not self.FRAME_RATE_HZ or not lengths:
            return None
        return float(np.median(np.asarray(lengths, dtype=np.float64))) / float(self.FRAME_RATE_HZ)

    def __init__(self, *, video_ids: Sequence[str], labels: Sequence[int], video_lengths: Sequence[int],
                 class_names: Sequence[str], split: str, num_frames: int, points_per_frame: int,
                 sampling: str = "segment", frame_interval: int = 1, clip_step: int = 1,
                 augment: AugmentConfig | None = None, seed: int = 0, test_views: int = 1) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if sampling not in ("segment", "dense"):
            raise ValueError(f"sampling must be 'segment' or 'dense', got {sampling!r}")
        if not (len(video_ids) == len(labels) == len(video_lengths)):
            raise ValueError(f"video_ids, labels and video_lengths differ in length: "
                             f"{len(video_ids)}, {len(labels)}, {len(video_lengths)}")
        for name, value in (("num_frames", num_frames), ("points_per_frame", points_per_frame),
                            ("frame_interval", frame_interval), ("clip_step", clip_step),
                            ("test_views", test_views)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.video_ids = [str(v) for v in video_ids]
        self.labels = [int(x) for x in labels]
        self.video_lengths = [int(n) for n in video_lengths]
        self.class_names = list(class_names)
        self.num_classes = len(self.class_names)
        for vid, label, n in zip(self.video_ids, self.labels, self.video_lengths):
            if not 0 <= label < self.num_classes:
                raise ValueError(f"video {vid}: label {label} outside [0, {self.num_classes})")
            if n < 1:
                raise ValueError(f"video {vid}: has {n} frames")
        self.split = split
        self.train = split == "train"
        self.num_frames = int(num_frames)
        self.points_per_frame = int(points_per_frame)
        self.sampling = sampling
        self.frame_interval = int(frame_interval)
        self.clip_step = int(clip_step)
        self.views = 1 if self.train else int(test_views)
        self.augment = augment if augment is not None else AugmentConfig(enabled=False)
        self.seed = int(seed)
        self.epoch = 0
        self.sampler = ClipSampler(self.num_frames, self.points_per_frame, train=self.train, views=self.views)
        self._items = self._build_items()

    # -- class subset ---------------------------------------------------------
    def restrict_classes(self, classes: Sequence[str] = (), exclude: Sequence[str] = ()) -> None:
        """Keep only the videos of some classes (``data.classes`` / ``data.exclude_classes``).

        The kept classes are ``classes`` (all when empty) minus ``exclude``, in the
        dataset's own order; they become ``class_names`` and are renumbered 0..K'-1.
        Videos of other classes get label -1 and yield no items (they stay in
        ``video_ids`` so that subclasses' per-video data keeps its indices; use
        :meth:`kept_video_ids` for the videos served). Unknown names are an error.
        """
        names = list(self.class_names)
        unknown = [c for c in list(classes) + list(exclude) if c not in names]
        if unknown:
            raise ValueError(f"unknown class names {unknown}; this dataset's classes are {names}")
        wanted = set(classes) if len(classes) else set(names)
        keep = [c for c in names if c in wanted and c not in set(exclude)]
        if not keep:
            raise ValueError(f"classes={list(classes)} exclude_classes={list(exclude)} leave no class")
        if keep == names:
            return
        new_index = {names.index(c): i for i, c in enumerate(keep)}
        self.labels = [new_index.get(label, -1) if label >= 0 else -1 for label in self.labels]
        self.class_names = keep
        self.num_classes = len(keep)
        self._items = self._build_items()

    def kept_video_ids(self) -> list[str]:
        """Ids of the videos this dataset serves (all, unless :meth:`restrict_classes` dropped some)."""
        return [vid for vid, label in zip(self.video_ids, self.labels) if label >= 0]

    # -- indexing -------------------------------------------------------------
    def _build_items(self) -> np.ndarray:
        """(items, 2) int64 rows ``(video, clip)``; in segment mode clip is
        ``-1 - view`` (view 0 .. views - 1). Videos with label -1 (classes left
        out by :meth:`restrict_classes`) have no items."""
        kept = np.array([v for v, label in enumerate(self.labels) if label >= 0], dtype=np.int64)
        if self.sampling == "segment":
            videos = np.repeat(kept, self.views)
            views = np.tile(np.arange(self.views), len(kept))
            return np.stack([videos, -1 - views], axis=1).astype(np.int64)
        rows = []
        for v, n in enumerate(self.video_lengths):
            if self.labels[v] < 0:
                continue
            c = num_dense_clips(n, self.num_frames, self.frame_interval, self.clip_step)
            rows.append(np.stack([np.full(c, v), np.arange(c)], axis=1))
        return np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 2), np.int64)

    def __len__(self) -> int:
        return int(self._items.shape[0])

    def set_epoch(self, epoch: int) -> None:
        """Select the random stream of a training epoch (no effect on the test split)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        self.epoch = int(epoch)

    def frame_indices(self, index: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """(T,) int64 frame indices of item ``index`` (random in training: pass its rng)."""
        v, clip = (int(x) for x in self._items[index])
        n = self.video_lengths[v]
        if clip < 0:
            if self.train and rng is not None:
                first, n = temporal_crop(n, self.augment, rng)
                return first + self.sampler.frame_indices(n, rng, view=-1 - clip)
            return self.sampler.frame_indices(n, rng, view=-1 - clip)
        return dense_clip_indices(n, self.num_frames, clip, self.frame_interval, self.clip_step)

    def video_of(self, index: int) -> int:
        return int(self._items[index, 0])

    # -- subclass hooks -------------------------------------------------------
    def _frames(self, video: int) -> FrameSource:
        raise NotImplementedError

    def _rgb(self, video: int, frame_indices: np.ndarray) -> np.ndarray | None:
        """uint8 (T, H, W, 3) RGB frames at ``frame_indices``, or None without RGB."""
        return None

    # -- items ----------------------------------------------------------------
    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        index = int(index) % len(self)
        rng = item_rng(self.seed, self.split, self.epoch if self.train else 0, index)
        v = self.video_of(index)
        indices = self.frame_indices(index, rng)
        source = self._frames(v)
        if source.num_frames != self.video_lengths[v]:
            raise RuntimeError(f"video {self.video_ids[v]}: indexed with {self.video_lengths[v]} frames "
                               f"but its data has {source.num_frames}")
        points, indices = self.sampler.sample(source, rng, indices=indices)
        if self.train:
            points = augment_clip(points, self.augment, rng)
        item = {
            "points": torch.from_numpy(points),
            "label": self.labels[v],
            "video": self.video_ids[v],
            "frame_indices": torch.from_numpy(indices.astype(np.int64)),
        }
        rgb = self._rgb(v, indices)
        if rgb is not None:
            if self.train:
                rgb = augment_rgb(rgb, self.augment, rng)
            item["rgb"] = torch.from_numpy(np.ascontiguousarray(rgb))
        return item


def temporal_crop(num_frames: int, augment: AugmentConfig, rng: np.random.Generator) -> tuple[int, int]:
    """The part of an F-frame training video a clip is sampled from: ``(first frame, frames)``.

    With ``augment.temporal_crop_min`` < 1 (and augmentation enabled): a length uniform in
    [temporal_crop_min, 1] x F (at least one frame), at a uniform start; two draws from ``rng``.
    With ``augment.temporal_crop_prefix`` p > 0, one more draw first: with probability p the crop
    starts at frame 0 (a prefix of the video, as a live window right after a pause).
    Otherwise the whole video and no draw (the item's random stream is unchanged).
    """
    if not augment.enabled or augment.temporal_crop_min >= 1.0:
        return 0, int(num_frames)
    prefix = augment.temporal_crop_prefix > 0 and rng.uniform() < augment.temporal_crop_prefix
    length = max(1, int(round(rng.uniform(augment.temporal_crop_min, 1.0) * num_frames)))
    first = int(rng.integers(0, num_frames - length + 1))
    return (0 if prefix else first), length


def literature_video_ids(dataset) -> list[str] | None:
    """The ids of the videos that the literature's protocol for ``dataset`` scores, or None.

    Optional hook: a dataset whose published evaluation drops some videos
    (e.g. MSR-Action3D's loaders give videos shorter than one clip zero
    clips) defines ``literature_videos() -> list[str]``, a subset of its
    ``video_ids``; datasets without one (NTU, synthetic: every video counts)
    give None. Evaluation reports its figures over this subset as well, for
    numbers comparable with published ones.
    """
    method = getattr(dataset, "literature_videos", None)
    if method is None:
        return None
    kept = getattr(dataset, "kept_video_ids", None)
    served = None if kept is None else set(kept())  # a class subset serves fewer videos
    return [str(v) for v in method() if served is None or v in served]
