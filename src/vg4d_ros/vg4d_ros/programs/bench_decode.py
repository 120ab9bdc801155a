"""Per-message decode cost of the ROS inputs: rosbags CDR and the DDS path.

:func:`bench_decode` times, for a 512x424 ``16UC1`` depth image, a 640x480
``bgr8`` image, a 30k-point ``PointCloud2`` and 640x480 ``CompressedImage`` s (``compressedDepth``
PNG and RVL of a room's depth, JPEG colour):

* ``cdr``: rosbags ``deserialize_cdr`` of the serialised message plus the
  conversion to numpy (:mod:`vg4d_ros.pipeline.decode`) - the bag-replay cost;
* ``dds``: the same message published in-process over cyclonedds and taken
  by :class:`~vg4d_ros.transports.dds.DdsSubscriber` (raw take + deserialise +
  convert), timed from just before take to the numpy array - the live
  subscriber's decode cost (the write is timed separately as ``dds_write``).

Returns ``{case: {path: median_ms}}``; the median of ``repeats`` runs after
one warm-up. No wall-clock assertion is made anywhere; the figures are for
``vg4d bench node`` and the README.

:func:`bench_input_limits` times what ``config.input_limits`` saves: a
3840x2160 ``16UC1`` depth image and a 10 MB ``PointCloud2`` (874k points of
12 bytes) from the message to its foreground points (the recogniser's
:class:`~vg4d_ros.pipeline.convert.FrameConverter`, default foreground), converted
whole and reduced by the default limits::

    python -m vg4d_ros.programs.bench_decode --input-limits
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

import numpy as np

from vg4d_core.data.depth import CameraIntrinsics
from vg4d_core.data.input_transform import InputTransform
from vg4d_ros.config import ForegroundSettings, InputLimits
from vg4d_ros.pipeline.convert import FrameConverter
from vg4d_ros.pipeline.decode import depth_image_to_array, pointcloud2_to_xyz, rgb_image_to_array
from vg4d_ros.pipeline.compressed import encode_colour, encode_depth
from vg4d_ros.transports.dds import DdsPublisher, DdsSubscriber, participant
from vg4d_ros.typestore import ros_typestore
from vg4d_ros.validation import MAX_INPUT_ELEMENTS


def _messages(ts):
    T = ts.types
    rng = np.random.default_rng(0)

    def header(frame):
        return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id=frame)

    depth = rng.integers(0, 8000, size=(424, 512), dtype=np.uint16)
    bgr = rng.integers(0, 256, size=480 * 640 * 3, dtype=np.uint8)
    pts = rng.normal(size=(30000, 4)).astype(np.float32)
    PF = T["sensor_msgs/msg/PointField"]
    fields = [PF(name=n, offset=4 * i, datatype=7, count=1) for i, n in enumerate(("x", "y", "z", "intensity"))]
    # compressed cases: a room-like depth (a slanted wall, noise of a few mm, a third without returns) and
    # a smooth colour image, as a camera gives them (random noise would not compress as real frames do)
    v, u = np.mgrid[0:480, 0:640]
    room = (1500 + 4 * u + 2 * v + rng.integers(-4, 5, size=u.shape)).astype(np.uint16)
    room[:, :200] = 0
    colour = np.stack([(u * 255 // 640), (v * 255 // 480), ((u + v) * 255 // 1120)], axis=-1).astype(np.uint8)

    def packed(fields):
        return T["sensor_msgs/msg/CompressedImage"](header=header("depth"), format=fields["format"],
                                                    data=np.frombuffer(fields["data"], np.uint8))

    return {
        "depth_png_640x480": ("sensor_msgs/msg/CompressedImage", depth_image_to_array,
                              packed(encode_depth(room, None, "png"))),
        "depth_rvl_640x480": ("sensor_msgs/msg/CompressedImage", depth_image_to_array,
                              packed(encode_depth(room, None, "rvl"))),
        "jpeg_640x480": ("sensor_msgs/msg/CompressedImage", rgb_image_to_array, packed(encode_colour(colour))),
        "depth_16uc1_512x424": ("sensor_msgs/msg/Image", depth_image_to_array, T["sensor_msgs/msg/Image"](
            header=header("depth"), height=424, width=512, encoding="16UC1", is_bigendian=0, step=1024,
            data=depth.view(np.uint8).reshape(-1))),
        "bgr8_640x480": ("sensor_msgs/msg/Image", rgb_image_to_array, T["sensor_msgs/msg/Image"](
            header=header("color"), height=480, width=640, encoding="bgr8", is_bigendian=0, step=1920, data=bgr)),
        "pointcloud2_30k": ("sensor_msgs/msg/PointCloud2", pointcloud2_to_xyz, T["sensor_msgs/msg/PointCloud2"](
            header=header("depth"), height=1, width=30000, fields=fields, is_bigendian=False, point_step=16,
            row_step=16 * 30000, data=pts.view(np.uint8).reshape(-1), is_dense=True)),
    }


def _median_ms(fn: Callable[[], float], repeats: int) -> float:
    fn()  # warm-up (codec generation, first allocation)
    return statistics.median(fn() for _ in range(repeats)) * 1e3


def bench_decode(repeats: int = 20, dds: bool = True, domain_id: int | None = None) -> dict[str, dict[str, float]]:
    """Median per-message cost in ms: ``{case: {"cdr": ms, "dds": ms, "dds_write": ms}}``.

    Args:
        repeats: timed runs per figure (after one warm-up).
        dds: also time the cyclonedds path (needs a working DDS; in-process, loopback).
        domain_id: DDS domain for that (default from the pid, in 1..230).
    """
    ts = ros_typestore()
    results: dict[str, dict[str, float]] = {}
    dp = None
    if dds:
        dp = participant(domain_id if domain_id is not None else 1 + os.getpid() % 230)
    for case, (msgtype, convert, msg) in _messages(ts).items():
        raw = ts.serialize_cdr(msg, msgtype).tobytes()

        def cdr() -> float:
            t0 = time.perf_counter()
            convert(ts.deserialize_cdr(raw, msgtype))
            return time.perf_counter() - t0

        results[case] = {"cdr": _median_ms(cdr, repeats)}
        if dp is None:
            continue
        topic = f"/vg4d_bench_{os.getpid()}/{case}"
        sub = DdsSubscriber(dp, topic, msgtype, "results")
        pub = DdsPublisher(dp, topic, msgtype, "results")
        writes: list[float] = []

        def dds_take() -> float:
            t0 = time.perf_counter()
            pub.publish(msg)
            writes.append(time.perf_counter() - t0)
            if not sub.wait(5.0):
                raise RuntimeError(f"bench_decode: no {case} sample came back over DDS")
            t0 = time.perf_counter()
            got = sub.take(1)
            convert(got[0])
            return time.perf_counter() - t0

        results[case]["dds"] = _median_ms(dds_take, repeats)
        results[case]["dds_write"] = statistics.median(writes[1:]) * 1e3
    return results


def _oversized_messages(ts) -> dict[str, tuple[str, object, CameraIntrinsics | None]]:
    """case -> (msgtype, message, intrinsics or None for a cloud): a 4K depth image and a 10 MB cloud of a
    room (0.3 - 6 m, some of it invalid), as a camera at 30 Hz would send them."""
    T = ts.types
    rng = np.random.default_rng(0)
    header = T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="depth")
    h, w = 2160, 3840
    depth = rng.integers(300, 6000, size=(h, w), dtype=np.uint16)
    depth[rng.random((h, w)) < 0.1] = 0  # holes
    image = T["sensor_msgs/msg/Image"](header=header, height=h, width=w, encoding="16UC1", is_bigendian=0,
                                       step=2 * w, data=depth.view(np.uint8).reshape(-1))
    intr = CameraIntrinsics(fx=1800.0, fy=1800.0, cx=w / 2, cy=h / 2, width=w, height=h)
    n = 10 * 2 ** 20 // 12  # 10 MB of 12-byte points
    xyz = np.column_stack([rng.uniform(-3, 3, n), rng.uniform(-2, 2, n), rng.uniform(0.3, 6, n)]).astype(np.float32)
    PF = T["sensor_msgs/msg/PointField"]
    fields = [PF(name=c, offset=4 * i, datatype=7, count=1) for i, c in enumerate("xyz")]
    cloud = T["sensor_msgs/msg/PointCloud2"](header=header, height=1, width=n, fields=fields, is_bigendian=False,
                                             point_step=12, row_step=12 * n, data=xyz.view(np.uint8).reshape(-1),
                                             is_dense=True)
    return {f"depth_16uc1_{w}x{h}": ("sensor_msgs/msg/Image", image, intr),
            f"pointcloud2_{n // 1000}k_12B": ("sensor_msgs/msg/PointCloud2", cloud, None)}


def bench_input_limits(repeats: int = 10, limits: InputLimits | None = None) -> dict[str, dict[str, float]]:
    """Median ms per oversized message, from the message to its foreground points (default depth range).

    Returns ``{case: {"cdr": ms, "whole": ms, "reduced": ms, "stride": s}}``: ``cdr`` is rosbags'
    deserialisation (paid either way), ``whole`` the conversion of every pixel / point, ``reduced`` the
    same under ``limits`` (default :class:`InputLimits`), which read every ``stride``-th row and column.
    """
    limits = limits or InputLimits()
    ts = ros_typestore()
    results: dict[str, dict[str, float]] = {}
    for case, (msgtype, msg, intr) in _oversized_messages(ts).items():
        raw = ts.serialize_cdr(msg, msgtype).tobytes()
        limit = limits.max_depth_pixels if intr is not None else limits.max_cloud_points

        def cdr() -> float:
            t0 = time.perf_counter()
            ts.deserialize_cdr(raw, msgtype)
            return time.perf_counter() - t0

        def converter(max_elements: int) -> FrameConverter:
            conv = FrameConverter(InputTransform(input="cloud" if intr is None else "depth",
                                                 max_depth_pixels=max_elements, max_cloud_points=max_elements,
                                                 foreground=ForegroundSettings().conversion()))
            conv.intrinsics = intr
            return conv

        def convert(max_elements: int) -> Callable[[], float]:
            conv = converter(max_elements)

            def run() -> float:
                t0 = time.perf_counter()
                conv.convert(0, msg)
                return time.perf_counter() - t0
            return run

        results[case] = {"cdr": _median_ms(cdr, repeats),
                         "whole": _median_ms(convert(MAX_INPUT_ELEMENTS), repeats),  # stride 1 at any size
                         "reduced": _median_ms(convert(limit), repeats),
                         "stride": float(converter(limit).convert(0, msg).stride)}
    return results


if __name__ == "__main__":  # python -m vg4d_ros.programs.bench_decode [--input-limits]
    ap = argparse.ArgumentParser(prog="python -m vg4d_ros.programs.bench_decode", description=__doc__.split("\n\n")[0])
    ap.add_argument("--input-limits", action="store_true", help="time oversized input whole vs reduced instead")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    figures_of = bench_input_limits(args.repeats) if args.input_limits else bench_decode(args.repeats)
    for name, figures in figures_of.items():
        print(name, " ".join(f"{k}={v:g}" if k == "stride" else f"{k}={v:.3f}ms" for k, v in figures.items()))
