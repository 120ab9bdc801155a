"""Videos cut from recorded ROS 2 bags, read from the cache ``vg4d bag2cache`` writes (``data.name: bag``).

The cache has the NTU cache's format (:mod:`vg4d_core.data.cache`: int16 points
at 1 mm, ``counts``, ``index.tsv``, ``cache.json``) plus ``bag_index.json``:
``{"class_names": [...], "videos": [{"name", "label", "bag", "subject", ...}]}``.
Making it needs the ROS message conversion, which lives in ``vg4d_ros``; this
module only reads files, so the data layer never imports ``vg4d_ros``.

Split: ``split_by: bag`` puts the videos of the bags named in ``test`` in the
test split, ``split_by: subject`` those of the subjects named in ``test`` (the
labels file's ``subject`` field); everything else is train.
Items: see :mod:`vg4d_core.data.point_video`; points in metres.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from vg4d_core.data.cache import CachedVideo, read_index, read_settings, video_path
from vg4d_core.data.config import AugmentConfig
from vg4d_core.data.input_transform import TRANSFORM_KEY, InputTransform
from vg4d_core.data.point_video import PointVideoDataset, evenly_spread

BAG_INDEX_FILE = "bag_index.json"


class BagDataset(PointVideoDataset):
    """Args:
        cache: folder written by ``vg4d bag2cache``.
        split: "train" or "test".
        split_by: "bag" or "subject".
        test: bag names (folder names) or subjects of the test split.
        max_videos: an evenly spread subset of the split (0 = all).
        Other arguments: see :class:`PointVideoDataset`.
    """

    def __init__(self, cache: str | Path, split: str, *, split_by: str = "bag", test: Sequence[str] = (),
                 num_frames: int = 23, points_per_frame: int = 2048, sampling: str = "segment",
                 frame_interval: int = 1, clip_step: int = 1, augment: AugmentConfig | None = None, seed: int = 0,
                 test_views: int = 1, max_videos: int = 0) -> None:
        cache = Path(cache)
        settings = read_settings(cache)
        index_path = cache / BAG_INDEX_FILE
        if settings is None or not index_path.is_file():
            raise FileNotFoundError(f"{cache} is not a bag cache (no cache.json / {BAG_INDEX_FILE}): run "
                                    f"`vg4d bag2cache BAG... --labels LABELS --out {cache}`")
        if points_per_frame > settings.points_per_frame:
            raise ValueError(f"points_per_frame={points_per_frame} but {cache} stores only "
                             f"{settings.points_per_frame} per frame; re-run bag2cache with --points "
                             f"{points_per_frame} or ask for fewer")
        if split_by not in ("bag", "subject"):
            raise ValueError(f"split_by must be 'bag' or 'subject', got {split_by!r}")
        index = json.loads(index_path.read_text(encoding="utf-8"))
        names = list(index["class_names"])
        test = {str(t) for t in test}
        known = {str(v[split_by]) for v in index["videos"]}
        if test - known:
            raise ValueError(f"data.bag.test names {sorted(test - known)} that no video of {cache} has as its "
                             f"{split_by} (there are: {sorted(known)})")
        frames = {e.name: e.num_frames for e in read_index(cache)}
        chosen = [v for v in index["videos"] if (str(v[split_by]) in test) == (split == "test") and v["name"] in frames]
        chosen = [chosen[i] for i in evenly_spread(len(chosen), max_videos)]
        self.cache = cache
        self.settings = settings
        self.videos = chosen
        # the conversion bag2cache used (topics aside): training records it in the checkpoint
        recorded = index.get(TRANSFORM_KEY)
        self.recorded_transform = InputTransform.from_dict(recorded) if isinstance(recorded, dict) else None
        self._last: tuple[int, CachedVideo] | None = None
        super().__init__(video_ids=[v["name"] for v in chosen], labels=[names.index(v["label"]) for v in chosen],
                         video_lengths=[frames[v["name"]] for v in chosen], class_names=names, split=split,
                         num_frames=num_frames, points_per_frame=points_per_frame, sampling=sampling,
                         frame_interval=frame_interval, clip_step=clip_step, augment=augment, seed=seed,
                         test_views=test_views)

    def typical_video_s(self) -> float | None:
        """Median duration (s) of the served videos, from their frames' header stamps (a cache written
        before stamps were recorded: from the labelled segments' bounds)."""
        spans = []
        for v, label in zip(self.videos, self.labels):
            if label < 0:
                continue
            first, last = v.get("first_stamp_ns", v.get("start_ns")), v.get("last_stamp_ns", v.get("end_ns"))
            if isinstance(first, int) and isinstance(last, int) and last > first:
                spans.append((last - first) / 1e9)
        return float(np.median(spans)) if spans else None

    def _frames(self, v: int) -> CachedVideo:
        if self._last is None or self._last[0] != v:
            self._last = (v, CachedVideo(video_path(self.cache, self.video_ids[v])))
        return self._last[1]
