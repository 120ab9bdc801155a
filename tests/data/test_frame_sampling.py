"""Frame sampling, point resampling, empty-frame filling and per-item RNG."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_core.data.sampling import (dense_clip_indices, dense_clips, fill_empty_frames, item_rng,
                                     num_dense_clips, resample_indices, segment_indices)


@pytest.mark.parametrize("frames,t", [(71, 23), (24, 24), (100, 8), (25, 24)])
def test_segment_test_mode_takes_middle_of_each_segment(frames, t):
    idx = segment_indices(frames, t, train=False)
    assert idx.shape == (t,) and idx.dtype == np.int64
    bounds = np.arange(t + 1) * frames // t
    expected = bounds[:-1] + (bounds[1:] - bounds[:-1]) // 2
    np.testing.assert_array_equal(idx, expected)
    assert np.all(np.diff(idx) > 0)  # F >= T: one distinct frame per segment


# Literal middles, worked by hand: segment i is [floor(i F / T), floor((i+1) F / T)), its middle
# is start + length // 2. E.g. F=100, T=8: bounds 0 12 25 37 50 62 75 87 100.
@pytest.mark.parametrize("frames,t,expected", [
    (100, 8, [6, 18, 31, 43, 56, 68, 81, 93]),
    (10, 4, [1, 3, 6, 8]),
    (39, 12, [1, 4, 7, 11, 14, 17, 20, 24, 27, 30, 33, 37]),
    (25, 24, [*range(23), 24]),  # 23 one-frame segments, then [23, 25)
    (24, 24, list(range(24))),
    (5, 1, [2]),
])
def test_segment_test_mode_middle_frames_literal(frames, t, expected):
    assert segment_indices(frames, t, train=False).tolist() == expected


@pytest.mark.parametrize("frames,t", [(71, 23), (40, 24), (24, 24)])
def test_segment_train_mode_draws_inside_each_segment_and_covers_the_video(frames, t):
    rng = np.random.default_rng(0)
    seen = np.zeros(frames, bool)
    bounds = np.arange(t + 1) * frames // t
    for _ in range(300):
        idx = segment_indices(frames, t, train=True, rng=rng)
        assert np.all(idx >= bounds[:-1]) and np.all(idx < bounds[1:])
        assert np.all(np.diff(idx) > 0)
        seen[idx] = True
    assert seen.all(), "every frame must be reachable in training"


@pytest.mark.parametrize("frames,t", [(13, 24), (1, 24), (23, 24), (5, 8)])
def test_segment_short_video_is_stretched_not_dropped(frames, t):
    for train in (False, True):
        idx = segment_indices(frames, t, train=train, rng=np.random.default_rng(1))
        assert idx.shape == (t,)
        assert np.all(np.diff(idx) >= 0) and idx.min() >= 0 and idx.max() < frames
    # test mode uses every frame at least once, in order
    idx = segment_indices(frames, t, train=False)
    assert set(idx.tolist()) == set(range(frames))


def test_segment_train_needs_rng():
    with pytest.raises(ValueError, match="rng"):
        segment_indices(10, 4, train=True)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_segment_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="num_frames"):
        segment_indices(bad, 4, train=False)


@pytest.mark.parametrize("frames,t,interval,step", [(54, 24, 1, 1), (54, 16, 2, 1), (71, 23, 1, 3), (24, 24, 1, 1)])
def test_dense_clip_count_matches_pstnet_for_long_videos(frames, t, interval, step):
    # PSTNet: for start in range(0, F - interval * (T - 1)) with step 1
    pstnet_starts = list(range(0, frames - interval * (t - 1), step))
    assert num_dense_clips(frames, t, interval, step) == len(pstnet_starts)
    clips = dense_clips(frames, t, interval, step)
    for clip, start in zip(clips, pstnet_starts):
        np.testing.assert_array_equal(clip, start + interval * np.arange(t))
    assert clips.max() == pstnet_starts[-1] + interval * (t - 1) <= frames - 1


@pytest.mark.parametrize("frames", [13, 23])
def test_dense_short_video_gives_one_clamped_clip(frames):
    assert num_dense_clips(frames, 24) == 1
    idx = dense_clip_indices(frames, 24, 0)
    np.testing.assert_array_equal(idx[:frames], np.arange(frames))
    assert np.all(idx[frames:] == frames - 1)


def test_dense_clip_out_of_range():
    with pytest.raises(IndexError, match="clip 31"):
        dense_clip_indices(54, 24, 31)


def test_resample_enough_points_gives_distinct_random_points():
    rng = np.random.default_rng(0)
    idx = resample_indices(5000, 2048, rng)
    assert idx.shape == (2048,) and idx.dtype == np.int64
    assert np.unique(idx).size == 2048 and idx.min() >= 0 and idx.max() < 5000
    assert not np.all(np.diff(idx) > 0), "order should be random, not sorted"


@pytest.mark.parametrize("count", [1, 7, 1000, 2047])
def test_resample_few_points_uses_each_point_floor_or_ceil_times(count):
    idx = resample_indices(count, 2048, np.random.default_rng(0))
    reps = np.bincount(idx, minlength=count)
    assert reps.sum() == 2048
    assert set(np.unique(reps).tolist()) <= {2048 // count, 2048 // count + 1}


def test_resample_empty_frame_is_an_error():
    with pytest.raises(ValueError, match="empty frame"):
        resample_indices(0, 16, np.random.default_rng(0))


def test_fill_empty_frames_uses_nearest_non_empty_frame_earlier_on_tie():
    counts = np.array([0, 0, 5, 0, 0, 7, 0, 0, 0, 3, 0])
    np.testing.assert_array_equal(fill_empty_frames(counts), [2, 2, 2, 2, 5, 5, 5, 5, 9, 9, 9])
    np.testing.assert_array_equal(fill_empty_frames(np.array([3, 4])), [0, 1])
    np.testing.assert_array_equal(fill_empty_frames(np.zeros(3, int)), [0, 1, 2])


def test_item_rng_depends_on_every_key_and_only_on_them():
    a = item_rng(0, "train", 1, 5).random(4)
    np.testing.assert_array_equal(a, item_rng(0, "train", 1, 5).random(4))
    for other in (item_rng(1, "train", 1, 5), item_rng(0, "test", 1, 5), item_rng(0, "train", 2, 5),
                  item_rng(0, "train", 1, 6)):
        assert not np.array_equal(a, other.random(4))
    with pytest.raises(ValueError, match="split"):
        item_rng(0, "val", 0, 0)
    with pytest.raises(ValueError, match="epoch"):
        item_rng(0, "train", -1, 0)
