"""The hand-written IdlStructs encode exactly as rosbags' CDR codec; names and QoS."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vg4d_ros.transports.dds.idl import IDL_TYPES, idl_type
from vg4d_ros.transports.dds.names import dds_topic_name, dds_type_name, qos_profile
from cyclonedds.qos import Policy

from dds_helpers import header


def to_idl(msg):
    """A rosbags message -> the IdlStruct with the same values (recursively)."""
    cls = IDL_TYPES[msg.__msgtype__]
    kw = {}
    for f in dataclasses.fields(cls):
        v = getattr(msg, f.name)
        if isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, list):
            v = [to_idl(x) if hasattr(x, "__msgtype__") else x for x in v]
        elif hasattr(v, "__msgtype__"):
            v = to_idl(v)
        kw[f.name] = v
    return cls(**kw)


def samples(ts):
    T = ts.types
    small = np.arange(2 * 3 * 3, dtype=np.uint8)
    PF = T["sensor_msgs/msg/PointField"]
    KV = T["diagnostic_msgs/msg/KeyValue"]
    return [
        T["std_msgs/msg/String"](data="hello ros"),
        T["sensor_msgs/msg/Image"](header=header(ts), height=2, width=3, encoding="rgb8", is_bigendian=0, step=9,
                                   data=small),
        T["sensor_msgs/msg/CameraInfo"](
            header=header(ts), height=424, width=512, distortion_model="plumb_bob",
            d=np.array([0.1, -0.2, 0.0, 0.0, 0.01]), k=np.arange(9, dtype=np.float64) * 1.5,
            r=np.eye(3).reshape(-1), p=np.arange(12, dtype=np.float64), binning_x=1, binning_y=2,
            roi=T["sensor_msgs/msg/RegionOfInterest"](x_offset=1, y_offset=2, height=3, width=4, do_rectify=True)),
        T["sensor_msgs/msg/PointCloud2"](header=header(ts), height=1, width=1,
                                         fields=[PF(name="x", offset=0, datatype=7, count=1),
                                                 PF(name="y", offset=4, datatype=7, count=1)],
                                         is_bigendian=False, point_step=8, row_step=8,
                                         data=np.arange(8, dtype=np.uint8), is_dense=True),
        T["vision_msgs/msg/Classification"](header=header(ts), results=[
            T["vision_msgs/msg/ObjectHypothesis"](class_id="a", score=0.5),
            T["vision_msgs/msg/ObjectHypothesis"](class_id="bcd", score=-1.25)]),
        T["vision_msgs/msg/LabelInfo"](header=header(ts), class_map=[
            T["vision_msgs/msg/VisionClass"](class_id=3, class_name="sit down"),
            T["vision_msgs/msg/VisionClass"](class_id=65535, class_name="x")], threshold=0.25),
        T["vision_msgs/msg/Detection3DArray"](header=header(ts), detections=[T["vision_msgs/msg/Detection3D"](
            header=header(ts), id="p2", results=[T["vision_msgs/msg/ObjectHypothesisWithPose"](
                hypothesis=T["vision_msgs/msg/ObjectHypothesis"](class_id="3", score=0.75),
                pose=T["geometry_msgs/msg/PoseWithCovariance"](
                    pose=T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](x=0.5, y=-0.25, z=3.0),
                                                     orientation=T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0,
                                                                                                  z=0.0, w=1.0)),
                    covariance=np.arange(36, dtype=np.float64)))],
            bbox=T["vision_msgs/msg/BoundingBox3D"](
                center=T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](x=0.5, y=-0.2, z=3.1),
                                                   orientation=T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0,
                                                                                                w=1.0)),
                size=T["geometry_msgs/msg/Vector3"](x=0.5, y=1.7, z=0.3)))]),
        T["vg4d_msgs/msg/ActionEvent"](header=header(ts), state="ended", label="sit down", class_id=7, score=0.625,
                                       start=T["builtin_interfaces/msg/Time"](sec=3, nanosec=5),
                                       end=T["builtin_interfaces/msg/Time"](sec=4, nanosec=999_999_999),
                                       windows=12, ended_by="no_person", track_id="p3"),
        T["diagnostic_msgs/msg/DiagnosticArray"](header=header(ts), status=[
            T["diagnostic_msgs/msg/DiagnosticStatus"](level=1, name="vg4d: recognizer", message="slow",
                                                      hardware_id="", values=[KV(key="fps", value="9.5")])]),
        T["tf2_msgs/msg/TFMessage"](transforms=[T["geometry_msgs/msg/TransformStamped"](
            header=header(ts), child_frame_id="camera_depth_optical_frame",
            transform=T["geometry_msgs/msg/Transform"](
                translation=T["geometry_msgs/msg/Vector3"](x=0.1, y=-2.0, z=1.25),
                rotation=T["geometry_msgs/msg/Quaternion"](x=-0.5, y=0.5, z=-0.5, w=0.5)))]),
    ]


def test_every_idl_type_serialises_as_rosbags(typestore):
    seen = set()
    for msg in samples(typestore):
        ref = typestore.serialize_cdr(msg, msg.__msgtype__).tobytes()
        ours = to_idl(msg).serialize()
        assert ref[:2] == b"\x00\x01"  # CDR_LE, XCDR1
        assert ours == ref, msg.__msgtype__
        seen.add(msg.__msgtype__)
    top_level = {"std_msgs/msg/String", "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo",
                 "sensor_msgs/msg/PointCloud2", "vision_msgs/msg/Classification", "vision_msgs/msg/LabelInfo",
                 "diagnostic_msgs/msg/DiagnosticArray", "tf2_msgs/msg/TFMessage", "vg4d_msgs/msg/ActionEvent",
                 "vision_msgs/msg/Detection3DArray"}
    assert seen == top_level


def test_idl_type_names_match_the_ros_mangling():
    for name, cls in IDL_TYPES.items():
        assert cls.__idl_typename__ == dds_type_name(name)
    with pytest.raises(ValueError, match="no DDS type defined"):
        idl_type("geometry_msgs/msg/Twist")


def test_names():
    assert dds_topic_name("/camera/depth/image_raw") == "rt/camera/depth/image_raw"
    assert dds_topic_name("vg4d/action") == "rt/vg4d/action"
    assert dds_type_name("sensor_msgs/msg/Image") == "sensor_msgs::msg::dds_::Image_"
    assert dds_type_name("vision_msgs/Classification") == "vision_msgs::msg::dds_::Classification_"
    for bad in ("", "/", "/a//b", "/1abc", "/a b"):
        with pytest.raises(ValueError, match="topic name"):
            dds_topic_name(bad)
    with pytest.raises(ValueError, match="message type name"):
        dds_type_name("Image")


def test_qos_profiles():
    sensor = qos_profile("sensor")
    assert Policy.Reliability.BestEffort in sensor and Policy.History.KeepLast(5) in sensor
    results = qos_profile("results")
    assert Policy.History.KeepLast(10) in results and results[Policy.Reliability] != Policy.Reliability.BestEffort
    assert Policy.Durability.TransientLocal in qos_profile("latched")
    with pytest.raises(ValueError, match="unknown QoS profile"):
        qos_profile("fast")
