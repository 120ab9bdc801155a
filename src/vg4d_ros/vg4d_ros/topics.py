"""Topic names and types shared by the transports and the bag tools (pure: no ROS import).

* :data:`INPUT_TYPES`: the message type the recogniser expects on each input role, and
  :func:`input_type`: the type of a given topic (image_transport's naming: a topic ending in
  ``/compressed`` or ``/compressedDepth`` carries ``sensor_msgs/msg/CompressedImage``).
* :func:`resolve_topic`: ROS name resolution of the configured output names, for the code that talks
  to the wire or writes bags without an rclpy node doing it (the DDS transport, ``vg4d replay``,
  ``vg4d bag2cache``, the soak): ``~/x`` is private to the node, a relative name is in its namespace.
"""
from __future__ import annotations

from vg4d_ros.config import NODE_NAME

INPUT_TYPES: dict[str, str] = {"depth": "sensor_msgs/msg/Image", "camera_info": "sensor_msgs/msg/CameraInfo",
                               "cloud": "sensor_msgs/msg/PointCloud2", "rgb": "sensor_msgs/msg/Image",
                               "mask": "sensor_msgs/msg/Image"}
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
IMAGE_ROLES = ("depth", "rgb", "mask")
# image_transport's sub-topics of a raw image topic: <base>/compressed (JPEG / PNG), <base>/compressedDepth
COMPRESSED_SUFFIXES = ("/compressed", "/compressedDepth")


def input_type(role: str, topic: str) -> str:
    """The message type of input ``role`` on ``topic``: an image role on an image_transport compressed
    topic (``.../compressed``, ``.../compressedDepth``) is ``sensor_msgs/msg/CompressedImage``."""
    if role in IMAGE_ROLES and topic.rstrip("/").endswith(COMPRESSED_SUFFIXES):
        return COMPRESSED_IMAGE
    return INPUT_TYPES[role]


def accepted_types(role: str) -> tuple[str, ...]:
    """The message types input ``role`` takes from a recording (an image role: raw or compressed)."""
    return (INPUT_TYPES[role], COMPRESSED_IMAGE) if role in IMAGE_ROLES else (INPUT_TYPES[role],)


def resolve_topic(name: str, node_name: str = NODE_NAME, namespace: str = "/") -> str:
    """``~/x`` -> ``<ns>/<node>/x``; ``~`` -> ``<ns>/<node>``; relative ``x`` -> ``<ns>/x``; absolute stays.
    The default is a node of the default name in the root namespace, as ``vg4d replay`` records it."""
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    if name.startswith("~"):
        return f"{ns}/{node_name}{name[1:]}" if name != "~" else f"{ns}/{node_name}"
    return name if name.startswith("/") else f"{ns}/{name}"
