"""Synthetic videos as an in-memory point-video dataset."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import cv2
import numpy as np

from vg4d_core.data.config import AugmentConfig, SyntheticConfig
from vg4d_core.data.depth import SparseDepthVideo
from vg4d_core.data.point_video import PointVideoDataset
from vg4d_core.data.rgb import decode_jpeg_frame, encode_jpeg_frames, person_box_in, resize_frame
from vg4d_core.data.sampling import SPLIT_CODES
from vg4d_core.data.synthetic.render import (Renderer, SyntheticVideo, render_video, room_from_config,
                                             synthetic_intrinsics)
from vg4d_core.data.synthetic.scene import CLASS_NAMES, NUM_CLASSES, video_nuisance


# Rendered videos shared by every SyntheticActions of this process. A chain builds the same videos
# several times (the training split for points, again with RGB for the feature cache, its
# validation videos, the test split per stage): rendering is a pure function of the key (class,
# nuisance, noise, camera, room), so sharing it saves time and changes no figure.
_SHARED: "OrderedDict[tuple, dict[str, Any]]" = OrderedDict()
SHARED_RENDER_LIMIT = 2048  # videos kept (~0.25 MB each at the demo's sizes: one chain's 2,000); least recently used go first


class SyntheticActions(PointVideoDataset):
    """Synthetic videos as a dataset (items: see :mod:`vg4d_core.data.point_video`).

    Video i of a split has class ``i % 8`` and the nuisance of
    :func:`video_nuisance`; it is rendered on first use and kept in memory
    as points (:class:`SparseDepthVideo`, metres) plus, with ``rgb``, JPEG
    frames of ``rgb_size`` (~5 KB each).
    """

    FRAME_RATE_HZ = 30.0  # rendered as a 30 Hz depth camera (written in NTU's layout)

    def __init__(self, split: str, cfg: SyntheticConfig | None = None, *, num_frames: int = 16,
                 points_per_frame: int = 512, sampling: str = "segment", frame_interval: int = 1,
                 clip_step: int = 1, augment: AugmentConfig | None = None, seed: int = 0, test_views: int = 1, rgb: bool = False,
                 rgb_size: int = 112, rgb_fit: str = "crop") -> None:
        self.cfg = cfg or SyntheticConfig()
        if split not in SPLIT_CODES:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        count = self.cfg.num_train if split == "train" else self.cfg.num_test
        self.intrinsics = synthetic_intrinsics(self.cfg.image_scale)
        self._nuisance = [video_nuisance(seed, split, i, self.cfg) for i in range(count)]
        self.rgb_enabled = bool(rgb)
        self.rgb_size = int(rgb_size)
        self.rgb_fit = rgb_fit
        self._cache: dict[int, tuple[SparseDepthVideo, tuple[np.ndarray, np.ndarray] | None]] = {}
        self._renderer: Renderer | None = None
        self._actions = [i % NUM_CLASSES for i in range(count)]  # the scene's class (labels may be renumbered)
        super().__init__(
            video_ids=[f"synthetic_{split}_{i:05d}" for i in range(count)],
            labels=[i % NUM_CLASSES for i in range(count)],
            video_lengths=[nu.num_frames for nu in self._nuisance], class_names=CLASS_NAMES, split=split,
            num_frames=num_frames, points_per_frame=points_per_frame, sampling=sampling,
            frame_interval=frame_interval, clip_step=clip_step, augment=augment, seed=seed, test_views=test_views)

    def render(self, v: int) -> SyntheticVideo:
        """Render video ``v`` (not cached)."""
        if self._renderer is None:
            self._renderer = Renderer(self.intrinsics)
        return render_video(self._actions[v], self._nuisance[v], depth_noise_mm=self.cfg.depth_noise_mm,
                            renderer=self._renderer, room=room_from_config(self.cfg))

    def _render_key(self, v: int) -> tuple:
        c = self.cfg
        return (self._actions[v], self._nuisance[v], c.depth_noise_mm, c.image_scale, c.room, c.room_back_wall_m,
                c.room_side_wall_m)

    def _entry(self, v: int):
        entry = self._cache.get(v)
        if entry is None:
            key, fmt = self._render_key(v), (self.rgb_size, self.rgb_fit)
            shared = _SHARED.get(key)
            if shared is None or (self.rgb_enabled and fmt not in shared["rgb"]):
                video = self.render(v)
                if shared is None:
                    shared = {"points": SparseDepthVideo(video.depth, self.intrinsics), "rgb": {}}
                if self.rgb_enabled:
                    boxes = [person_box_in(d, f.shape[:2]) if self.rgb_fit == "person" else None
                             for d, f in zip(video.depth, video.rgb)]
                    small = np.stack([resize_frame(cv2.cvtColor(f, cv2.COLOR_RGB2BGR), self.rgb_size,
                                                   self.rgb_fit, box) for f, box in zip(video.rgb, boxes)])
                    shared["rgb"][fmt] = encode_jpeg_frames(small, quality=92)
                _SHARED[key] = shared
                while len(_SHARED) > SHARED_RENDER_LIMIT:
                    _SHARED.popitem(last=False)
            _SHARED.move_to_end(key)
            entry = self._cache[v] = (shared["points"], shared["rgb"].get(fmt) if self.rgb_enabled else None)
        return entry

    def preload(self) -> None:
        """Render every video now, in this process: loader processes forked afterwards share the
        renders, and so does a later stage in the same process (vg4d demo), instead of each rendering
        its own copy."""
        for v in range(len(self._nuisance)):
            self._entry(v)

    def _frames(self, v: int) -> SparseDepthVideo:
        return self._entry(v)[0]

    def _rgb(self, v: int, frame_indices: np.ndarray) -> np.ndarray | None:
        frames = self._entry(v)[1]
        if frames is None:
            return None
        blob, offsets = frames
        return np.stack([decode_jpeg_frame(blob, offsets, int(f)) for f in frame_indices])
