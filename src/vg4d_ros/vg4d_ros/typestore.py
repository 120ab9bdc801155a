"""The rosbags type store of the vg4d ROS layer.

rosbags ships the core ROS 2 message types (std_msgs, sensor_msgs,
diagnostic_msgs, ...) per distribution but not vision_msgs, a separate
package on ROS machines, nor this project's own interface package
``vg4d_msgs`` (``src/vg4d_msgs``); :func:`ros_typestore` registers the
vision_msgs 4.1.1 types the recogniser publishes and the 3D detections of
the multi-person output and ground truth (the same definitions in Humble and
Jazzy: the field lists of ``scripts/ros_interfaces/vision_msgs/msg/*.msg``),
and ``vg4d_msgs/msg/ActionEvent``. Bag replay, the DDS payload path and the
tests all use this store, so every CDR byte is produced by one codec.
"""
from __future__ import annotations

from functools import lru_cache

from rosbags.typesys import Stores, get_types_from_msg, get_typestore

# vision_msgs 4.1.1 message definitions (field lists of the .msg files)
VISION_MSGS = {
    "vision_msgs/msg/ObjectHypothesis": "string class_id\nfloat64 score\n",
    "vision_msgs/msg/Classification": "std_msgs/Header header\nvision_msgs/ObjectHypothesis[] results\n",
    "vision_msgs/msg/VisionClass": "uint16 class_id\nstring class_name\n",
    "vision_msgs/msg/LabelInfo": "std_msgs/Header header\nvision_msgs/VisionClass[] class_map\nfloat32 threshold\n",
    "vision_msgs/msg/VisionInfo": ("std_msgs/Header header\nstring method\nstring database_location\n"
                                   "int32 database_version\n"),
    # per-person ground truth of the multi-person bags (vg4d people2bag)
    "vision_msgs/msg/ObjectHypothesisWithPose": ("vision_msgs/ObjectHypothesis hypothesis\n"
                                                 "geometry_msgs/PoseWithCovariance pose\n"),
    "vision_msgs/msg/BoundingBox3D": "geometry_msgs/Pose center\ngeometry_msgs/Vector3 size\n",
    "vision_msgs/msg/Detection3D": ("std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] results\n"
                                    "vision_msgs/BoundingBox3D bbox\nstring id\n"),
    "vision_msgs/msg/Detection3DArray": "std_msgs/Header header\nvision_msgs/Detection3D[] detections\n",
}

# vg4d_msgs (src/vg4d_msgs/msg/*.msg without the comments; a test keeps them equal)
VG4D_MSGS = {
    "vg4d_msgs/msg/ActionEvent": (
        "string STARTED=started\nstring ENDED=ended\n"
        "std_msgs/Header header\nstring state\nstring label\nuint16 class_id\nfloat64 score\n"
        "builtin_interfaces/Time start\nbuiltin_interfaces/Time end\nuint32 windows\nstring ended_by\n"
        "string track_id\n"),
}

DISTROS = {"humble": Stores.ROS2_HUMBLE, "jazzy": Stores.ROS2_JAZZY}


@lru_cache(maxsize=None)
def ros_typestore(distro: str = "humble"):
    """A rosbags ``Typestore`` for ``distro`` ("humble" or "jazzy") with vision_msgs and vg4d_msgs registered.

    Cached: the store generates its codecs lazily and keeps them.
    """
    try:
        store = get_typestore(DISTROS[distro])
    except KeyError:
        raise ValueError(f"unknown ROS distro {distro!r}; choose from {sorted(DISTROS)}") from None
    types = {}
    for name, text in {**VISION_MSGS, **VG4D_MSGS}.items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    return store
