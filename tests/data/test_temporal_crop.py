"""augment.temporal_crop_min: training clips from a random contiguous part of each video (live windows see
part of an action); off by default, and then no random draw (every figure before it stays the same)."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_core.config import ConfigError
from vg4d_core.data.clip_sampler import FrameList
from vg4d_core.data.config import AugmentConfig
from vg4d_core.data.point_video import PointVideoDataset, temporal_crop
from vg4d_core.data.sampling import item_rng


class Videos(PointVideoDataset):
    """Videos whose frame f holds 4 points at x = f (a clip's frames can be read back from its points)."""

    def __init__(self, lengths, split="train", augment=None, seed=0):
        self._videos = [FrameList([np.full((4, 3), f, np.float32) for f in range(n)]) for n in lengths]
        super().__init__(video_ids=[f"v{i}" for i in range(len(lengths))], labels=[0] * len(lengths),
                         video_lengths=list(lengths), class_names=["a"], split=split, num_frames=6,
                         points_per_frame=4, augment=augment, seed=seed)

    def _frames(self, video):
        return self._videos[video]


def frames_of(item) -> np.ndarray:
    return item["points"][:, 0, 0].numpy().astype(int)


def test_checked():
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ConfigError, match="temporal_crop_min"):
            AugmentConfig(temporal_crop_min=bad)


def test_off_is_the_old_stream_and_draws_nothing():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    assert temporal_crop(40, AugmentConfig(), rng_a) == (0, 40)
    assert temporal_crop(40, AugmentConfig(enabled=False, temporal_crop_min=0.3), rng_a) == (0, 40)
    assert rng_a.random() == rng_b.random()  # no draw was taken
    plain = Videos([40, 33], augment=AugmentConfig(scale_range=(1.0, 1.0)))
    old = Videos([40, 33], augment=AugmentConfig(scale_range=(1.0, 1.0), temporal_crop_min=1.0))
    for i in range(len(plain)):
        np.testing.assert_array_equal(plain[i]["points"], old[i]["points"])


def test_crops_are_contiguous_parts_of_at_least_the_minimum_share_and_vary_by_epoch():
    aug = AugmentConfig(scale_range=(1.0, 1.0), temporal_crop_min=0.5)
    ds = Videos([60], augment=aug)
    spans, starts = [], set()
    for epoch in range(40):
        ds.set_epoch(epoch)
        f = frames_of(ds[0])
        idx = ds.frame_indices(0, item_rng(ds.seed, ds.split, epoch, 0))
        np.testing.assert_array_equal(f, idx)  # the clip holds the frames frame_indices names
        assert np.all(np.diff(f) > 0)
        spans.append(f[-1] - f[0] + 1)
        starts.add(int(f[0]))
    # 6 segments over a crop of 30..60 frames, one random frame in each: the clip spans more than 4/6 of
    # the crop (first and last segment), so at least 21 frames
    assert min(spans) >= 21 and max(spans) <= 60
    assert min(spans) < 45 and len(starts) > 5  # crops of different lengths and places
    # the test split never crops: its clip spreads over the whole video
    test = Videos([60], split="test", augment=aug)
    np.testing.assert_array_equal(frames_of(test[0]), [5, 15, 25, 35, 45, 55])  # each segment's middle


def test_same_seed_same_crops():
    aug = AugmentConfig(temporal_crop_min=0.4)
    a, b = Videos([50, 20], augment=aug, seed=3), Videos([50, 20], augment=aug, seed=3)
    for i in range(len(a)):
        np.testing.assert_array_equal(a[i]["points"], b[i]["points"])
    assert temporal_crop(1, aug, np.random.default_rng(0)) == (0, 1)


def test_prefix_crops_start_at_the_first_frame_and_off_draws_nothing_more():
    rng_of = lambda: np.random.default_rng(11)  # noqa: E731
    always = AugmentConfig(temporal_crop_min=0.2, temporal_crop_prefix=1.0)
    r = rng_of()
    crops = [temporal_crop(100, always, r) for _ in range(200)]
    assert all(first == 0 for first, _ in crops)
    assert min(n for _, n in crops) < 40 and max(n for _, n in crops) > 90  # lengths still drawn
    half = AugmentConfig(temporal_crop_min=0.2, temporal_crop_prefix=0.5)
    r = rng_of()
    starts = [temporal_crop(100, half, r)[0] for _ in range(400)]
    assert 140 < sum(s == 0 for s in starts) < 260 and max(starts) > 50
    # 0 (the default) takes exactly the draws of the plain crop: recipes without it are unchanged
    plain, zero = AugmentConfig(temporal_crop_min=0.2), AugmentConfig(temporal_crop_min=0.2, temporal_crop_prefix=0.0)
    a, b = rng_of(), rng_of()
    assert [temporal_crop(100, plain, a) for _ in range(50)] == [temporal_crop(100, zero, b) for _ in range(50)]
    with pytest.raises(ConfigError, match="temporal_crop_prefix"):
        AugmentConfig(temporal_crop_prefix=1.5)
