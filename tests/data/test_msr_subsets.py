"""MSR-Action3D: the cached point subset is the video's (by name), cache files per setting, and the
videos the literature's protocol scores."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from vg4d_core.data.depth import MSR_ACTION3D_DEPTH, SparseDepthVideo
from vg4d_core.data.msr_action3d import (LITERATURE_MIN_FRAMES, MSR_SCALE, MSRAction3D, cache_file_name,
                                         list_videos, subset_seed)
from vg4d_core.data.point_video import literature_video_ids

NAMES = ("a01_s01_e01", "a02_s01_e01", "a03_s02_e01")


@pytest.fixture()
def tiny_root(tmp_path):
    """Three 3-frame videos with ~300 valid pixels per frame (values in MSR's raw range)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "msr"
    root.mkdir()
    for name in NAMES:
        depth = np.zeros((240, 320, 3), np.uint16)
        block = rng.integers(300, 650, size=(20, 15, 3)).astype(np.uint16)
        block[rng.random(block.shape) < 0.05] = 0
        depth[100:120, 150:165] = block
        scipy.io.savemat(str(root / f"{name}_sdepth.mat"), {"depth": depth})
    return root


def _arrays(ds, video_id):
    src = ds._frames(ds.video_ids.index(video_id))
    return src.uv.copy(), src.z.copy(), src.offsets.copy()


def _assert_same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_same_video_same_points_in_any_file_list(tiny_root):
    target = tiny_root / "a02_s01_e01_sdepth.mat"
    full = MSRAction3D(tiny_root, "train", max_cached_points=64, points_per_frame=16, num_frames=2)
    alone = MSRAction3D(tiny_root, "train", files=[target], max_cached_points=64, points_per_frame=16, num_frames=2)
    assert full.video_ids.index("a02_s01_e01") == 1 and alone.video_ids == ["a02_s01_e01"]
    _assert_same(_arrays(full, "a02_s01_e01"), _arrays(alone, "a02_s01_e01"))
    # and it is the documented draw: SparseDepthVideo's subset with the name's seed
    depth = np.moveaxis(scipy.io.loadmat(str(target))["depth"], 2, 0)
    expected = SparseDepthVideo(depth, MSR_ACTION3D_DEPTH, depth_unit=1.0, scale=MSR_SCALE, max_points=64,
                                rng=np.random.default_rng(subset_seed(0, "a02_s01_e01")))
    _assert_same(_arrays(alone, "a02_s01_e01"), (expected.uv, expected.z, expected.offsets))
    assert np.all(alone._frames(0).counts == 64)


def test_settings_sharing_one_cache_dir_each_get_their_own_subset(tiny_root, tmp_path):
    cache = tmp_path / "cache"
    settings = [dict(max_cached_points=64, seed=0), dict(max_cached_points=64, seed=1),
                dict(max_cached_points=128, seed=0), dict(max_cached_points=0, seed=0)]
    common = dict(points_per_frame=16, num_frames=2)
    fresh = {i: _arrays(MSRAction3D(tiny_root, "train", **common, **kw), "a01_s01_e01")
             for i, kw in enumerate(settings)}
    assert not np.array_equal(fresh[0][0], fresh[1][0])  # seeds differ -> subsets differ
    for rounds in range(2):  # the first round writes the files, the second reads them
        for i, kw in enumerate(settings):
            ds = MSRAction3D(tiny_root, "train", cache_dir=cache, **common, **kw)
            _assert_same(_arrays(ds, "a01_s01_e01"), fresh[i])
        # a cached copy made from a different file list is the same video's subset
        other = MSRAction3D(tiny_root, "train", files=[tiny_root / "a01_s01_e01_sdepth.mat"], cache_dir=cache,
                            **common, **settings[0])
        _assert_same(_arrays(other, "a01_s01_e01"), fresh[0])
    names = sorted(p.name for p in cache.glob("*.npz"))
    assert len(names) == 4  # one file per setting for the one video converted (others are not touched)
    assert cache_file_name("a01_s01_e01", 64, 0) in names and cache_file_name("a01_s01_e01", 0, 0) in names
    assert cache_file_name("a01_s01_e01", 0, 0) == cache_file_name("a01_s01_e01", 0, 7)  # no subset, no seed
    assert len({cache_file_name("a01_s01_e01", m, s) for m, s in ((64, 0), (64, 1), (128, 0), (0, 0))}) == 4


def test_a_cache_file_with_another_key_is_not_served(tiny_root, tmp_path):
    cache = tmp_path / "cache"
    kw = dict(points_per_frame=16, num_frames=2, max_cached_points=64, cache_dir=cache)
    first = _arrays(MSRAction3D(tiny_root, "train", **kw), "a01_s01_e01")
    path = cache / cache_file_name("a01_s01_e01", 64, 0)
    with np.load(path) as data:  # an old-format copy under the same name (no key): reconverted, not trusted
        np.savez(path, uv=data["uv"][:1], z=data["z"][:1], offsets=np.array([0, 1, 1, 1]))
    _assert_same(_arrays(MSRAction3D(tiny_root, "train", **kw), "a01_s01_e01"), first)


def test_literature_videos_keep_those_with_one_full_clip(tmp_path):
    root = tmp_path / "msr"
    root.mkdir()
    for name, frames in (("a01_s06_e01", 23), ("a01_s06_e02", 24), ("a02_s07_e01", 40)):
        depth = np.zeros((240, 320, frames), np.uint16)
        depth[100:110, 100:110] = 400
        scipy.io.savemat(str(root / f"{name}_sdepth.mat"), {"depth": depth})
    ds = MSRAction3D(root, "test", num_frames=16, points_per_frame=8)  # own clip length does not matter
    assert LITERATURE_MIN_FRAMES == 24
    assert ds.literature_videos() == ["a01_s06_e02", "a02_s07_e01"]
    assert literature_video_ids(ds) == ["a01_s06_e02", "a02_s07_e01"]
    assert literature_video_ids(object()) is None


def test_literature_keeps_280_of_the_290_real_test_videos(shared_data):
    root = shared_data / "msr_action3d"
    if not root.is_dir():
        pytest.skip(f"MSR-Action3D not found at {root}")
    ds = MSRAction3D(root, "test", num_frames=24, points_per_frame=16, sampling="dense")
    kept = ds.literature_videos()
    assert len(ds.video_ids) == 290 and len(kept) == 280
    dropped = sorted(set(ds.video_ids) - set(kept))
    assert dropped == ["a05_s10_e02", "a05_s10_e03", "a07_s10_e02", "a10_s10_e02", "a10_s10_e03", "a12_s09_e03",
                       "a14_s09_e01", "a14_s10_e02", "a14_s10_e03", "a15_s10_e03"]
    assert len(list_videos(root, "test")) == 290
