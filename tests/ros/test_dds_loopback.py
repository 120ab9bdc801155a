"""Publisher -> subscriber round trips over cyclonedds (in one process and across two).

Each test run uses its own DDS domain (from the pid) and loopback only, so
parallel runs on one machine do not see each other's samples.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dds_helpers import BUILDERS
from vg4d_ros.pipeline.decode import depth_image_to_array, pointcloud2_to_xyz, rgb_image_to_array

LOOPBACK = ('<CycloneDDS><Domain Id="any"><General><Interfaces><NetworkInterface name="lo"/>'
            '</Interfaces></General></Domain></CycloneDDS>')
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def domain_id():
    # cyclonedds reads CYCLONEDDS_URI when a domain is first created in this process
    os.environ.setdefault("CYCLONEDDS_URI", LOOPBACK)
    return 1 + os.getpid() % 230


def check_equal(kind, got, ref):
    assert got.header.stamp.sec == ref.header.stamp.sec and got.header.stamp.nanosec == ref.header.stamp.nanosec
    assert got.header.frame_id == ref.header.frame_id
    if kind == "depth":
        np.testing.assert_array_equal(depth_image_to_array(got), depth_image_to_array(ref))
    elif kind == "bgr":
        np.testing.assert_array_equal(rgb_image_to_array(got), rgb_image_to_array(ref))
    elif kind == "cloud":
        np.testing.assert_array_equal(pointcloud2_to_xyz(got), pointcloud2_to_xyz(ref))
        assert pointcloud2_to_xyz(got).shape == (30000, 3)
    else:
        assert [(h.class_id, h.score) for h in got.results] == [("drink water", 0.75), ("wave", 0.125)]


def receive(sub, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sub.wait(0.2):
            got = sub.take()
            if got:
                return got
    raise AssertionError(f"nothing received on {sub.ros_topic} within {timeout_s} s")


def test_in_process_round_trip(domain_id, typestore):
    from vg4d_ros.transports.dds import DdsPublisher, DdsSubscriber, participant
    dp = participant(domain_id)
    for kind, (build, msgtype) in BUILDERS.items():
        topic = f"/vg4d_test_{os.getpid()}/inproc/{kind}"
        sub = DdsSubscriber(dp, topic, msgtype, "sensor")  # best-effort reader, reliable writer: they match
        pub = DdsPublisher(dp, topic, msgtype, "results")
        ref = build(typestore)
        pub.publish(ref)
        got = receive(sub)
        assert len(got) == 1
        check_equal(kind, got[0], ref)
        assert sub.take() == []


def test_raw_bytes_on_the_wire_are_rosbags_cdr(domain_id, typestore):
    from vg4d_ros.transports.dds import DdsPublisher, DdsSubscriber, participant
    dp = participant(domain_id)
    topic = f"/vg4d_test_{os.getpid()}/raw"
    sub = DdsSubscriber(dp, topic, "vision_msgs/msg/Classification", "results")
    pub = DdsPublisher(dp, topic, "vision_msgs/msg/Classification", "results")
    msg = BUILDERS["classification"][0](typestore)
    pub.publish(msg)
    deadline = time.monotonic() + 10
    raw = []
    while not raw and time.monotonic() < deadline:
        sub.wait(0.2)
        raw = sub.take_raw()
    ref = typestore.serialize_cdr(msg, "vision_msgs/msg/Classification").tobytes()
    assert raw == [ref + b"\0" * (-len(ref) % 4)]


def test_across_two_processes(domain_id, typestore):
    from vg4d_ros.transports.dds import DdsSubscriber, participant
    dp = participant(domain_id)
    prefix = f"/vg4d_test_{os.getpid()}/xproc"
    subs = {k: DdsSubscriber(dp, f"{prefix}/{k}", t, "results") for k, (_, t) in BUILDERS.items()}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, str(HERE / "dds_publish.py"), str(domain_id), prefix], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for kind, (build, _) in BUILDERS.items():
            got = receive(subs[kind], timeout_s=25.0)
            assert len(got) == 1
            check_equal(kind, got[0], build(typestore))
    finally:
        out, _ = proc.communicate("done\n", timeout=30)
    assert proc.returncode == 0, out
