"""NTU RGB+D clips read from the cache written by ``vg4d preprocess ntu``.

Items: see :mod:`vg4d_core.data.point_video`. Labels are ``action - 1``;
``num_classes`` is 60 for the NTU60 protocols and 120 for NTU120 (all 120
actions are used). Points are in the cache's convention (metres for
``kinect_v2``, PSTNet units for ``pstnet``); the dataset refuses a cache made
with another convention than the one asked for, or with fewer stored points
per frame than ``points_per_frame``.

Each item loads its video's ``.npz`` (about 1-2 MB); the last video is kept,
so the consecutive clips of dense sampling load it once.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vg4d_core.data import ntu
from vg4d_core.data.cache import CachedVideo, read_index, read_settings, video_path
from vg4d_core.data.config import AugmentConfig
from vg4d_core.data.point_video import PointVideoDataset, evenly_spread


class NtuDataset(PointVideoDataset):
    """Args:
        cache: folder written by ``vg4d preprocess ntu``.
        protocol: "ntu60_cs", "ntu60_cv", "ntu120_csub" or "ntu120_cset".
        split: "train" or "test".
        convention: the coordinate convention the cache must have.
        rgb, rgb_size: also return RGB frames (resized if the cache's size differs).
        max_videos: an evenly spread subset of the split (0 = all).
        Other arguments: see :class:`PointVideoDataset`.
    """

    FRAME_RATE_HZ = 30.0  # Kinect v2 depth, 30 Hz

    def __init__(self, cache: str | Path, protocol: str, split: str, *, num_frames: int = 23,
                 points_per_frame: int = 2048, sampling: str = "segment", frame_interval: int = 1,
                 clip_step: int = 1, augment: AugmentConfig | None = None, seed: int = 0, test_views: int = 1,
                 convention: str = "kinect_v2", rgb: bool = False, rgb_size: int = 224, max_videos: int = 0) -> None:
        cache = Path(cache)
        settings = read_settings(cache)
        if settings is None:
            raise FileNotFoundError(f"{cache} is not an NTU cache (no cache.json): run `vg4d preprocess ntu "
                                    f"--root RAW --out {cache}`")
        if settings.convention != convention:
            raise ValueError(f"{cache} holds '{settings.convention}' coordinates, '{convention}' was asked for")
        if points_per_frame > settings.points_per_frame:
            raise ValueError(f"points_per_frame={points_per_frame} but {cache} stores only "
                             f"{settings.points_per_frame} per frame; re-run preprocess with --points "
                             f"{points_per_frame} or ask for fewer")
        if rgb and not settings.rgb:
            raise ValueError(f"{cache} has no RGB frames (made with --no-rgb) but rgb=True")
        self.protocol = ntu.get_protocol(protocol)
        entries = [e for e in read_index(cache) if self.protocol.split_of(ntu.parse_name(e.name)) == split]
        entries = [entries[i] for i in evenly_spread(len(entries), max_videos)]
        self.cache = cache
        self.settings = settings
        self.rgb_enabled = bool(rgb)
        self.rgb_size = int(rgb_size)
        self._last: tuple[int, CachedVideo] | None = None
        super().__init__(
            video_ids=[e.name for e in entries], labels=[ntu.parse_name(e.name).label for e in entries],
            video_lengths=[e.num_frames for e in entries],
            class_names=ntu.CLASS_NAMES[:self.protocol.num_classes], split=split, num_frames=num_frames,
            points_per_frame=points_per_frame, sampling=sampling, frame_interval=frame_interval,
            clip_step=clip_step, augment=augment, seed=seed, test_views=test_views)

    def _video(self, v: int) -> CachedVideo:
        if self._last is None or self._last[0] != v:
            self._last = (v, CachedVideo(video_path(self.cache, self.video_ids[v]), load_rgb=self.rgb_enabled))
        return self._last[1]

    def _frames(self, v: int) -> CachedVideo:
        return self._video(v)

    def _rgb(self, v: int, frame_indices: np.ndarray) -> np.ndarray | None:
        if not self.rgb_enabled:
            return None
        video = self._video(v)
        frames = [video.rgb(int(f)) for f in frame_indices]
        if frames[0].shape[0] != self.rgb_size:
            frames = [cv2.resize(f, (self.rgb_size, self.rgb_size), interpolation=cv2.INTER_AREA) for f in frames]
        return np.stack(frames)
