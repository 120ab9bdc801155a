"""Test helper: a ROS 1 (``.bag``) copy of a ROS 2 bag, as a ROS 1 driver would have recorded it.

ROS 1 messages differ from ROS 2's in ways a reader must survive: ``std_msgs/Header`` has ``seq``,
``sensor_msgs/CameraInfo`` names its matrices ``D K R P`` (upper case), and the message definitions
travel in the bag (no typestore needed to read it). Image, CompressedImage, PointCloud2 and String keep
their fields.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vg4d_ros.bags.bagio import open_bag, read_messages


def write_ros1_copy(src: Path, dst: Path) -> Path:
    """Every Image / CompressedImage / PointCloud2 / CameraInfo / String message of ``src`` into the ROS 1
    bag file ``dst`` (same topics, log times and stamps; header ``seq`` counts from 1 per topic)."""
    from rosbags.rosbag1 import Writer
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS1_NOETIC)
    T = ts.types
    seq: dict[str, int] = {}

    def header(topic, h):
        seq[topic] = seq.get(topic, 0) + 1
        return T["std_msgs/msg/Header"](seq=seq[topic], frame_id=h.frame_id, stamp=T["builtin_interfaces/msg/Time"](
            sec=h.stamp.sec, nanosec=h.stamp.nanosec))

    def convert(topic, msg):
        kind = msg.__msgtype__
        if kind == "sensor_msgs/msg/Image":
            return T[kind](header=header(topic, msg.header), height=msg.height, width=msg.width,
                           encoding=msg.encoding, is_bigendian=msg.is_bigendian, step=msg.step,
                           data=np.asarray(msg.data, np.uint8))
        if kind == "sensor_msgs/msg/CompressedImage":
            return T[kind](header=header(topic, msg.header), format=msg.format, data=np.asarray(msg.data, np.uint8))
        if kind == "sensor_msgs/msg/PointCloud2":
            fields = [T["sensor_msgs/msg/PointField"](name=f.name, offset=f.offset, datatype=f.datatype,
                                                      count=f.count) for f in msg.fields]
            return T[kind](header=header(topic, msg.header), height=msg.height, width=msg.width, fields=fields,
                           is_bigendian=msg.is_bigendian, point_step=msg.point_step, row_step=msg.row_step,
                           data=np.asarray(msg.data, np.uint8), is_dense=msg.is_dense)
        if kind == "sensor_msgs/msg/CameraInfo":
            roi = T["sensor_msgs/msg/RegionOfInterest"](x_offset=msg.roi.x_offset, y_offset=msg.roi.y_offset,
                                                        height=msg.roi.height, width=msg.roi.width,
                                                        do_rectify=msg.roi.do_rectify)
            return T[kind](header=header(topic, msg.header), height=msg.height, width=msg.width,
                           distortion_model=msg.distortion_model, D=np.asarray(msg.d, np.float64),
                           K=np.asarray(msg.k, np.float64), R=np.asarray(msg.r, np.float64),
                           P=np.asarray(msg.p, np.float64), binning_x=msg.binning_x, binning_y=msg.binning_y, roi=roi)
        if kind == "std_msgs/msg/String":
            return T[kind](data=msg.data)
        return None

    dst.parent.mkdir(parents=True, exist_ok=True)
    with open_bag(src) as reader, Writer(dst) as writer:
        connections = {}
        for m in read_messages(reader, [c.topic for c in reader.connections], path=src):
            msg = convert(m.topic, m.msg)
            if msg is None:
                continue
            if m.topic not in connections:
                connections[m.topic] = writer.add_connection(m.topic, msg.__msgtype__, typestore=ts)
            writer.write(connections[m.topic], m.log_time_ns, ts.serialize_ros1(msg, msg.__msgtype__))
    return dst
