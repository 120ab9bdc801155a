"""image_transport's compressed images (JPEG / PNG colour, compressedDepth PNG / RVL) -> raw images."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from vg4d_ros.pipeline.compressed import (RawImage, as_raw_image, encode_colour, encode_depth, is_compressed,
                                          rvl_decode, rvl_encode)
from vg4d_ros.pipeline.decode import (MessageError, depth_image_to_array, depth_image_to_points, mask_image_to_array,
                                      raster_stride, rgb_image_to_array)
from vg4d_core.data.depth import CameraIntrinsics

HEADER = SimpleNamespace(stamp=SimpleNamespace(sec=5, nanosec=7), frame_id="cam")


def compressed(fields: dict) -> SimpleNamespace:
    return SimpleNamespace(header=fields["header"], format=fields["format"], data=fields["data"])


def depth_scene(seed=0, h=48, w=64) -> np.ndarray:
    """uint16 mm with holes (runs of zeros) and smooth and jumpy parts, as a depth camera gives."""
    rng = np.random.default_rng(seed)
    d = (1500 + 800 * np.sin(np.arange(w) / 9.0)[None, :] + 30 * np.arange(h)[:, None]).astype(np.int64)
    d += rng.integers(-3, 4, size=d.shape)
    d[rng.random(d.shape) < 0.15] = 0
    d[10:20, 5:30] = 0
    d[30:, 40:] = 60000  # a far wall: large deltas both ways
    return d.clip(0, 65535).astype(np.uint16)


def test_rvl_decodes_a_stream_written_by_hand():
    # 1 x 4 image [0, 0, 5, 6]: 2 zeros, 2 non-zeros, deltas +5 (zig-zag 10 = groups 010, 001: nibbles
    # 0xA, 0x1) and +1 (zig-zag 2: nibble 0x2); nibbles 2 2 A 1 2, padded to one word 0x22A12000
    payload = np.array([4, 1], "<u4").tobytes() + np.array([0x22A12000], "<u4").tobytes()
    assert rvl_decode(np.frombuffer(payload, np.uint8)).tolist() == [[0, 0, 5, 6]]
    assert rvl_encode(np.array([[0, 0, 5, 6]], np.uint16)) == payload


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rvl_round_trips_depth_with_holes_and_jumps(seed):
    d = depth_scene(seed)
    assert np.array_equal(rvl_decode(np.frombuffer(rvl_encode(d), np.uint8)), d)


def test_rvl_edge_images_round_trip():
    for d in (np.zeros((3, 5), np.uint16), np.full((2, 7), 65535, np.uint16),
              np.array([[65535, 1, 65535, 0, 1]], np.uint16)):
        assert np.array_equal(rvl_decode(np.frombuffer(rvl_encode(d), np.uint8)), d)


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_compressed_16uc1_depth_is_the_raw_depth_exactly(codec):
    d = depth_scene()
    msg = compressed(encode_depth(d, HEADER, codec))
    assert msg.format == f"16UC1; compressedDepth {codec}"
    assert is_compressed(msg)
    raw = as_raw_image(msg, "depth")
    assert isinstance(raw, RawImage) and raw.encoding == "16UC1" and raw.header is HEADER
    assert np.array_equal(depth_image_to_array(msg), d)
    assert np.array_equal(depth_image_to_array(msg, stride=3), d[::3, ::3])
    assert raster_stride(msg, 48 * 64 // 4) == 2


def test_the_older_format_spelling_is_png():
    fields = encode_depth(depth_scene(), HEADER, "png")
    fields["format"] = "16UC1; compressedDepth"
    assert np.array_equal(depth_image_to_array(compressed(fields)), depth_scene())


def test_compressed_32fc1_depth_is_inverse_depth_within_its_quantisation():
    rng = np.random.default_rng(0)
    metres = rng.uniform(0.5, 6.0, size=(30, 40)).astype(np.float32)
    metres[0, :5] = np.nan
    metres[1, :5] = 12.0  # beyond depth_max: no data
    for codec in ("png", "rvl"):
        got = depth_image_to_array(compressed(encode_depth(metres, HEADER, codec, depth_max_m=10.0)))
        assert got.dtype == np.float32
        assert np.isnan(got[0, :5]).all() and np.isnan(got[1, :5]).all()
        ok = np.isfinite(metres) & (metres < 10)
        # quantisation step of A / z + B at depth z is z^2 / A (A = 100 * 101): < 4 mm at 6 m
        assert np.all(np.abs(got[ok] - metres[ok]) <= metres[ok] ** 2 / (100 * 101) + 1e-4)


def test_points_of_compressed_depth_equal_the_raw_images():
    d = depth_scene()
    raw_msg = SimpleNamespace(header=HEADER, height=48, width=64, encoding="16UC1", is_bigendian=0, step=128,
                              data=d.tobytes())
    cam = CameraIntrinsics(fx=50.0, fy=50.0, cx=32.0, cy=24.0, width=64, height=48)
    a = depth_image_to_points(raw_msg, cam, stride=2)
    b = depth_image_to_points(compressed(encode_depth(d, HEADER, "rvl")), cam, stride=2)
    assert np.array_equal(a, b) and a.shape[0] > 100


def test_jpeg_colour_decodes_to_rgb_in_the_right_channel_order():
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :16] = (230, 20, 20)  # red
    rgb[:, 16:32] = (20, 230, 20)
    rgb[:, 32:] = (20, 20, 230)  # blue
    msg = compressed(encode_colour(rgb, HEADER, "jpeg", quality=95))
    assert msg.format == "rgb8; jpeg compressed bgr8"
    got = rgb_image_to_array(msg)
    assert got.shape == (32, 48, 3) and got.dtype == np.uint8
    centre = got[:, 4:12].reshape(-1, 3).mean(0), got[:, 36:44].reshape(-1, 3).mean(0)
    assert centre[0][0] > 200 and centre[0][2] < 50 and centre[1][2] > 200 and centre[1][0] < 50
    assert np.abs(got.astype(int) - rgb).mean() < 6
    png = compressed(encode_colour(rgb, HEADER, "png"))
    assert np.array_equal(rgb_image_to_array(png), rgb)  # lossless


def test_plain_jpeg_and_png_formats_and_a_png_mask():
    import cv2

    rgb = np.full((8, 8, 3), (10, 200, 90), np.uint8)
    ok, buf = cv2.imencode(".png", rgb[:, :, ::-1])
    assert np.array_equal(rgb_image_to_array(SimpleNamespace(header=HEADER, format="png", data=buf.tobytes())), rgb)
    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 3:6] = 2
    ok, buf = cv2.imencode(".png", mask)
    got = mask_image_to_array(SimpleNamespace(header=HEADER, format="mono8; png compressed mono8", data=buf.tobytes()))
    assert np.array_equal(got, mask != 0)


def test_a_raw_image_passes_through():
    raw = SimpleNamespace(header=HEADER, height=1, width=1, encoding="16UC1", is_bigendian=0, step=2, data=b"\x01\x00")
    assert as_raw_image(raw) is raw and not is_compressed(raw)


@pytest.mark.parametrize("case, match", [
    ("truncated_png", "do not decode as png"),
    ("header_only", "not even the 12-byte header"),
    ("unknown_codec", "unknown compressedDepth codec"),
    ("bad_encoding", "not a compressedDepth encoding"),
    ("truncated_rvl", "rvl stream"),
    ("rvl_size_lies", "not a plausible image"),
    ("zero_quant", "not usable"),
    ("garbage_jpeg", "do not decode as jpeg"),
    ("no_codec", "not a 'compressed' image format"),
])
def test_bad_compressed_images_name_the_problem(case, match):
    d = depth_scene()
    fields = {
        "truncated_png": lambda: {**encode_depth(d, HEADER, "png"),
                                  "data": encode_depth(d, HEADER, "png")["data"][:60]},
        "header_only": lambda: {**encode_depth(d, HEADER, "png"), "data": bytes(12)},
        "unknown_codec": lambda: {**encode_depth(d, HEADER, "png"), "format": "16UC1; compressedDepth zstd"},
        "bad_encoding": lambda: {**encode_depth(d, HEADER, "png"), "format": "8UC3; compressedDepth png"},
        "truncated_rvl": lambda: {**encode_depth(d, HEADER, "rvl"),
                                  "data": encode_depth(d, HEADER, "rvl")["data"][:-200]},
        "rvl_size_lies": lambda: {**encode_depth(d, HEADER, "rvl"),
                                  "data": bytes(12) + np.array([100000, 100000], "<u4").tobytes() + bytes(40)},
        "zero_quant": lambda: {**encode_depth(d.astype(np.float32) / 1000, HEADER, "png"),
                               "data": bytes(12) + encode_depth(d, HEADER, "png")["data"][12:]},
        "garbage_jpeg": lambda: {"header": HEADER, "format": "bgr8; jpeg compressed bgr8", "data": b"\xff\xd8junk"},
        "no_codec": lambda: {"header": HEADER, "format": "bgr8", "data": b"\x00" * 10},
    }[case]()
    with pytest.raises(MessageError, match=match):
        depth_image_to_array(compressed(fields)) if "depth" in fields["format"].lower() \
            else rgb_image_to_array(compressed(fields))


def test_importing_the_decoders_leaves_numba_unimported():
    # the node points numba's cache at $ROS_HOME when it configures; numba reads that when first imported
    import subprocess
    import sys

    code = ("import sys, vg4d_ros.pipeline.compressed, vg4d_ros.pipeline.recognizer; "
            "sys.exit(1 if 'numba' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
