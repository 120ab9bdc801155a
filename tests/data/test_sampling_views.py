"""Multi-view segment testing: V clips per test video, evenly tiling segments."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_core.data.sampling import segment_indices
from vg4d_core.data.config import SyntheticConfig
from vg4d_core.data.synthetic import SyntheticActions


def test_single_view_is_the_middle_frame():
    for f, t in [(39, 12), (13, 24), (76, 24), (5, 5)]:
        mid = segment_indices(f, t, train=False)
        assert np.array_equal(mid, segment_indices(f, t, train=False, view=0, num_views=1))
    # by hand: segments [0,3) [3,6) [6,9) [9,13) ... of 39 frames in 12, middles start + length // 2
    assert segment_indices(39, 12, train=False, view=0, num_views=1).tolist() == \
        [1, 4, 7, 11, 14, 17, 20, 24, 27, 30, 33, 37]
    assert segment_indices(5, 5, train=False, view=0, num_views=1).tolist() == [0, 1, 2, 3, 4]


def test_views_tile_each_segment_in_order():
    f, t, v = 60, 6, 5  # segments of 10 frames
    clips = np.stack([segment_indices(f, t, train=False, view=i, num_views=v) for i in range(v)])
    starts = np.arange(t) * 10
    assert np.array_equal(clips - starts, np.tile(np.array([1, 3, 5, 7, 9])[:, None], (1, t)))


@pytest.mark.parametrize("view, views", [(-1, 3), (3, 3), (0, 0)])
def test_bad_view_is_an_error(view, views):
    with pytest.raises(ValueError, match="view"):
        segment_indices(30, 6, train=False, view=view, num_views=views)


def test_dataset_yields_views_per_test_video_only():
    kw = dict(cfg=SyntheticConfig(num_train=8, num_test=8), num_frames=6, points_per_frame=32, seed=0)
    one = SyntheticActions("test", **kw)
    three = SyntheticActions("test", test_views=3, **kw)
    train = SyntheticActions("train", test_views=3, **kw)
    assert len(three) == 3 * len(one)
    assert len(train) == len(SyntheticActions("train", **kw))
    items = [three[i] for i in range(3)]
    assert {it["video"] for it in items} == {one[0]["video"]}
    frames = [tuple(it["frame_indices"].tolist()) for it in items]
    assert len(set(frames)) == 3, "the views of a video must differ"
