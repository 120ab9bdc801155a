"""Output messages: content and CDR round trip through the type store."""
from __future__ import annotations

import numpy as np

from vg4d_ros.pipeline.events import ActionEvent
from vg4d_ros.transports.outputs import (DIAG_OK, DIAG_WARN, classification_msg, diagnostics_msg, event_msg,
                                         label_info_msg, label_msg)
from vg4d_ros.pipeline.recognizer import Recognition
from vg4d_ros.pipeline.silence import TopicState


def result():
    return Recognition(stamp_ns=12_000_000_345, frame_id="cam", top_k=[("wave", 0.75), ("bow", 0.125)],
                       scores={"pc": np.array([0.75, 0.125], np.float32)}, primary="pc", latency_ms=5.0,
                       num_frames=30)


def roundtrip(ts, msg, name):
    return ts.deserialize_cdr(ts.serialize_cdr(msg, name), name)


def test_classification_and_label(typestore):
    msg = roundtrip(typestore, classification_msg(result(), ["sit", "bow", "wave"], typestore),
                    "vision_msgs/msg/Classification")
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (12, 345, "cam")
    # class_id is the index that ~/label_info maps to the name (vision_msgs' convention)
    assert [(h.class_id, h.score) for h in msg.results] == [("2", 0.75), ("1", 0.125)]
    assert roundtrip(typestore, label_msg(result(), typestore), "std_msgs/msg/String").data == "wave"


def test_classification_class_ids_join_label_info(typestore):
    names = ["sit", "bow", "wave"]
    action = classification_msg(result(), names, typestore)
    info = label_info_msg(names, typestore=typestore)
    lookup = {str(c.class_id): c.class_name for c in info.class_map}
    assert [lookup[h.class_id] for h in action.results] == ["wave", "bow"]


def test_label_info_maps_indices_to_names(typestore):
    msg = roundtrip(typestore, label_info_msg(["wave", "bow"], typestore=typestore), "vision_msgs/msg/LabelInfo")
    assert [(c.class_id, c.class_name) for c in msg.class_map] == [(0, "wave"), (1, "bow")]


def test_diagnostics_levels_and_topic_states(typestore):
    stats = {"windows_dropped": 0, "malformed_total": 0, "inference_errors": 0, "latency_ms_p95": 12.5}
    ok = TopicState("depth", "/d", "ok", "/d: receiving", count=3)
    msg = diagnostics_msg(stats, [ok], 1_000_000_000, typestore)
    msg = roundtrip(typestore, msg, "diagnostic_msgs/msg/DiagnosticArray")
    assert [s.level for s in msg.status] == [DIAG_OK, DIAG_OK]
    assert {kv.key: kv.value for kv in msg.status[0].values}["latency_ms_p95"] == "12.50"
    silent = TopicState("camera_info", "/i", "no_publisher", "/i: no publisher in 3.0 s")
    msg = diagnostics_msg(dict(stats, windows_dropped=2), [ok, silent], 0, typestore)
    assert msg.status[0].level == DIAG_WARN and msg.status[0].message == "/i: no publisher in 3.0 s"
    assert [s.name for s in msg.status[1:]] == ["vg4d recognizer: input depth", "vg4d recognizer: input camera_info"]
    assert msg.status[2].level == DIAG_WARN


def test_foreground_cloud_reads_back_with_our_reader_and_over_cdr(typestore):
    from vg4d_ros.pipeline.decode import pointcloud2_to_xyz
    from vg4d_ros.transports.outputs import xyz_cloud_msg

    pts = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    msg = roundtrip(typestore, xyz_cloud_msg(pts, 12_000_000_345, "cam", typestore), "sensor_msgs/msg/PointCloud2")
    assert (msg.header.frame_id, msg.width, msg.height, msg.point_step) == ("cam", 50, 1, 12)
    np.testing.assert_array_equal(pointcloud2_to_xyz(msg), pts)


def test_our_pointcloud2_reader_agrees_with_sensor_msgs_py(typestore):
    """Where ROS provides sensor_msgs_py (a ROS install; not on PyPI), its reader and ours agree."""
    import pytest
    point_cloud2 = pytest.importorskip("sensor_msgs_py.point_cloud2",
                                       reason="sensor_msgs_py comes with a ROS 2 installation")
    from sensor_msgs.msg import PointCloud2

    from vg4d_ros.pipeline.decode import pointcloud2_to_xyz
    from vg4d_ros.transports.outputs import to_rclpy, xyz_cloud_msg

    pts = np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32)
    msg = to_rclpy(xyz_cloud_msg(pts, 5, "cam", typestore), PointCloud2)
    theirs = point_cloud2.read_points_numpy(msg, field_names=("x", "y", "z"))
    np.testing.assert_array_equal(pointcloud2_to_xyz(msg), theirs)


def test_event_message_round_trips_over_cdr(typestore):
    event = ActionEvent("ended", "sit down", 3, 0.71, 4_000_000_123, 6_500_000_000, 7_000_000_000, 9, "no_person",
                        "p2", "camera_depth_optical_frame")
    msg = typestore.deserialize_cdr(typestore.serialize_cdr(event_msg(event, typestore), "vg4d_msgs/msg/ActionEvent"),
                                    "vg4d_msgs/msg/ActionEvent")
    assert (msg.state, msg.label, msg.class_id, msg.windows, msg.ended_by, msg.track_id) == (
        "ended", "sit down", 3, 9, "no_person", "p2")
    assert msg.score == 0.71 and msg.header.frame_id == "camera_depth_optical_frame"
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (7, 0)
    assert (msg.start.sec, msg.start.nanosec, msg.end.sec, msg.end.nanosec) == (4, 123, 6, 500_000_000)


def test_typestore_holds_the_message_package_definitions(repo_root):
    """vg4d_ros.typestore.VG4D_MSGS is src/vg4d_msgs/msg/*.msg without comments and blank lines: the DDS
    transport and replay serialise what the rclpy node's generated class does."""
    from vg4d_ros.typestore import VG4D_MSGS

    files = sorted((repo_root / "src/vg4d_msgs/msg").glob("*.msg"))
    assert {f"vg4d_msgs/msg/{f.stem}" for f in files} == set(VG4D_MSGS)
    for f in files:
        lines = [line.split("#")[0].strip() for line in f.read_text().splitlines()]
        assert "\n".join(x for x in lines if x) + "\n" == VG4D_MSGS[f"vg4d_msgs/msg/{f.stem}"], f.name
