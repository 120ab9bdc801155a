"""input_frame over the rclpy-free DDS transport: /tf_static latched on rt/tf_static, clouds in base_link.

In-process (the transport's ``run`` on a thread), loopback only, a DDS domain of its own.
"""
from __future__ import annotations

import os
import threading
import time

import pytest

import recognizer_helpers as rh

LOOPBACK = ('<CycloneDDS><Domain Id="any"><General><Interfaces><NetworkInterface name="lo"/>'
            '</Interfaces></General></Domain></CycloneDDS>')
T0, PERIOD = 5_000_000_000, 33_333_333


def test_dds_transport_moves_base_link_clouds_into_input_frame(tmp_path, monkeypatch):
    monkeypatch.setenv("CYCLONEDDS_URI", LOOPBACK)
    from vg4d_ros.config import load_recognizer_config
    from vg4d_ros.transports.dds import DdsPublisher, DdsSubscriber, participant
    from vg4d_ros.transports.dds.names import latched_qos
    from vg4d_ros.transports.dds_node import run
    from vg4d_ros.typestore import ros_typestore

    ts = ros_typestore()
    domain = 1 + (os.getpid() + 57) % 230
    ckpt = rh.tiny_checkpoint(tmp_path / "tiny.pt")
    topic = f"/vg4d_tf_{os.getpid()}/points"
    config = load_recognizer_config(None, [f"inference.checkpoint={ckpt}", "inference.device=cpu", "window.min_coverage=0", "input=cloud",
                                           f"topics.cloud={topic}", f"input_frame={rh.OPTICAL}",
                                           "window.hop_frames=6", "window.min_frames=6", "window.window_s=0.5"])
    dp = participant(domain)
    tf_static = DdsPublisher(dp, "/tf_static", "tf2_msgs/msg/TFMessage", latched_qos(1), ts)
    tf_static.publish(rh.tf_message(ts, [rh.CAMERA_LINK, rh.OPTICAL_LINK]))  # latched before the recogniser starts
    clouds = DdsPublisher(dp, topic, "sensor_msgs/msg/PointCloud2", "sensor", ts)
    actions = DdsSubscriber(dp, "/recognizer/action", "vision_msgs/msg/Classification", "results", ts)
    stop, out = threading.Event(), {}
    worker = threading.Thread(target=lambda: out.update(stats=run(config, domain=domain, stop=stop)), daemon=True)
    worker.start()
    got = []
    try:
        deadline = time.monotonic() + 300  # a hang guard only
        i = 0
        while len(got) < 2 and time.monotonic() < deadline and worker.is_alive():
            pts = rh.in_base_link(rh.optical_points(i))
            clouds.publish(rh.cloud_msg(ts, pts, T0 + i * PERIOD, "base_link"))
            i += 1
            if actions.wait(0.03):
                got += actions.take()
    finally:
        stop.set()
        worker.join(60)
    assert len(got) >= 2, out
    assert all(m.header.frame_id == rh.OPTICAL for m in got)
    stats = out["stats"]
    assert stats["messages"].get("tf_static", 0) >= 1 and stats["tf_refused"] == 0
