"""The validation split of the training videos, and the datasets a stage trains on.

Fusion weights are fitted on validation scores only, never on the test set.
The validation videos are carved from the training split by a stable hash
of the video id (:func:`is_validation_video`): the same videos in every
stage, process and run, whatever the order or size of the split, so a chain
pretrain -> vlm -> crossmodal with one ``val_fraction`` never trains on them.
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any, Callable, Sequence

from torch.utils.data import Dataset

from vg4d_core.data.config import AugmentConfig
from vg4d_core.data.point_video import PointVideoDataset


def is_validation_video(video_id: str, fraction: float) -> bool:
    """True for about ``fraction`` of all ids: sha1(id) read as a number in [0, 1) is < fraction."""
    h = int.from_bytes(hashlib.sha1(str(video_id).encode("utf-8")).digest()[:8], "big") / 2.0**64
    return h < fraction


def item_videos(dataset: Dataset) -> list[str]:
    """The video id of every item of a :class:`~vg4d_core.data.point_video.PointVideoDataset`."""
    return [dataset.video_ids[dataset.video_of(i)] for i in range(len(dataset))]


def split_items(dataset: Dataset, fraction: float) -> tuple[list[int], list[int]]:
    """(training item indices, validation item indices) of ``dataset`` for ``fraction``."""
    train, val = [], []
    for i, vid in enumerate(item_videos(dataset)):
        (val if fraction > 0 and is_validation_video(vid, fraction) else train).append(i)
    if not train:
        raise ValueError(f"val_fraction={fraction} leaves no training videos")
    return train, val


class ItemSubset(Dataset):
    """Items ``indices`` of ``base``, keeping its ``num_classes``, ``class_names``, ``set_epoch``;
    ``extra(base_index, epoch) -> dict`` adds fields to each item (cached video features)."""

    def __init__(self, base: Dataset, indices: Sequence[int],
                 extra: Callable[[int, int], dict[str, Any]] | None = None) -> None:
        self.base = base
        self.indices = [int(i) for i in indices]
        self.extra = extra
        self.num_classes = base.num_classes
        self.class_names = list(getattr(base, "class_names", []))
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.indices)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if hasattr(self.base, "set_epoch"):
            self.base.set_epoch(epoch)

    def preload(self) -> None:
        """The base dataset's ``preload`` (all of its videos: the held-out ones are scored later)."""
        if hasattr(self.base, "preload"):
            self.base.preload()

    def __getitem__(self, i: int) -> dict:
        j = self.indices[i]
        item = self.base[j]
        if self.extra is not None:
            item.update(self.extra(j, self.epoch))
        return item


def eval_mode(dataset: Dataset) -> Dataset:
    """A copy of a training-split :class:`PointVideoDataset` that samples like the test split:
    deterministic middle segments (or dense clips), no augmentation, one view per video.

    The videos stay those of the training split (e.g. the validation videos);
    what changes is only how clips are drawn, as the fusion weights must be
    fitted on scores made the way test scores are made.
    """
    if not isinstance(dataset, PointVideoDataset):
        raise TypeError(f"eval_mode needs a PointVideoDataset, got {type(dataset).__name__}")
    out = copy.copy(dataset)
    out.train = False
    out.views = 1
    out.epoch = 0
    out.augment = AugmentConfig(enabled=False)
    out._items = out._build_items()
    return out


def validation_set(train_set: Dataset, fraction: float) -> Dataset | None:
    """The validation videos of ``train_set`` sampled in test mode, or None when there are none."""
    base = eval_mode(train_set)
    _, val = split_items(base, fraction)
    return ItemSubset(base, val) if val else None
