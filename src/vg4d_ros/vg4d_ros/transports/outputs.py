"""Output messages of the recogniser as rosbags type-store objects.

The DDS transport serialises them with rosbags' CDR codec; the rclpy node
copies their fields into rclpy messages (:func:`to_rclpy`), so both
transports publish the same content:

* ``vision_msgs/Classification`` - header (stamp of the window's newest
  frame, the input's frame_id), top-k ``ObjectHypothesis(class_id = the
  class index as a string, score float64)`` best first;
* ``std_msgs/String`` - the top-1 class name;
* ``vision_msgs/LabelInfo`` - class index -> name, published once (latched);
* ``vg4d_msgs/ActionEvent`` - an action segment started or ended (``~/events``,
  :mod:`vg4d_ros.pipeline.events`; ``track_id`` set per person with ``people.enabled``);
* ``vision_msgs/Detection3DArray`` - with ``people.enabled``, every person scored at a tick: box,
  top-k and track id (``~/detections``);
* ``diagnostic_msgs/DiagnosticArray`` - latency, drops, error counts and
  the silence state of every input topic.
"""
from __future__ import annotations

import array
import json
from typing import Any, Sequence

import numpy as np

from vg4d_ros.pipeline.events import ActionEvent
from vg4d_ros.pipeline.recognizer import PeopleResult, Recognition
from vg4d_ros.pipeline.silence import OK, WAITING, TopicState
from vg4d_ros.typestore import ros_typestore

# diagnostic_msgs/DiagnosticStatus levels
DIAG_OK, DIAG_WARN, DIAG_ERROR = 0, 1, 2
DIAG_NAME = "vg4d recognizer"


def _time(T, stamp_ns: int):
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)


def _header(T, stamp_ns: int, frame_id: str):
    return T["std_msgs/msg/Header"](stamp=_time(T, stamp_ns), frame_id=frame_id)


def classification_msg(result: Recognition, class_names: Sequence[str], typestore=None):
    """vision_msgs/Classification of a result.

    ``class_id`` is the class's index as a decimal string, the key of
    ``~/label_info``'s ``VisionClass.class_id`` (vision_msgs' convention: a
    listener looks the name up there); ``~/label`` carries the top-1 name.
    """
    T = (typestore or ros_typestore()).types
    H = T["vision_msgs/msg/ObjectHypothesis"]
    index = {str(name): i for i, name in enumerate(class_names)}
    return T["vision_msgs/msg/Classification"](
        header=_header(T, result.stamp_ns, result.frame_id),
        results=[H(class_id=str(index[name]), score=float(score)) for name, score in result.top_k])


def label_msg(result: Recognition, typestore=None):
    """std_msgs/String holding the top-1 class name."""
    T = (typestore or ros_typestore()).types
    return T["std_msgs/msg/String"](data=result.top_k[0][0] if result.top_k else "")


def event_msg(event: ActionEvent, typestore=None):
    """vg4d_msgs/ActionEvent of an :class:`~vg4d_ros.pipeline.events.ActionEvent`.

    Header: the stamp at which the event was decided and the segment's frame; ``start`` / ``end``: the
    segment's span (header stamps of its first window's oldest frame and its last window's newest).
    """
    T = (typestore or ros_typestore()).types
    return T["vg4d_msgs/msg/ActionEvent"](
        header=_header(T, event.stamp_ns, event.frame_id), state=event.state, label=event.label,
        class_id=int(event.class_id), score=float(event.score), start=_time(T, event.start_ns),
        end=_time(T, event.end_ns), windows=int(event.windows), ended_by=event.ended_by, track_id=event.track_id)


def detections_msg(result: PeopleResult, class_names: Sequence[str], typestore=None):
    """vision_msgs/Detection3DArray of one tick's people (``people.enabled``).

    Header: the newest frame's stamp and frame. Per person whose window was classified (``labelled``, or
    ``unsure``: the person is there, the label withheld, so ``results`` is empty) one ``Detection3D``:
    ``id`` = the track id; ``bbox`` = the axis-aligned box of the person's points in the newest frame
    they were seen in (centre, size; metres; identity orientation); ``results`` = the top-k as
    ``ObjectHypothesisWithPose`` (``class_id`` = class index as a string, as ``~/action``; ``score``;
    ``pose.pose.position`` = the person's centroid). People whose window was refused (not in view for
    most of it) are left out.
    """
    T = (typestore or ros_typestore()).types
    index = {str(name): i for i, name in enumerate(class_names)}
    P, V, Q = T["geometry_msgs/msg/Point"], T["geometry_msgs/msg/Vector3"], T["geometry_msgs/msg/Quaternion"]
    Pose = T["geometry_msgs/msg/Pose"]
    header = _header(T, result.stamp_ns, result.frame_id)
    detections = []
    for person in result.people:
        v = person.verdict
        if v.status not in ("labelled", "unsure"):
            continue
        box = person.box
        centre = (box.box_min + box.box_max) / 2.0
        size = box.box_max - box.box_min
        centroid = P(x=float(box.centroid[0]), y=float(box.centroid[1]), z=float(box.centroid[2]))
        top_k = v.recognition.top_k if v.status == "labelled" and v.recognition is not None else []
        hyps = [T["vision_msgs/msg/ObjectHypothesisWithPose"](
            hypothesis=T["vision_msgs/msg/ObjectHypothesis"](class_id=str(index[name]), score=float(score)),
            pose=T["geometry_msgs/msg/PoseWithCovariance"](pose=Pose(position=centroid, orientation=Q(x=0.0, y=0.0,
                                                                                                       z=0.0, w=1.0)),
                                                           covariance=np.zeros(36, np.float64)))
            for name, score in top_k]
        bbox = T["vision_msgs/msg/BoundingBox3D"](
            center=Pose(position=P(x=float(centre[0]), y=float(centre[1]), z=float(centre[2])),
                        orientation=Q(x=0.0, y=0.0, z=0.0, w=1.0)),
            size=V(x=float(size[0]), y=float(size[1]), z=float(size[2])))
        detections.append(T["vision_msgs/msg/Detection3D"](header=header, results=hyps, bbox=bbox,
                                                           id=person.track_id))
    return T["vision_msgs/msg/Detection3DArray"](header=header, detections=detections)


def label_info_msg(class_names: Sequence[str], stamp_ns: int = 0, frame_id: str = "", threshold: float = 0.0,
                   typestore=None):
    """vision_msgs/LabelInfo: VisionClass(class_id = index, class_name) for every class."""
    T = (typestore or ros_typestore()).types
    VC = T["vision_msgs/msg/VisionClass"]
    return T["vision_msgs/msg/LabelInfo"](header=_header(T, stamp_ns, frame_id),
                                          class_map=[VC(class_id=i, class_name=str(n))
                                                     for i, n in enumerate(class_names)],
                                          threshold=float(threshold))


def xyz_cloud_msg(points_m: np.ndarray, stamp_ns: int, frame_id: str, typestore=None):
    """sensor_msgs/PointCloud2 of (P, 3) points: float32 x, y, z (metres), unorganised, dense.

    The layout ``sensor_msgs_py.point_cloud2.create_cloud_xyz32`` makes, for
    transports where that module is not installed (the DDS transport, replay).
    """
    T = (typestore or ros_typestore()).types
    pts = np.ascontiguousarray(points_m, dtype="<f4").reshape(-1, 3)
    PF = T["sensor_msgs/msg/PointField"]
    fields = [PF(name=n, offset=4 * i, datatype=PF.FLOAT32, count=1) for i, n in enumerate("xyz")]
    return T["sensor_msgs/msg/PointCloud2"](
        header=_header(T, stamp_ns, frame_id), height=1, width=len(pts), fields=fields, is_bigendian=False,
        point_step=12, row_step=12 * len(pts), data=pts.view(np.uint8).reshape(-1), is_dense=True)


def diagnostics_msg(stats: dict[str, Any], topics: Sequence[TopicState], stamp_ns: int, typestore=None,
                    hardware_id: str = "vg4d", name: str = DIAG_NAME):
    """diagnostic_msgs/DiagnosticArray: one status for the recogniser, one per input topic.

    The recogniser's status (``stats``: :meth:`~vg4d_ros.pipeline.recognizer.Recognizer.stats`):

    * ERROR when inference failed;
    * WARN naming every current fault: silent inputs, no person in view
      (windows not labelled), colour without a depth partner (labelling from
      depth alone), no transform into ``input_frame`` (frames skipped); else WARN with the counters of past faults (dropped
      windows, malformed messages, stamp resets, results not newer than the
      last published);
    * OK otherwise - also when labels were withheld below the confidence
      threshold: that is the model declining an ambiguous window, not a
      fault; the message says how many.
    """
    T = (typestore or ros_typestore()).types
    KV, DS = T["diagnostic_msgs/msg/KeyValue"], T["diagnostic_msgs/msg/DiagnosticStatus"]

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.2f}"
        return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else ("" if v is None else str(v))

    keys = ("windows_formed", "windows_inferred", "windows_dropped", "latency_ms_p50", "latency_ms_p95",
            "malformed_total", "inference_errors", "waiting_for_camera_info", "frames_out_of_order", "messages",
            "malformed", "no_person", "windows_no_person", "confidence_threshold", "windows_unsure", "depth_only",
            "frames_depth_only", "stamp_resets", "last_stamp_reset", "results_not_newer", "input_frame",
            "no_transform", "frames_no_transform", "tf_refused")
    silent = [t for t in topics if t.state not in (OK, WAITING)]
    current = [t.message for t in silent] + [stats[k] for k in ("no_person", "depth_only", "no_transform") if stats.get(k)]
    resets = sum((stats.get("stamp_resets") or {}).values())
    past = [f"{stats.get('windows_dropped', 0)} window(s) dropped, {stats.get('malformed_total', 0)} malformed "
            f"message(s)"]
    if resets:
        past.append(f"{resets} stamp reset(s) (last: {stats.get('last_stamp_reset', '')})")
    if stats.get("results_not_newer"):
        past.append(f"{stats['results_not_newer']} result(s) not newer than the last published dropped")
    if stats.get("inference_errors"):
        level, message = DIAG_ERROR, f"{stats['inference_errors']} inference error(s)"
    elif current:
        level, message = DIAG_WARN, "; ".join(current)
    elif stats.get("malformed_total") or stats.get("windows_dropped") or len(past) > 1:
        level, message = DIAG_WARN, ", ".join(past)
    else:
        level, message = DIAG_OK, "running"
        if stats.get("windows_unsure"):
            message += (f"; {stats['windows_unsure']} of {stats.get('windows_inferred', 0)} labelled window(s) "
                        f"withheld below confidence {stats.get('confidence_threshold', 0.0):g}")
    status = [DS(level=level, name=name, message=message, hardware_id=hardware_id,
                 values=[KV(key=k, value=fmt(stats.get(k))) for k in keys])]
    for t in topics:
        lvl = DIAG_OK if t.state in (OK, WAITING) else DIAG_WARN
        values = [KV(key="topic", value=t.topic), KV(key="state", value=t.state), KV(key="count", value=str(t.count))]
        values += [KV(key=f"publisher{i}", value=f"{p.node or '?'}: {p.qos}") for i, p in enumerate(t.publishers)]
        status.append(DS(level=lvl, name=f"{name}: input {t.role}", message=t.message, hardware_id=hardware_id,
                         values=values))
    return T["diagnostic_msgs/msg/DiagnosticArray"](header=_header(T, stamp_ns, ""), status=status)


def to_rclpy(msg: Any, cls: Any) -> Any:
    """Copy a rosbags message into the rclpy message class ``cls`` (field by field, recursively).

    ``cls`` is e.g. ``vision_msgs.msg.Classification``; nested message and
    sequence-of-message fields are built from their rclpy types, looked up
    through the instance's own field types.
    """
    out = cls()
    for name, slot in zip(out.get_fields_and_field_types(), type(out).SLOT_TYPES):
        value = getattr(msg, name)
        current = getattr(out, name)
        if hasattr(value, "__dataclass_fields__"):
            setattr(out, name, to_rclpy(value, type(current)))
        elif isinstance(value, list) and value and hasattr(value[0], "__dataclass_fields__"):
            item_cls = _sequence_item_class(out, name)
            setattr(out, name, [to_rclpy(v, item_cls) for v in value])
        else:
            setattr(out, name, _rclpy_value(value, slot))
    return out


def _rclpy_value(value: Any, slot: Any) -> Any:
    """A plain field value in the form rclpy's generated setters take.

    ``byte`` fields (IDL ``octet``, e.g. ``DiagnosticStatus.level``) must be
    ``bytes`` of length 1: Humble's setter asserts it, and Jazzy without
    ``ROS_PYTHON_CHECK_FIELDS=1`` converts an int as garbage. ``uint8[]``
    payloads go as ``array.array('B')`` (rclpy's own type, no per-element copy).
    """
    if getattr(slot, "typename", None) == "octet" and isinstance(value, (int, np.integer)):
        return bytes([int(value)])
    if isinstance(value, np.ndarray):
        if value.dtype == np.uint8:
            return array.array("B", value.tobytes())
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sequence_item_class(msg: Any, field: str) -> Any:
    """The rclpy class of the items of a sequence-of-messages field (from its SLOT_TYPES)."""
    idx = list(msg.get_fields_and_field_types()).index(field)
    slot = type(msg).SLOT_TYPES[idx]
    vt = slot.value_type
    import importlib
    module = importlib.import_module(".".join(vt.namespaces))
    return getattr(module, vt.name)
