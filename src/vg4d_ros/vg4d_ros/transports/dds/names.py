"""ROS 2 names and QoS profiles as rmw_cyclonedds puts them on the wire.

* topic ``/a/b`` travels as DDS topic ``rt/a/b`` (a relative name is taken
  in the root namespace);
* type ``pkg/msg/Type`` (or ``pkg/Type``) is registered as
  ``pkg::msg::dds_::Type_``;
* QoS: sensor data best-effort keep-last 5 (a best-effort reader matches
  reliable and best-effort writers alike); results reliable keep-last 10;
  latched data (label_info) reliable, transient-local, keep-last 1.
"""
from __future__ import annotations

import re

from cyclonedds.qos import Policy, Qos
from cyclonedds.util import duration

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def dds_topic_name(ros_topic: str) -> str:
    """``/camera/depth/image_raw`` -> ``rt/camera/depth/image_raw``."""
    name = ros_topic[1:] if ros_topic.startswith("/") else ros_topic
    parts = name.split("/")
    if not name or any(not _NAME.match(p) for p in parts):
        raise ValueError(f"not a valid fully qualified ROS 2 topic name: {ros_topic!r}")
    return "rt/" + name


def ros_type_name(msgtype: str) -> str:
    """``pkg/Type`` or ``pkg/msg/Type`` -> ``pkg/msg/Type`` (the rosbags spelling)."""
    parts = msgtype.split("/")
    if len(parts) == 2:
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3 or parts[1] != "msg" or not all(_NAME.match(p) for p in parts):
        raise ValueError(f"not a ROS 2 message type name (pkg/msg/Type): {msgtype!r}")
    return "/".join(parts)


def dds_type_name(msgtype: str) -> str:
    """``sensor_msgs/msg/Image`` -> ``sensor_msgs::msg::dds_::Image_``."""
    pkg, _, name = ros_type_name(msgtype).split("/")
    return f"{pkg}::msg::dds_::{name}_"


def sensor_qos(depth: int = 5) -> Qos:
    """rclpy's ``qos_profile_sensor_data``: best-effort, volatile, keep-last ``depth``."""
    return Qos(Policy.Reliability.BestEffort, Policy.Durability.Volatile, Policy.History.KeepLast(depth))


def results_qos(depth: int = 10) -> Qos:
    """Reliable, volatile, keep-last ``depth``: what the recogniser publishes results with."""
    return Qos(Policy.Reliability.Reliable(duration(milliseconds=100)), Policy.Durability.Volatile,
               Policy.History.KeepLast(depth))


def latched_qos(depth: int = 1) -> Qos:
    """Reliable, transient-local, keep-last ``depth``: late joiners get the last samples (label_info;
    /tf_static with 100, as tf2_ros)."""
    return Qos(Policy.Reliability.Reliable(duration(milliseconds=100)), Policy.Durability.TransientLocal,
               Policy.History.KeepLast(depth))


QOS_PROFILES = {"sensor": sensor_qos, "results": results_qos, "latched": latched_qos}


def qos_profile(name: str) -> Qos:
    """A profile by name: "sensor", "results" or "latched"."""
    try:
        return QOS_PROFILES[name]()
    except KeyError:
        raise ValueError(f"unknown QoS profile {name!r}; choose from {sorted(QOS_PROFILES)}") from None
