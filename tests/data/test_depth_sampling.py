"""The single-frame depth conversion shared by the NTU cache and a live sensor."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from vg4d_core.data import ntu
from vg4d_core.data.cache import CacheSettings
from vg4d_core.data.depth import PSTNET_NTU_SCALE, CameraIntrinsics, depth_to_points
from vg4d_core.data.depth_sampling import quantise_points, sample_depth_frame, sample_like_cache, sample_pixels
from vg4d_core.data.preprocess import _video_seed, convert_depth_frames

UNIT = CameraIntrinsics(fx=2.0, fy=4.0, cx=1.0, cy=0.0, width=4, height=2)


def test_hand_computed_frame_mm_and_metres():
    mm = np.array([[0, 1000, 2000, 0], [500, 0, 0, 4000]], np.uint16)
    # X = (u - 1) Z / 2, Y = v Z / 4, in raster order
    expected = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 2.0], [-0.25, 0.125, 0.5], [4.0, 1.0, 4.0]], np.float32)
    pts, count = sample_depth_frame(mm, UNIT, None, 8, return_count=True)
    assert count == 4 and pts.dtype == np.float32
    np.testing.assert_array_equal(pts, expected)
    metres = mm.astype(np.float32) / 1000
    metres[0, 0] = np.nan
    np.testing.assert_array_equal(sample_depth_frame(metres, UNIT, None, 8), expected)
    np.testing.assert_array_equal(sample_depth_frame(mm, UNIT, None, 8, max_depth=2.0), expected[:3])
    np.testing.assert_array_equal(sample_depth_frame(mm, UNIT, None, 8, scale=2.0), expected * 2)


def test_subset_is_the_documented_draw_in_raster_order():
    rng = np.random.default_rng(3)
    mm = rng.integers(1, 3000, size=(2, 4)).astype(np.uint16)  # 8 valid pixels
    pts = sample_depth_frame(mm, UNIT, np.random.default_rng(5), 3)
    keep = np.sort(np.random.default_rng(5).choice(8, size=3, replace=False))
    np.testing.assert_array_equal(pts, depth_to_points(mm, UNIT)[keep])
    assert pts.shape == (3, 3)
    with pytest.raises(ValueError, match="needs an rng"):
        sample_pixels(mm, 3, None)
    with pytest.raises(ValueError, match="max_points"):
        sample_pixels(mm, 0, rng)
    with pytest.raises(ValueError, match="4x2"):
        sample_depth_frame(np.zeros((3, 4), np.uint16), UNIT, None, 2)


def test_quantise_points_rounds_and_refuses_int16_overflow():
    q = quantise_points(np.array([[0.0014, -0.0016, 32.767]]), 1e-3)
    assert q.dtype == np.int16 and q.tolist() == [[1, -2, 32767]]
    with pytest.raises(ValueError, match="int16"):
        quantise_points(np.array([[0.0, 0.0, 32.768]]), 1e-3)


@pytest.fixture(scope="module")
def sample_frames(shared_data):
    video = shared_data / "ntu_sample" / ntu.DEPTH_DIR / "S001C001P001R001A058"
    if not video.is_dir():
        pytest.skip(f"NTU sample not found at {video}")
    return ntu.list_depth_frames(video)[:6]


@pytest.mark.parametrize("convention", ["kinect_v2", "pstnet"])
def test_cache_frames_are_this_function_quantised(sample_frames, convention):
    """The cache conversion and a live frame go through the same function (same subset, same points)."""
    settings = CacheSettings(convention=convention, rgb=False, points_per_frame=1024)
    arrays, _ = convert_depth_frames(sample_frames, settings, np.random.default_rng(_video_seed(0, "v")))
    live_rng = np.random.default_rng(_video_seed(0, "v"))
    for f, path in enumerate(sample_frames):
        depth = ntu.read_depth_png(path)
        twin = copy.deepcopy(live_rng)  # the same draw again, for the float input below
        live = sample_like_cache(depth, settings, live_rng)
        n = arrays["counts"][f]
        assert n == live.shape[0] == 1024
        np.testing.assert_array_equal(arrays["points"][f, :n], quantise_points(live, settings.quantum))
        # float32 metres (a 32FC1 image) give the same points as the uint16 PNG
        as_float = sample_like_cache(depth.astype(np.float32) / 1000, settings, twin)
        np.testing.assert_allclose(as_float, live, rtol=1e-6, atol=0)
    if convention == "pstnet":
        z = arrays["points"][0, :1024, 2] * settings.quantum
        assert np.all((z > 3.3 * PSTNET_NTU_SCALE) & (z < 4.2 * PSTNET_NTU_SCALE))

