"""The T-segment clip sampler: the ONE place a video's frames become a (T, N, 3) model clip.

Used by every dataset (:class:`vg4d_core.data.point_video.PointVideoDataset`) and by the live window
of the recogniser (``vg4d_ros.pipeline.window``), so a window of live frames and a cached test video
holding the same frames give the same clip, bit for bit, for the same view and random stream.

Rules (details in :mod:`vg4d_core.data.sampling`):

* frames: segment sampling (:func:`~vg4d_core.data.sampling.segment_indices`): training takes one
  random frame per segment, testing the frame at fraction ``(2 view + 1) / (2 views)`` of each
  segment (the middle one for one view); PSTNet's dense clips are picked by the dataset and handed
  in as ``indices``;
* empty frames: the nearest frame with points stands in (:func:`fill_empty_frames`); a clip whose
  frames are all empty is all zeros;
* points: N indices per frame (:func:`resample_indices`), frame after frame in clip order, from the
  ONE generator of the item (:func:`item_rng`), so a clip depends only on its frames, its view and
  that stream.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from vg4d_core.data.sampling import fill_empty_frames, resample_indices, segment_indices


class FrameSource(Protocol):
    """The points of one video, frame by frame."""

    @property
    def num_frames(self) -> int: ...

    @property
    def counts(self) -> np.ndarray:
        """(F,) int64 number of points of each frame (0 = empty frame)."""

    def gather(self, frame: int, idx: np.ndarray) -> np.ndarray:
        """Points ``idx`` ((n,) int64 in [0, counts[frame])) of one frame -> (n, 3) float32."""


class FrameList:
    """A :class:`FrameSource` over in-memory frames (the live window's buffer).

    Args:
        frames: F arrays (P_f, 3) float32, P_f >= 0, in time order.
    """

    def __init__(self, frames: Sequence[np.ndarray]) -> None:
        self.frames = [np.asarray(f, dtype=np.float32) for f in frames]
        self._counts = np.array([f.shape[0] for f in self.frames], dtype=np.int64)

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def counts(self) -> np.ndarray:
        return self._counts

    def gather(self, frame: int, idx: np.ndarray) -> np.ndarray:
        return self.frames[frame][idx]


@dataclass(frozen=True)
class ClipSampler:
    """T frames x N points out of a video.

    Attributes:
        num_frames: T, frames per clip.
        points_per_frame: N, points per frame.
        train: random frame per segment (True) or the view's fixed frame (False).
        views: test clips per video (V >= 1); ignored in training.
    """

    num_frames: int
    points_per_frame: int
    train: bool = False
    views: int = 1

    def __post_init__(self) -> None:
        for name in ("num_frames", "points_per_frame", "views"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"ClipSampler.{name} must be a positive int, got {value!r}")

    def frame_indices(self, video_frames: int, rng: np.random.Generator | None = None, view: int = 0) -> np.ndarray:
        """(T,) int64 segment-sampled frame indices of an F-frame video (``rng``: training only)."""
        views = 1 if self.train else self.views
        return segment_indices(int(video_frames), self.num_frames, train=self.train, rng=rng, view=view,
                               num_views=views)

    def clip_points(self, source: FrameSource, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(T, N, 3) float32 points of the frames ``indices`` of ``source`` (empty frames filled)."""
        counts = np.asarray(source.counts)
        stand_in = fill_empty_frames(counts)
        out = np.zeros((len(indices), self.points_per_frame, 3), dtype=np.float32)
        for t, f in enumerate(indices):
            g = int(stand_in[f])
            c = int(counts[g])
            if c > 0:  # 0 only when every frame is empty: zeros
                out[t] = source.gather(g, resample_indices(c, self.points_per_frame, rng))
        return out

    def sample(self, source: FrameSource, rng: np.random.Generator, view: int = 0,
               indices: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One clip: ``(points (T, N, 3) float32, frame_indices (T,) int64)``.

        ``indices``: frames chosen by the caller (dense sampling); default: segment sampling, which in
        training draws from ``rng`` first, before the points (the order every dataset item uses).
        """
        if source.num_frames < 1:
            raise ValueError("a clip needs at least one frame")
        if indices is None:
            indices = self.frame_indices(source.num_frames, rng if self.train else None, view)
        return self.clip_points(source, indices, rng), np.asarray(indices, dtype=np.int64)

