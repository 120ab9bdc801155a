"""``vg4d compress-bag IN OUT``: a bag's raw images -> image_transport's compressed topics.

What a robot's recording usually holds: ``ros2 bag record`` on a camera driver takes
``<image topic>/compressed`` (JPEG colour) and ``<image topic>/compressedDepth`` (PNG or RVL depth),
because the raw topics are too large to keep. This command writes such a bag from a raw one - every
``sensor_msgs/msg/Image`` topic becomes ``<topic>/compressedDepth`` (a depth encoding: 16UC1, mono16,
32FC1) or ``<topic>/compressed`` (colour), with the same header and log time; every other topic is
copied as it is. ``vg4d replay`` and ``vg4d bag2cache`` read either, and with the configured raw topic
absent they take its compressed sub-topic (:func:`vg4d_ros.bags.replay.check_topics`).

Uses: shrink recorded bags (16-bit PNG depth is lossless: the points, windows and labels stay the same;
JPEG colour is not), and check a pipeline on the kind of recording a robot makes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from vg4d_ros.bags.bagio import BagWriter, open_bag, read_messages
from vg4d_ros.pipeline.compressed import encode_colour, encode_depth
from vg4d_ros.pipeline.decode import depth_image_to_array, rgb_image_to_array

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")


def compress_bag(src: str | Path, dst: str | Path, *, depth_codec: str = "png", colour_codec: str = "jpeg",
                 quality: int = 90, storage: str = "mcap") -> dict[str, str]:
    """Write ``dst`` from ``src`` with its Image topics compressed; returns raw topic -> compressed topic."""
    if depth_codec not in ("png", "rvl"):
        raise ValueError(f"depth codec must be png or rvl, got {depth_codec!r}")
    if colour_codec not in ("jpeg", "png"):
        raise ValueError(f"colour codec must be jpeg or png, got {colour_codec!r}")
    renamed: dict[str, str] = {}
    with open_bag(src) as reader, BagWriter(dst, storage) as writer:
        ts = writer.typestore
        topics = [c.topic for c in reader.connections]
        for m in read_messages(reader, topics, path=src):
            if m.msg is None:
                raise ValueError(f"{src}: a message on {m.topic} does not decode ({m.error}); nothing is guessed")
            if m.msgtype != IMAGE:
                writer.write(m.topic, m.msgtype, m.log_time_ns, m.msg)
                continue
            if str(m.msg.encoding) in DEPTH_ENCODINGS:
                depth = depth_image_to_array(m.msg)
                fields = encode_depth(depth, m.msg.header, depth_codec, encoding=str(m.msg.encoding))
                topic = m.topic.rstrip("/") + "/compressedDepth"
            else:
                fields = encode_colour(rgb_image_to_array(m.msg), m.msg.header, colour_codec, quality)
                topic = m.topic.rstrip("/") + "/compressed"
            renamed[m.topic] = topic
            msg = ts.types[COMPRESSED](header=fields["header"], format=fields["format"],
                                       data=np.frombuffer(fields["data"], np.uint8))
            writer.write(topic, COMPRESSED, m.log_time_ns, msg)
    return renamed


def main(argv: Sequence[str] | None = None) -> int:
    """``vg4d compress-bag IN OUT [--depth png|rvl] [--colour jpeg|png]``."""
    p = argparse.ArgumentParser(prog="vg4d compress-bag", description=__doc__.split("\n\n")[0])
    p.add_argument("src", help="a bag with raw sensor_msgs/Image topics")
    p.add_argument("dst", help="the new bag (must not exist)")
    p.add_argument("--depth", default="png", choices=("png", "rvl"), help="compressedDepth codec (lossless)")
    p.add_argument("--colour", default="jpeg", choices=("jpeg", "png"), help="compressed colour codec")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality (1-100)")
    p.add_argument("--storage", default="mcap", choices=("mcap", "sqlite3"))
    args = p.parse_args(argv)
    if not 1 <= args.quality <= 100:
        p.error(f"--quality must be in 1..100, got {args.quality}")
    try:
        renamed = compress_bag(args.src, args.dst, depth_codec=args.depth, colour_codec=args.colour,
                               quality=args.quality, storage=args.storage)
    except (OSError, ValueError) as exc:
        print(f"vg4d compress-bag: error: {exc}", file=sys.stderr)
        return 1
    for raw, topic in renamed.items():
        print(f"{raw} -> {topic}")
    if not renamed:
        print("no sensor_msgs/msg/Image topic: the bag was copied as it is")
    return 0
