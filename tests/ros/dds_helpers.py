"""Message builders shared by the DDS tests and their publisher subprocess."""
from __future__ import annotations

import numpy as np


def header(ts, sec=12, nanosec=345, frame_id="camera_depth_optical_frame"):
    T = ts.types
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec),
                                    frame_id=frame_id)


def depth_image(ts, seed=0):
    data = np.random.default_rng(seed).integers(0, 8000, size=(424, 512), dtype=np.uint16)
    return ts.types["sensor_msgs/msg/Image"](header=header(ts), height=424, width=512, encoding="16UC1",
                                             is_bigendian=0, step=1024, data=data.view(np.uint8).reshape(-1))


def bgr_image(ts, seed=1):
    data = np.random.default_rng(seed).integers(0, 256, size=480 * 640 * 3, dtype=np.uint8)
    return ts.types["sensor_msgs/msg/Image"](header=header(ts, frame_id="camera_color_optical_frame"),
                                             height=480, width=640, encoding="bgr8", is_bigendian=0,
                                             step=1920, data=data)


def cloud(ts, n=30000, seed=2):
    T = ts.types
    PF = T["sensor_msgs/msg/PointField"]
    xyz = np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)
    fields = [PF(name="x", offset=0, datatype=7, count=1), PF(name="y", offset=4, datatype=7, count=1),
              PF(name="z", offset=8, datatype=7, count=1), PF(name="intensity", offset=12, datatype=7, count=1)]
    return T["sensor_msgs/msg/PointCloud2"](header=header(ts), height=1, width=n, fields=fields, is_bigendian=False,
                                            point_step=16, row_step=16 * n, data=xyz.view(np.uint8).reshape(-1),
                                            is_dense=True)


def classification(ts):
    T = ts.types
    H = T["vision_msgs/msg/ObjectHypothesis"]
    return T["vision_msgs/msg/Classification"](header=header(ts), results=[H(class_id="drink water", score=0.75),
                                                                           H(class_id="wave", score=0.125)])


BUILDERS = {"depth": (depth_image, "sensor_msgs/msg/Image"), "bgr": (bgr_image, "sensor_msgs/msg/Image"),
            "cloud": (cloud, "sensor_msgs/msg/PointCloud2"),
            "classification": (classification, "vision_msgs/msg/Classification")}
