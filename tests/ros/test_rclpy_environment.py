"""The real ROS 2 the venv holds: rclpy (PyPI wheels) + the generated vision_msgs.

Checks what scripts/setup_env.sh promises: rclpy starts and stops in a
context of its own, a vision_msgs/Classification travels between two nodes of
one process and from another process (the venv's python, Fast DDS, the
default rmw) to this one, with every field intact, and message fields are type
checked (tests/conftest.py sets ROS_PYTHON_CHECK_FIELDS=1 before any message
module is imported; the subprocess inherits it).

Run as a script (``python test_rclpy_environment.py publish TOPIC``) it is the
publisher of the cross-process test.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = [pytest.mark.rclpy,
              # lark-parser 0.12 (pinned with the ROS wheels) imports sre_parse
              pytest.mark.filterwarnings("ignore:module 'sre_:DeprecationWarning")]

CLASSES = [("drink water", 0.75), ("wave", 0.125)]
STAMP = (12, 345)
FRAME = "camera_depth_optical_frame"


def _classification():
    from vision_msgs.msg import Classification, ObjectHypothesis

    msg = Classification()
    msg.header.stamp.sec, msg.header.stamp.nanosec = STAMP
    msg.header.frame_id = FRAME
    msg.results = [ObjectHypothesis(class_id=c, score=s) for c, s in CLASSES]
    return msg


def _assert_fields(msg):
    assert type(msg).__name__ == "Classification"
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == STAMP
    assert msg.header.frame_id == FRAME
    assert [(h.class_id, h.score) for h in msg.results] == CLASSES


def _topic() -> str:
    return f"/vg4d_test_{uuid.uuid4().hex[:12]}/classification"


@pytest.fixture
def context():
    """An rclpy context of this test's own, shut down afterwards."""
    import rclpy
    from rclpy.context import Context

    ctx = Context()
    rclpy.init(context=ctx)
    yield ctx
    if ctx.ok():
        rclpy.shutdown(context=ctx)


def test_init_shutdown_lifecycle_and_field_checks():
    import rclpy
    from rclpy.context import Context
    from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
    from vision_msgs.msg import ObjectHypothesis

    ctx = Context()
    rclpy.init(context=ctx)
    try:
        assert ctx.ok()
        node = LifecycleNode("vg4d_env_check", context=ctx)
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS  # only from "inactive"
        node.destroy_node()
    finally:
        rclpy.shutdown(context=ctx)
    assert not ctx.ok()

    assert os.environ.get("ROS_PYTHON_CHECK_FIELDS") == "1"
    with pytest.raises(AssertionError):
        ObjectHypothesis(class_id="wave", score="high")


def test_classification_between_two_nodes_in_one_process(context):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from vision_msgs.msg import Classification

    topic = _topic()
    pub_node = rclpy.create_node("vg4d_pub", context=context)
    sub_node = rclpy.create_node("vg4d_sub", context=context)
    got = []
    sub_node.create_subscription(Classification, topic, got.append, 10)
    pub = pub_node.create_publisher(Classification, topic, 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(pub_node)
    executor.add_node(sub_node)
    try:
        deadline = time.monotonic() + 20
        while not got and time.monotonic() < deadline:
            pub.publish(_classification())
            executor.spin_once(timeout_sec=0.05)
    finally:
        executor.shutdown()
        pub_node.destroy_node()
        sub_node.destroy_node()
    assert got, f"no Classification received on {topic} within 20 s"
    _assert_fields(got[0])


def test_classification_from_another_process(context):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from vision_msgs.msg import Classification

    topic = _topic()
    node = rclpy.create_node("vg4d_sub_xproc", context=context)
    got = []
    node.create_subscription(Classification, topic, got.append, 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    # No library path handed down: the subprocess sets itself up as any
    # program started with the venv's python does (the wheels' .pth).
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE")}
    proc = subprocess.Popen([sys.executable, __file__, "publish", topic], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 40
        while proc.poll() is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        for _ in range(10):  # whatever is still queued once the publisher has gone
            executor.spin_once(timeout_sec=0.01)
    finally:
        if proc.poll() is None:
            proc.kill()
        out = proc.communicate()[0]
        executor.shutdown()
        node.destroy_node()
    assert proc.returncode == 0, f"publisher exited {proc.returncode}:\n{out}"
    assert got, f"no Classification received from the subprocess on {topic}:\n{out}"
    assert len(got) == 5
    for msg in got:
        _assert_fields(msg)


def _publish(topic: str) -> int:
    """Publisher of the cross-process test: waits for the subscriber, sends 5 messages, exits 0 once all are acked."""
    import rclpy
    from rclpy.duration import Duration
    from vision_msgs.msg import Classification, ObjectHypothesis

    if os.environ.get("ROS_PYTHON_CHECK_FIELDS") != "1":
        print("ROS_PYTHON_CHECK_FIELDS not inherited")
        return 3
    try:
        ObjectHypothesis(score="high")
    except AssertionError:
        pass
    else:
        print("field checks are off in the subprocess")
        return 4
    rclpy.init()
    try:
        node = rclpy.create_node("vg4d_pub_xproc")
        pub = node.create_publisher(Classification, topic, 10)
        deadline = time.monotonic() + 30
        while pub.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                print("no subscriber matched within 30 s")
                return 5
            time.sleep(0.05)
        for _ in range(5):
            pub.publish(_classification())
        # reliable QoS: leave only once the subscriber has every message
        if not pub.wait_for_all_acked(Duration(seconds=10)):
            print("the subscriber did not acknowledge all 5 messages within 10 s")
            return 6
        node.destroy_node()
    finally:
        rclpy.shutdown()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "publish":
        sys.exit(_publish(sys.argv[2]))
    sys.exit(f"usage: {sys.argv[0]} publish TOPIC")
