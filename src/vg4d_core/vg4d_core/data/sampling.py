"""Frame sampling, point resampling and per-item random streams.

Frame sampling (which T frames of a video form one clip):

* :func:`segment_indices` - VG4D / TSN segment sampling. The video's F frames
  are cut into T near-equal segments ``[floor(i F / T), floor((i + 1) F / T))``;
  training takes one uniformly random frame per segment, testing the middle
  frame of each (``start + length // 2``). One clip per video; every frame
  can be drawn in training. Multi-view testing (``num_views`` V > 1, as in
  TSN): view v takes the frame at fraction ``(2v + 1) / 2V`` of each segment,
  so the V test clips of a video tile its segments evenly; V = 1 is the
  middle frame. A video shorter than T (F < T) is *stretched*:
  segment i takes frame ``floor(i F / T)``, so every frame appears once or
  more, in order (train and test alike). Nothing is dropped.
* :func:`dense_clips` - PSTNet's dense sampling: clips of T frames taken
  every ``frame_interval`` frames, starting at every ``step``-th frame.
  A video shorter than one clip (F <= (T - 1) * frame_interval) yields one
  clip starting at frame 0 whose indices are *clamped* to the last frame
  (the last frame is repeated): the temporal rate of the clip stays the one
  of all other clips. PSTNet drops such videos from train and test.

Point resampling (:func:`resample_indices`): a frame with at least N points
gives N distinct points chosen uniformly at random (random order); a frame
with 0 < P < N points gives every point ``N // P`` times plus ``N % P``
distinct random ones, shuffled, so no point is over-represented by more than
one copy. Empty frames are handled by :func:`fill_empty_frames`.

Random streams (:func:`item_rng`): every random choice for one item comes from
a generator seeded by ``(seed, split, epoch, index)``, so an item is the same
whatever the number of data-loader workers or the order items are fetched in.
"""
from __future__ import annotations

import numpy as np

SPLIT_CODES = {"train": 0, "test": 1}


def item_rng(seed: int, split: str, epoch: int, index: int) -> np.random.Generator:
    """Generator for one dataset item, independent of worker count and order."""
    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {sorted(SPLIT_CODES)}, got {split!r}")
    for name, value in (("seed", seed), ("epoch", epoch), ("index", index)):
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), SPLIT_CODES[split], int(epoch), int(index)]))


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def segment_indices(num_frames: int, num_segments: int, *, train: bool,
                    rng: np.random.Generator | None = None, view: int = 0, num_views: int = 1) -> np.ndarray:
    """Segment sampling: one frame per segment.

    Args:
        num_frames: F, frames in the video (>= 1).
        num_segments: T, frames in the clip (>= 1).
        train: random frame per segment (needs ``rng``) if True, else a fixed one.
        view, num_views: test only: the frame at fraction (2 view + 1) / (2 num_views)
            of each segment (the middle one for a single view).
    Returns:
        (T,) int64 frame indices in [0, F), non-decreasing (strictly
        increasing when F >= T).
    """
    _check_positive("num_frames", num_frames)
    _check_positive("num_segments", num_segments)
    _check_positive("num_views", num_views)
    if not 0 <= view < num_views:
        raise ValueError(f"view must be in [0, {num_views}), got {view!r}")
    # integer segment bounds: segment i is [bounds[i], bounds[i + 1]); none is
    # empty when F >= T, so the indices are then strictly increasing
    bounds = (np.arange(num_segments + 1, dtype=np.int64) * num_frames) // num_segments
    lengths = bounds[1:] - bounds[:-1]
    if train:
        if rng is None:
            raise ValueError("segment_indices(train=True) needs an rng")
        offsets = np.floor(rng.random(num_segments) * lengths).astype(np.int64)
    else:
        offsets = (lengths * (2 * view + 1)) // (2 * num_views)
    # an empty segment (only when F < T) takes the frame its start falls in
    idx = bounds[:-1] + offsets
    return np.clip(idx, 0, num_frames - 1)


def num_dense_clips(num_frames: int, num_segments: int, frame_interval: int = 1, step: int = 1) -> int:
    """How many clips :func:`dense_clips` makes from a video (always >= 1)."""
    _check_positive("num_frames", num_frames)
    _check_positive("num_segments", num_segments)
    _check_positive("frame_interval", frame_interval)
    _check_positive("step", step)
    span = (num_segments - 1) * frame_interval + 1  # frames covered by one clip
    if num_frames < span:
        return 1
    return (num_frames - span) // step + 1


def dense_clip_indices(num_frames: int, num_segments: int, clip: int, frame_interval: int = 1,
                       step: int = 1) -> np.ndarray:
    """Frame indices of dense clip number ``clip``: (T,) int64.

    Clip c starts at frame ``c * step`` and takes every ``frame_interval``-th
    frame; indices past the end are clamped to F - 1 (short videos only).
    """
    n = num_dense_clips(num_frames, num_segments, frame_interval, step)
    if not 0 <= clip < n:
        raise IndexError(f"clip {clip} out of range for a {num_frames}-frame video with {n} clips")
    idx = clip * step + np.arange(num_segments, dtype=np.int64) * frame_interval
    return np.minimum(idx, num_frames - 1)


def dense_clips(num_frames: int, num_segments: int, frame_interval: int = 1, step: int = 1) -> np.ndarray:
    """All dense clips of a video: (C, T) int64 frame indices."""
    n = num_dense_clips(num_frames, num_segments, frame_interval, step)
    return np.stack([dense_clip_indices(num_frames, num_segments, c, frame_interval, step) for c in range(n)])


def resample_indices(count: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Choose exactly ``n`` of ``count`` points: (n,) int64 indices in [0, count).

    ``count >= n``: n distinct points, random order. ``0 < count < n``: every
    point ``n // count`` times plus ``n % count`` distinct extra points,
    shuffled. ``count == 0`` is an error (see :func:`fill_empty_frames`).
    """
    _check_positive("n", n)
    if count <= 0:
        raise ValueError(f"cannot resample {n} points from an empty frame (count={count})")
    if count >= n:
        return rng.choice(count, size=n, replace=False).astype(np.int64)
    reps, rest = divmod(n, count)
    idx = np.concatenate([np.tile(np.arange(count, dtype=np.int64), reps),
                          rng.choice(count, size=rest, replace=False).astype(np.int64)])
    rng.shuffle(idx)
    return idx


def fill_empty_frames(counts: np.ndarray) -> np.ndarray:
    """For each frame, the frame whose points stand in for it: (F,) int64.

    A frame with points maps to itself; an empty frame (count 0, e.g. a
    masked depth frame where the person was not segmented) maps to the
    nearest frame in time that has points, the earlier one on a tie. If no
    frame has points, every frame maps to itself (the caller decides; the
    datasets return all-zero points for such a video).
    """
    counts = np.asarray(counts)
    frames = np.arange(counts.shape[0], dtype=np.int64)
    full = np.flatnonzero(counts > 0)
    if full.size == 0 or full.size == counts.shape[0]:
        return frames
    pos = np.searchsorted(full, frames)  # first non-empty frame >= f
    after = full[np.minimum(pos, full.size - 1)]
    before = full[np.maximum(pos - 1, 0)]
    # choose the closer of the two neighbours; ties go to the earlier frame
    use_before = (np.abs(frames - before) <= np.abs(after - frames)) & (before <= frames) | (after < frames)
    return np.where(use_before, before, after)
