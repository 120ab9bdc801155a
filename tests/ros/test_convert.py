"""Message conversion: PointCloud2, depth / colour / mask images, CameraInfo."""
from __future__ import annotations

import array
from types import SimpleNamespace as NS

import numpy as np
import pytest

from vg4d_core.data.depth import CameraIntrinsics
from vg4d_ros.pipeline.decode import (MessageError, camera_intrinsics, depth_image_to_array, depth_image_to_points,
                              mask_image_to_array, pointcloud2_to_xyz, rgb_image_to_array, stamp_ns)

F32, F64, U8 = 7, 8, 2


def field(name, offset, datatype, count=1):
    return NS(name=name, offset=offset, datatype=datatype, count=count)


def cloud(data: bytes, fields, *, height, width, point_step, row_step, big=False):
    return NS(header=None, height=height, width=width, fields=fields, is_bigendian=big, point_step=point_step,
              row_step=row_step, data=data, is_dense=False)


def test_pointcloud2_mixed_types_padding_organised_and_nan():
    # point: x f64 @0, intensity u8 @8, z f32 @12, y f32 @16, pad to 24; 2 rows x 2 cols, rows padded by 8
    pt = np.dtype([("x", "<f8"), ("i", "u1"), ("pad", "V3"), ("z", "<f4"), ("y", "<f4"), ("pad2", "V4")])
    assert pt.itemsize == 24
    rows = []
    vals = [[(1.0, 2.0, 3.0), (np.nan, 1.0, 1.0)], [(4.0, 5.0, 6.0), (7.0, 8.0, np.inf)]]
    for r in vals:
        a = np.zeros(2, pt)
        a["x"], a["y"], a["z"] = zip(*r)
        rows.append(a.tobytes() + b"\xee" * 8)
    msg = cloud(b"".join(rows), [field("x", 0, F64), field("intensity", 8, U8), field("z", 12, F32),
                                  field("y", 16, F32)], height=2, width=2, point_step=24, row_step=56)
    xyz = pointcloud2_to_xyz(msg)
    assert xyz.dtype == np.float32
    np.testing.assert_array_equal(xyz, [[1, 2, 3], [4, 5, 6]])


def test_pointcloud2_big_endian_and_payload_kinds():
    a = np.array([[0.5, -1.0, 2.0], [3.0, 4.0, 5.25]], dtype=">f4")
    fields = [field("x", 0, F32), field("y", 4, F32), field("z", 8, F32)]
    for data in (a.tobytes(), np.frombuffer(a.tobytes(), np.uint8), list(a.tobytes()),
                 array.array("B", a.tobytes())):
        msg = cloud(data, fields, height=1, width=2, point_step=12, row_step=24, big=True)
        np.testing.assert_array_equal(pointcloud2_to_xyz(msg), [[0.5, -1.0, 2.0], [3.0, 4.0, 5.25]])


@pytest.mark.parametrize("change, match", [
    (dict(row_step=20), "row_step=20 < width\\*point_step=24"),
    (dict(data=b"\0" * 20), "data has 20 bytes, expected height\\*row_step=24"),
    (dict(width=0), "empty"),
    (dict(fields=[field("x", 0, F32), field("y", 4, F32)]), "no 'z' field"),
    (dict(fields=[field("x", 0, F32), field("y", 4, F32), field("z", 8, 5)]), "datatype=5"),
    (dict(fields=[field("x", 0, F32), field("y", 4, F32), field("z", 10, F32)]), "does not fit point_step"),
])
def test_pointcloud2_malformed(change, match):
    kw = dict(data=b"\0" * 24, fields=[field("x", 0, F32), field("y", 4, F32), field("z", 8, F32)],
              height=1, width=2, point_step=12, row_step=24)
    kw.update(change)
    data, fields = kw.pop("data"), kw.pop("fields")
    with pytest.raises(MessageError, match=match):
        pointcloud2_to_xyz(cloud(data, fields, **kw))


def image(enc, arr_bytes, *, height, width, step, big=False):
    return NS(header=None, height=height, width=width, encoding=enc, is_bigendian=big, step=step, data=arr_bytes)


def test_depth_16uc1_padded_rows_and_big_endian():
    d = np.array([[0, 1000, 2000], [1500, 0, 65535]], dtype=np.uint16)
    for big in (False, True):
        raw = d.astype(">u2" if big else "<u2").tobytes()
        padded = raw[:6] + b"\xab\xcd" + raw[6:] + b"\xab\xcd"
        out = depth_image_to_array(image("16UC1", padded, height=2, width=3, step=8, big=big))
        assert out.dtype == np.uint16 and out.dtype.isnative
        np.testing.assert_array_equal(out, d)


def test_depth_32fc1():
    d = np.array([[np.nan, 1.5], [2.0, 0.25]], dtype=np.float32)
    out = depth_image_to_array(image("32FC1", d.tobytes(), height=2, width=2, step=8))
    np.testing.assert_array_equal(out, d)


def info(k, width=3, height=2):
    return NS(width=width, height=height, k=k, d=[], distortion_model="plumb_bob")


def test_depth_to_points_hand_computed():
    # fx=2, fy=4, cx=1, cy=0.5; pixel (u=1, v=0) z=1 m; (u=2, v=1) z=2 m; (u=0, v=1) 0 = invalid
    d = np.array([[0, 1000, 0], [0, 0, 2000]], dtype=np.uint16)
    msg = image("16UC1", d.tobytes(), height=2, width=3, step=6)
    pts, px = depth_image_to_points(msg, info([2, 0, 1, 0, 4, 0.5, 0, 0, 1]), return_pixels=True)
    np.testing.assert_allclose(pts, [[0.0, -0.125, 1.0], [1.0, 0.25, 2.0]], rtol=0, atol=1e-7)
    np.testing.assert_array_equal(px, [[1, 0], [2, 1]])
    intr = CameraIntrinsics(fx=2, fy=4, cx=1, cy=0.5)
    np.testing.assert_array_equal(depth_image_to_points(msg, intr, max_depth=1.5), pts[:1])
    f = image("32FC1", (d.astype(np.float32) / 1000).tobytes(), height=2, width=3, step=12)
    np.testing.assert_allclose(depth_image_to_points(f, intr), pts, atol=1e-7)


def test_camera_info_errors():
    with pytest.raises(MessageError, match="CameraInfo.*fx must be a positive focal length"):
        camera_intrinsics(info([0, 0, 1, 0, 4, 0.5, 0, 0, 1]))
    with pytest.raises(MessageError, match="9 values"):
        camera_intrinsics(info([1, 2, 3]))
    msg = image("16UC1", b"\0" * 12, height=2, width=3, step=6)
    with pytest.raises(MessageError, match="3x2 but the intrinsics are for 4x2"):
        depth_image_to_points(msg, info([2, 0, 1, 0, 4, 0.5, 0, 0, 1], width=4))


@pytest.mark.parametrize("enc, ch, order", [("rgb8", 3, [0, 1, 2]), ("bgr8", 3, [2, 1, 0]),
                                            ("rgba8", 4, [0, 1, 2]), ("bgra8", 4, [2, 1, 0])])
def test_rgb_encodings_padded(enc, ch, order):
    src = np.arange(2 * 3 * ch, dtype=np.uint8).reshape(2, 3, ch)
    raw = b"".join(src[r].tobytes() + b"\xff" * 5 for r in range(2))
    out = rgb_image_to_array(image(enc, raw, height=2, width=3, step=3 * ch + 5))
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, src[:, :, order])
    np.testing.assert_array_equal(out[0, 1], src[0, 1, order])


def test_mono8_replicated_and_mask():
    src = np.array([[0, 7], [255, 1]], dtype=np.uint8)
    out = rgb_image_to_array(image("mono8", src.tobytes(), height=2, width=2, step=2))
    np.testing.assert_array_equal(out, np.repeat(src[:, :, None], 3, axis=2))
    m = mask_image_to_array(image("16UC1", np.array([[0, 300], [1, 0]], "<u2").tobytes(), height=2, width=2,
                                  step=4))
    np.testing.assert_array_equal(m, [[False, True], [True, False]])


@pytest.mark.parametrize("kw, match", [
    (dict(enc="bayer_rggb8", step=6), "encoding='bayer_rggb8' is not supported"),
    (dict(enc="rgb8", step=5), "step=5 < width\\*bytes_per_pixel=6"),
    (dict(enc="rgb8", step=6, nbytes=11), "data has 11 bytes, expected height\\*step=12"),
])
def test_image_malformed(kw, match):
    msg = image(kw["enc"], b"\0" * kw.get("nbytes", 12), height=2, width=2, step=kw["step"])
    with pytest.raises(MessageError, match="sensor_msgs/Image\\(rgb\\).*" + match):
        rgb_image_to_array(msg)
    with pytest.raises(MessageError, match="not a depth encoding"):
        depth_image_to_array(image("bgr8", b"\0" * 12, height=2, width=2, step=6))


def test_rosbags_messages_convert(typestore):
    ts = typestore
    Header, Time = ts.types["std_msgs/msg/Header"], ts.types["builtin_interfaces/msg/Time"]
    Image = ts.types["sensor_msgs/msg/Image"]
    d = np.array([[1000, 0]], dtype="<u2")
    msg = Image(header=Header(stamp=Time(sec=2, nanosec=5), frame_id="cam"), height=1, width=2,
                encoding="16UC1", is_bigendian=0, step=4, data=np.frombuffer(d.tobytes(), np.uint8))
    raw = ts.serialize_cdr(msg, "sensor_msgs/msg/Image")
    back = ts.deserialize_cdr(raw, "sensor_msgs/msg/Image")
    np.testing.assert_array_equal(depth_image_to_array(back), d)
    assert stamp_ns(back) == 2_000_000_005


def test_person_fit_crops_registered_colour_around_the_depth_foreground():
    # rgb_fit "person" (the synthetic recipes): the square goes around the foreground's pixels, scaled to a
    # colour image of another size with the same field of view (registered / aligned depth)
    from vg4d_core.data.input_transform import InputTransform
    from vg4d_ros.pipeline.convert import FrameConverter

    h, w = 48, 64
    depth = np.zeros((h, w), np.uint16)
    depth[10:34, 44:52] = 2000  # a person 24 x 8 px, right of centre
    colour = np.full((2 * h, 2 * w, 3), 80, np.uint8)  # twice the size: rgb8
    colour[20:68, 88:104] = (230, 20, 20)  # the same person, red
    conv = FrameConverter(InputTransform(input="depth", rgb_size=32, rgb_fit="person",
                                         foreground={"min_depth": 0.0, "max_depth": 0.0}))
    conv.set_camera_info(info([50.0, 0, 32.0, 0, 50.0, 24.0, 0, 0, 1], width=w, height=h))
    msg = image("16UC1", depth.tobytes(), height=h, width=w, step=2 * w)
    rgb = image("rgb8", colour.tobytes(), height=2 * h, width=2 * w, step=6 * w)
    frame = conv.convert(1, msg, rgb)
    red = frame.rgb[:, :, 0] > 150
    rows, cols = np.flatnonzero(red.any(axis=1)), np.flatnonzero(red.any(axis=0))
    # the person's long side spans 1 / 1.3 of the square, centred
    assert abs(rows[-1] + 1 - rows[0] - 32 / 1.3) <= 1.5 and abs((cols[0] + cols[-1] + 1) / 2 - 16) <= 1
    # the full frame's centre crop would show it small and off centre
    centre = FrameConverter(InputTransform(input="depth", rgb_size=32, rgb_fit="crop",
                                           foreground={"min_depth": 0.0, "max_depth": 0.0}))
    centre.set_camera_info(info([50.0, 0, 32.0, 0, 50.0, 24.0, 0, 0, 1], width=w, height=h))
    assert (centre.convert(1, msg, rgb).rgb[:, :, 0] > 150).sum() * 2 < red.sum()
    # an empty foreground: the centre crop, as training falls back
    empty = image("16UC1", np.zeros((h, w), np.uint16).tobytes(), height=h, width=w, step=2 * w)
    assert np.array_equal(conv.convert(2, empty, rgb).rgb, centre.convert(2, empty, rgb).rgb)


def _yuv422(rgb: np.ndarray, order: str) -> bytes:
    """A reference encoder: (H, W, 3) RGB, W even -> packed 4:2:2 rows (BT.601, studio swing: Y 16-235,
    U and V 16-240 around 128; chroma of each pixel pair from its mean colour)."""
    f = rgb.astype(np.float64) / 255.0
    y = 16 + 65.481 * f[..., 0] + 128.553 * f[..., 1] + 24.966 * f[..., 2]
    pair = (f[:, 0::2] + f[:, 1::2]) / 2
    u = 128 - 37.797 * pair[..., 0] - 74.203 * pair[..., 1] + 112.0 * pair[..., 2]
    v = 128 + 112.0 * pair[..., 0] - 93.786 * pair[..., 1] - 18.214 * pair[..., 2]
    y0, y1 = y[:, 0::2], y[:, 1::2]
    parts = (u, y0, v, y1) if order == "uyvy" else (y0, u, y1, v)
    return np.clip(np.rint(np.stack(parts, axis=-1)), 0, 255).astype(np.uint8).reshape(rgb.shape[0], -1)


@pytest.mark.parametrize("enc, order", [("yuv422", "uyvy"), ("uyvy", "uyvy"), ("yuv422_yuy2", "yuyv"),
                                        ("yuyv", "yuyv")])
def test_packed_yuv422_colour_of_webcams(enc, order):
    # each pixel pair one colour (4:2:2 keeps one chroma per pair): the decoded image is that colour
    rng = np.random.default_rng(0)
    rgb = np.repeat(rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8), 2, axis=1)  # 3 x 8
    rows = _yuv422(rgb, order)
    raw = b"".join(r.tobytes() + b"\x80" * 6 for r in rows)  # rows padded by 6 bytes
    out = rgb_image_to_array(image(enc, raw, height=3, width=8, step=8 * 2 + 6))
    assert out.shape == (3, 8, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.abs(out.astype(int) - rgb).max() <= 3  # 8-bit YUV rounding
    # the two byte orders are not interchangeable: read the other way, the colours are wrong
    other = "yuv422_yuy2" if order == "uyvy" else "yuv422"
    assert np.abs(rgb_image_to_array(image(other, raw, height=3, width=8, step=22)).astype(int) - rgb).max() > 30
    with pytest.raises(MessageError, match="packs pixels in pairs: width 3 must be even"):
        rgb_image_to_array(image(enc, b"\0" * 12, height=2, width=3, step=6))
    with pytest.raises(MessageError, match="encoding='nv12' is not supported; use one of .*'yuv422'"):
        rgb_image_to_array(image("nv12", b"\0" * 12, height=2, width=4, step=6))
