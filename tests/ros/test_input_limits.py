"""Oversized input (a 4K depth image, a 10 MB cloud) is reduced before conversion; normal sizes are not touched.

Also: no setting can make the recogniser hang (the upper bounds of the validator). No wall-clock is asserted:
the costs are figures of ``python -m vg4d_ros.programs.bench_decode --input-limits``.
"""
from __future__ import annotations

import numpy as np
import pytest

from recognizer_helpers import FRAMES, camera_info_msg, depth_msg, header, tiny_checkpoint
from vg4d_core.config import ConfigError
from vg4d_core.data.depth import CameraIntrinsics, depth_to_points
from vg4d_ros.config import load_recognizer_config
from vg4d_ros.pipeline.decode import (depth_image_to_points, mask_image_to_array, pointcloud2_to_xyz, stride_within,
                              strided_intrinsics)
from vg4d_ros.pipeline.foreground import ForegroundConfig, foreground_keep
from vg4d_ros.pipeline.recognizer import Recognizer
from vg4d_ros.pipeline.model import load_model
from vg4d_ros.typestore import ros_typestore

PERIOD, T0 = 33_333_333, 5_000_000_000


@pytest.fixture(scope="module")
def ts():
    return ros_typestore()


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt")


def frame_points(msg, intr, limit):
    """The frame converter's decoding step alone: (points, pixels, stride) under a limit of ``limit``."""
    from vg4d_core.data.input_transform import InputTransform
    from vg4d_ros.pipeline.convert import FrameConverter

    conv = FrameConverter(InputTransform(input="cloud" if intr is None else "depth", max_depth_pixels=limit,
                                         max_cloud_points=limit))
    conv.intrinsics = intr
    return conv.points(msg)


def image(ts, array: np.ndarray, encoding: str, stamp: int = T0):
    """(H, W) uint16 / uint8 array -> sensor_msgs/Image (no row padding)."""
    h, w = array.shape
    return ts.types["sensor_msgs/msg/Image"](header=header(ts, stamp), height=h, width=w, encoding=encoding,
                                             is_bigendian=0, step=w * array.itemsize,
                                             data=np.ascontiguousarray(array).view(np.uint8).reshape(-1))


def cloud(ts, xyz: np.ndarray, height: int = 1, stamp: int = T0):
    """(height * width, 3) float32 -> a PointCloud2 of 12-byte points."""
    PF = ts.types["sensor_msgs/msg/PointField"]
    width = xyz.shape[0] // height
    return ts.types["sensor_msgs/msg/PointCloud2"](
        header=header(ts, stamp), height=height, width=width, is_bigendian=False, point_step=12, row_step=12 * width,
        fields=[PF(name=c, offset=4 * i, datatype=7, count=1) for i, c in enumerate("xyz")],
        data=np.ascontiguousarray(xyz, np.float32).view(np.uint8).reshape(-1), is_dense=False)


def room(h: int, w: int, seed: int = 0) -> np.ndarray:
    """(h, w) uint16 mm: a person-sized 1.5 m block in front of a 3 m wall, with holes."""
    rng = np.random.default_rng(seed)
    depth = np.full((h, w), 3000, np.uint16)
    depth[h // 5: 4 * h // 5, 2 * w // 5: 3 * w // 5] = 1500
    depth[rng.random((h, w)) < 0.2] = 0
    return depth


@pytest.mark.parametrize("h, w, limit, stride", [(2160, 3840, 921_600, 3), (720, 1280, 921_600, 1),
                                                 (424, 512, 921_600, 1), (1, 873_813, 500_000, 2),
                                                 (480, 640, 1024, 18), (7, 5, 1, 7)])
def test_the_stride_is_the_smallest_that_fits(h, w, limit, stride):
    assert stride_within(h, w, limit) == stride
    fits = lambda s: -(-h // s) * -(-w // s) <= limit  # noqa: E731
    assert fits(stride) and (stride == 1 or not fits(stride - 1))


@pytest.mark.parametrize("stride", [2, 3, 5])
def test_strided_backprojection_is_the_strided_image_with_scaled_intrinsics(ts, stride):
    depth = room(47, 61)
    msg = image(ts, depth, "16UC1")
    intr = CameraIntrinsics(fx=52.0, fy=55.0, cx=30.3, cy=22.7, width=61, height=47)
    points, pixels = depth_image_to_points(msg, intr, stride=stride, return_pixels=True)
    # = back-projecting the strided image with the strided camera (focal lengths and centre / s)
    expected, expected_pixels = depth_to_points(depth[::stride, ::stride], strided_intrinsics(intr, stride),
                                                return_pixels=True)
    np.testing.assert_array_equal(points, expected)
    np.testing.assert_array_equal(pixels, expected_pixels)
    # = the full image's points at the kept pixels (s u', s v'): the same 3-D points, not an approximation
    full, full_pixels = depth_image_to_points(msg, intr, return_pixels=True)
    on_grid = (full_pixels % stride == 0).all(axis=1)
    np.testing.assert_array_equal(full_pixels[on_grid], pixels * stride)
    np.testing.assert_allclose(points, full[on_grid], rtol=1e-6, atol=1e-6)


def test_a_strided_cloud_is_the_kept_rows_and_columns_and_still_drops_nan(ts):
    rng = np.random.default_rng(1)
    xyz = rng.normal(size=(30 * 40, 3)).astype(np.float32)
    xyz[7] = np.nan
    organised = cloud(ts, xyz, height=30)
    grid = xyz.reshape(30, 40, 3)[::3, ::3].reshape(-1, 3)
    np.testing.assert_array_equal(pointcloud2_to_xyz(organised, stride=3), grid[np.isfinite(grid).all(axis=1)])
    flat = xyz[::4]
    np.testing.assert_array_equal(pointcloud2_to_xyz(cloud(ts, xyz), stride=4), flat[np.isfinite(flat).all(axis=1)])
    np.testing.assert_array_equal(pointcloud2_to_xyz(organised), xyz[np.isfinite(xyz).all(axis=1)])


def test_a_mask_strided_with_the_depth_selects_the_same_points(ts):
    depth = room(150, 200)
    mask = np.zeros(depth.shape, np.uint8)
    mask[20:140, 70:130] = 255
    msg, mask_msg = image(ts, depth, "16UC1"), image(ts, mask, "mono8")
    intr = CameraIntrinsics(fx=180.0, fy=180.0, cx=100.0, cy=75.0, width=200, height=150)
    fg = ForegroundConfig(use_mask=True)
    points, pixels, stride = frame_points(msg, intr, 4096)  # 30000 pixels -> stride 3
    assert stride == 3
    kept = points[foreground_keep(points, fg, pixels=pixels, mask=mask_image_to_array(mask_msg, stride=stride))]
    full, full_pixels = depth_image_to_points(msg, intr, return_pixels=True)
    full_kept = foreground_keep(full, fg, pixels=full_pixels, mask=mask_image_to_array(mask_msg))
    on_grid = (full_pixels % stride == 0).all(axis=1)
    assert 0 < kept.shape[0] < points.shape[0]
    np.testing.assert_allclose(kept, full[full_kept & on_grid], rtol=1e-6, atol=1e-6)


def test_sensor_sized_images_are_converted_whole_bit_identical(ts):
    from vg4d_ros.config import InputLimits

    for h, w in [(424, 512), (480, 640), (720, 1280)]:
        msg = image(ts, room(h, w), "16UC1")
        intr = CameraIntrinsics(fx=365.0, fy=365.0, cx=w / 2, cy=h / 2, width=w, height=h)
        points, pixels, stride = frame_points(msg, intr, InputLimits().max_depth_pixels)
        before, before_pixels = depth_image_to_points(msg, intr, return_pixels=True)  # today's conversion
        assert stride == 1
        np.testing.assert_array_equal(points, before)
        np.testing.assert_array_equal(pixels, before_pixels)


def run(cfg, model, messages):
    """Feed (role, message) pairs through a started Recognizer; -> (results, stats, [(level, text)] logged)."""
    results, log = [], []
    rec = Recognizer(cfg, model, results.append, log=lambda level, text: log.append((level, text)))
    rec.start()
    try:
        for role, msg in messages:
            getattr(rec, f"on_{role}")(msg)
            rec.wait_idle(60)
    finally:
        rec.stop()
    return results, rec.stats(), log


def config(ckpt, *overrides):
    return load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={ckpt}", "inference.device=cpu", "window.min_coverage=0",
                                                             "window.hop_frames=6", "window.min_frames=6", *overrides])


def test_a_4k_depth_stream_is_reduced_and_labelled(ts, ckpt):
    h, w = 2160, 3840
    cfg = config(ckpt)
    info = camera_info_msg(ts, T0)
    info.height, info.width = h, w
    info.k = np.array([1800.0, 0, w / 2, 0, 1800.0, h / 2, 0, 0, 1])
    depth = room(h, w)  # one 16 MB payload; each message is a view of it with its own stamp
    frames = [("depth", image(ts, depth, "16UC1", T0 + i * PERIOD)) for i in range(6)]
    results, stats, log = run(cfg, load_model(cfg), [("camera_info", info)] + frames)
    assert len(results) == 1 and results[0].top_k
    assert stats["frames_reduced"] == 6 and stats["input_stride"] == 3 and stats["malformed_total"] == 0
    said = [text for _, text in log if "input_limits.max_depth_pixels=921600" in text]
    assert len(said) == 1 and "one row and column in 3 is used" in said[0], log


def test_a_normal_depth_stream_is_not_reduced(ts, ckpt):
    cfg = config(ckpt)
    frames = [("depth", depth_msg(ts, i, T0 + i * PERIOD)) for i in range(6)]
    results, stats, _ = run(cfg, load_model(cfg), [("camera_info", camera_info_msg(ts, T0))] + frames)
    assert len(results) == 1 and stats["frames_reduced"] == 0 and stats["input_stride"] == 1


def test_a_10mb_cloud_stream_is_reduced_and_labelled(ts, ckpt):
    n = 10 * 2 ** 20 // 12  # 873,813 points of 12 bytes: 10 MB
    rng = np.random.default_rng(2)
    xyz = np.column_stack([rng.uniform(-0.3, 0.3, n), rng.uniform(-0.9, 0.9, n), rng.uniform(1.4, 1.6, n)])
    xyz = xyz.astype(np.float32)
    cfg = config(ckpt, "input=cloud")
    frames = [("cloud", cloud(ts, xyz, stamp=T0 + i * PERIOD)) for i in range(6)]
    results, stats, log = run(cfg, load_model(cfg), frames)
    assert len(results) == 1 and results[0].top_k
    assert stats["frames_reduced"] == 6 and stats["input_stride"] == 2 and stats["malformed_total"] == 0
    assert any("input_limits.max_cloud_points=500000" in text for _, text in log)


@pytest.mark.parametrize("override", [
    "input_limits.max_depth_pixels=0", "input_limits.max_depth_pixels=100000000", "input_limits.max_cloud_points=10",
    "window.rate_hz=0.0001", "window.rate_hz=1e9", "window.max_frames=1000000", "window.num_frames=100000",
    "window.window_s=1e300", "window.fallback_window_s=1e300", "guards.stamp_gap_s=1e300",
    "guards.stamp_jump_back_s=1e300", "sync.queue_size=100000000", "qos.sensor_depth=100000000",
    "inference.threads=100000", "foreground.floor_iterations=10000000", "foreground.floor_sample=100000000",
    "sync.slop_s=1e300", "output.diagnostics_period_s=1e-300", "silence_timeout_s=1e300",
])
def test_no_setting_can_make_the_recogniser_hang(override):
    field = override.split("=")[0]
    with pytest.raises(ConfigError) as info:
        load_recognizer_config(None, [override])
    assert field.split(".")[-1] in str(info.value) and "\n" not in str(info.value)


def test_the_defaults_and_typical_settings_pass():
    load_recognizer_config("config/recognize.yaml", ["window.rate_hz=30", "window.max_frames=1000",
                                                     "window.min_frames=1000", "window.window_s=100",
                                                     f"window.num_frames={FRAMES}"])
