"""depth_to_points and SparseDepthVideo: encodings, intrinsics presets, bad input, the real NTU clip."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from missing_data import skip_or_fail
from vg4d_core.data.depth import (KINECT_V2_DEPTH, PSTNET_NTU, PSTNET_NTU_SCALE, CameraIntrinsics, SparseDepthVideo,
                                  convention, depth_to_points)
from vg4d_core.data.ntu import list_depth_frames, read_depth_png

SMALL = CameraIntrinsics(fx=100.0, fy=110.0, cx=3.5, cy=2.0, width=8, height=5)


def _reference(depth_m: np.ndarray, k: CameraIntrinsics) -> np.ndarray:
    """Per-pixel loop, written independently of the library."""
    pts = []
    for v in range(depth_m.shape[0]):
        for u in range(depth_m.shape[1]):
            z = depth_m[v, u]
            if np.isfinite(z) and z > 0:
                pts.append(((u - k.cx) * z / k.fx, (v - k.cy) * z / k.fy, z))
    return np.array(pts, dtype=np.float64).reshape(-1, 3)


def test_uint16_millimetres_match_reference():
    rng = np.random.default_rng(0)
    depth = rng.integers(0, 5000, size=(5, 8)).astype(np.uint16)
    depth[rng.random((5, 8)) < 0.4] = 0
    pts = depth_to_points(depth, SMALL)
    assert pts.dtype == np.float32 and pts.shape == (np.count_nonzero(depth), 3)
    np.testing.assert_allclose(pts, _reference(depth / 1000.0, SMALL), rtol=1e-6, atol=1e-6)


def test_float_metres_with_nan_equal_uint16_path_and_accept_tensors():
    rng = np.random.default_rng(1)
    mm = rng.integers(300, 6000, size=(5, 8)).astype(np.uint16)
    mm[0, :3] = 0
    metres = mm.astype(np.float32) / 1000
    metres[0, :3] = np.nan
    metres[1, 0] = np.inf
    mm[1, 0] = 0
    a = depth_to_points(mm, SMALL)
    b = depth_to_points(torch.from_numpy(metres), SMALL)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    pts, pix = depth_to_points(metres, SMALL, return_pixels=True)
    assert pix.shape == (pts.shape[0], 2) and tuple(pix[0]) == (3, 0)


def test_range_limits_and_scale():
    depth = np.array([[500, 1500, 2500, 0]], dtype=np.uint16)
    k = CameraIntrinsics(1.0, 1.0, 0.0, 0.0)
    assert depth_to_points(depth, k, min_depth=1.0, max_depth=2.0)[:, 2].tolist() == [1.5]
    np.testing.assert_allclose(depth_to_points(depth, k, scale=2.0)[:, 2], [1.0, 3.0, 5.0])


def test_empty_image_gives_no_points():
    assert depth_to_points(np.zeros((5, 8), np.uint16), SMALL).shape == (0, 3)
    assert depth_to_points(np.full((5, 8), np.nan, np.float32), SMALL).shape == (0, 3)


@pytest.mark.parametrize("depth,exc,match", [
    (np.zeros((4, 8), np.uint16), ValueError, "8x4"),
    (np.zeros((5, 8, 1), np.uint16), ValueError, "2-D"),
    (np.zeros((5, 8), bool), TypeError, "dtype"),
    ([[1, 2]], TypeError, "list"),
])
def test_bad_depth_is_named(depth, exc, match):
    with pytest.raises(exc, match=match):
        depth_to_points(depth, SMALL)


@pytest.mark.parametrize("kwargs,match", [({"fx": 0.0}, "fx"), ({"fy": -1.0}, "fy"), ({"cx": float("nan")}, "cx"),
                                          ({"width": 0}, "width")])
def test_bad_intrinsics_are_named(kwargs, match):
    base = dict(fx=1.0, fy=1.0, cx=0.0, cy=0.0)
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        CameraIntrinsics(**base)


def test_scaled_intrinsics_keep_pixel_centres():
    half = KINECT_V2_DEPTH.scaled(0.5)
    assert (half.width, half.height) == (256, 212)
    assert half.fx == pytest.approx(KINECT_V2_DEPTH.fx / 2)
    assert half.cx == pytest.approx((KINECT_V2_DEPTH.cx + 0.5) / 2 - 0.5)
    with pytest.raises(ValueError, match="unknown depth convention"):
        convention("kinect_v1")


def test_sparse_video_gathers_the_same_points_as_depth_to_points():
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 3000, size=(3, 5, 8)).astype(np.uint16)
    frames[1] = 0
    video = SparseDepthVideo(frames, SMALL)
    assert video.num_frames == 3 and video.counts.tolist() == [np.count_nonzero(f) for f in frames]
    for f in range(3):
        np.testing.assert_allclose(video.frame_points(f), depth_to_points(frames[f], SMALL))
    capped = SparseDepthVideo(frames, SMALL, max_points=5, rng=np.random.default_rng(0))
    assert capped.counts.tolist() == [5, 0, 5]
    rebuilt = SparseDepthVideo.from_arrays(**video.arrays(), intrinsics=SMALL, depth_unit=1e-3)
    np.testing.assert_array_equal(rebuilt.frame_points(2), video.frame_points(2))


# -- the real NTU clip ----------------------------------------------------------
@pytest.fixture(scope="module")
def ntu_depth_frames(shared_data):
    video = shared_data / "ntu_sample" / "nturgb+d_depth_masked" / "S001C001P001R001A058"
    if not video.is_dir():
        skip_or_fail(f"NTU sample not found at {video}")
    return list_depth_frames(video)


def test_ntu_sample_points_kinect_v2(ntu_depth_frames):
    assert len(ntu_depth_frames) == 71
    for path in ntu_depth_frames[::10]:
        mm = read_depth_png(path)
        assert mm.shape == (424, 512) and mm.dtype == np.uint16
        # independent computation: Kinect v2 depth intrinsics, mm -> m
        rows, cols = np.nonzero(mm)
        z = mm[rows, cols].astype(np.float64) / 1000.0
        ref = np.stack([(cols - 257.346) * z / 365.481, (rows - 210.347) * z / 365.481, z], axis=1)
        pts = depth_to_points(mm, KINECT_V2_DEPTH)
        assert pts.shape[0] == np.count_nonzero(mm) > 5000
        np.testing.assert_allclose(pts, ref, rtol=1e-5, atol=1e-5)
        # the performer stands 3.3-4.2 m from the camera and is ~1.2-2 m tall in this view
        assert 3.3 <= pts[:, 2].min() and pts[:, 2].max() <= 4.2
        assert 1.0 < np.ptp(pts[:, 1]) < 2.0


def test_ntu_sample_points_pstnet_convention(ntu_depth_frames):
    mm = read_depth_png(ntu_depth_frames[0])
    rows, cols = np.nonzero(mm)
    z = mm[rows, cols] / 65535.0 * 100.0  # matplotlib's PNG reader (/65535), then PSTNet's loader (*100)
    ref = np.stack([(cols - 256) / 280 * z, (rows - 212) / 280 * z, z], axis=1)
    intr, scale = convention("pstnet")
    assert intr == PSTNET_NTU and scale == PSTNET_NTU_SCALE
    np.testing.assert_allclose(depth_to_points(mm, intr, scale=scale), ref, rtol=1e-5, atol=1e-5)
