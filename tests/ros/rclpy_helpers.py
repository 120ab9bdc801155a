"""The recogniser under real rclpy: a driver node that plays the robot around it.

The driver publishes what a camera driver publishes (depth 16UC1 / 32FC1 +
CameraInfo, colour, PointCloud2) with fixed message stamps, calls the
lifecycle services as ``ros2 lifecycle set`` does, and records every output
topic and ``/rosout``. Messages are built as rosbags objects by the shared
builders of :mod:`recognizer_helpers` and copied into rclpy types with the
node's own :func:`vg4d_ros.transports.outputs.to_rclpy`, so the DDS, replay and rclpy
tests feed the same bytes.

Each test gets its own ROS context on its own domain id, so tests (and
subprocess nodes still shutting down) never hear each other.
"""
from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from collections import defaultdict
from typing import Any, Callable

import numpy as np

import recognizer_helpers as rh

# rclpy checks message field types only with this set, as Humble always does: a wrong type fails here
os.environ.setdefault("ROS_PYTHON_CHECK_FIELDS", "1")

import rclpy  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402
from rcl_interfaces.msg import Log  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from vg4d_msgs.msg import ActionEvent  # noqa: E402
from vision_msgs.msg import Classification, Detection3DArray, LabelInfo  # noqa: E402

from vg4d_ros.transports.outputs import to_rclpy  # noqa: E402
from vg4d_ros.typestore import ros_typestore  # noqa: E402

T0_NS = 1_700_000_000_000_000_000  # message stamps: the sensor's clock, not the node's
PERIOD_NS = 33_333_333  # 30 Hz
HANG_GUARD_S = float(os.environ.get("VG4D_TEST_HANG_GUARD_S", 600))  # only a hang guard: a healthy run on a loaded machine is far below it

TRANSITIONS = {"configure": Transition.TRANSITION_CONFIGURE, "activate": Transition.TRANSITION_ACTIVATE,
               "deactivate": Transition.TRANSITION_DEACTIVATE, "cleanup": Transition.TRANSITION_CLEANUP,
               "shutdown": Transition.TRANSITION_UNCONFIGURED_SHUTDOWN}

SENSOR_QOS = QoSProfile(reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST, depth=5)
RELIABLE_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=50)
LATCHED_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                         history=HistoryPolicy.KEEP_LAST, depth=1)

_domains = itertools.count(100 + os.getpid() % 50)


_names = itertools.count()


def unique_name(base: str = "recognizer") -> str:
    """A node name no other node of this process used: rcl sends a node's log to /rosout through one
    publisher per logger name per process, so a test that reads /rosout needs a name of its own."""
    return f"{base}_{os.getpid()}_{next(_names)}"


def next_domain() -> int:
    """A domain id no other test of this session uses (100-232 is free of the usual defaults)."""
    return 100 + (next(_domains) - 100) % 130


def wait_until(condition: Callable[[], bool], what: str, guard_s: float = HANG_GUARD_S) -> None:
    """Poll ``condition`` until true; the guard only catches a hang, it claims nothing about speed."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > guard_s:
            raise AssertionError(f"no {what} after {guard_s:.0f} s: it looks hung")
        time.sleep(0.01)


def stamp_ns(msg: Any) -> int:
    """Nanoseconds of a message's header stamp, of a Header's stamp, or of a builtin_interfaces/Time."""
    t = getattr(msg, "header", msg)
    t = getattr(t, "stamp", t)
    return t.sec * 1_000_000_000 + t.nanosec


# -- messages a camera driver publishes (rosbags builders -> rclpy types) ------------------------
_TS = ros_typestore()


def depth_16uc1(i: int) -> Image:
    return to_rclpy(rh.depth_msg(_TS, i, T0_NS + i * PERIOD_NS), Image)


def depth_32fc1(i: int) -> Image:
    """The same scene as :func:`depth_16uc1` in metres with NaN for no return."""
    metres = rh.depth_frame(i).astype(np.float32) / 1000.0
    metres[metres == 0] = np.nan
    msg = rh.depth_msg(_TS, i, T0_NS + i * PERIOD_NS)
    msg.encoding, msg.step = "32FC1", rh.WIDTH * 4
    msg.data = metres.view(np.uint8).reshape(-1)
    return to_rclpy(msg, Image)


def depth_compressed(i: int, codec: str = "png") -> CompressedImage:
    """The scene of :func:`depth_16uc1` as image_transport's compressedDepth publishes it."""
    from vg4d_ros.pipeline.compressed import encode_depth

    fields = encode_depth(rh.depth_frame(i).astype(np.uint16), None, codec)
    return CompressedImage(header=depth_16uc1(i).header, format=fields["format"], data=fields["data"])


def depth_rvl(i: int) -> CompressedImage:
    return depth_compressed(i, "rvl")


def camera_info(i: int = 0) -> CameraInfo:
    return to_rclpy(rh.camera_info_msg(_TS, T0_NS + i * PERIOD_NS), CameraInfo)


def colour(i: int) -> Image:
    return to_rclpy(rh.rgb_msg(_TS, T0_NS + i * PERIOD_NS), Image)


def cloud(i: int) -> PointCloud2:
    """The depth scene as an unorganised float32 x, y, z PointCloud2 (metres)."""
    from vg4d_core.data.depth import CameraIntrinsics, depth_to_points

    pts = depth_to_points(rh.depth_frame(i).astype(np.float32) / 1000.0,
                          CameraIntrinsics(rh.FX, rh.FX, rh.CX, rh.CY)).astype(np.float32)
    T = _TS.types
    fields = [T["sensor_msgs/msg/PointField"](name=n, offset=4 * k, datatype=7, count=1)
              for k, n in enumerate("xyz")]
    msg = T["sensor_msgs/msg/PointCloud2"](header=rh.header(_TS, T0_NS + i * PERIOD_NS), height=1,
                                           width=len(pts), fields=fields, is_bigendian=False, point_step=12,
                                           row_step=12 * len(pts), data=pts.view(np.uint8).reshape(-1),
                                           is_dense=True)
    return to_rclpy(msg, PointCloud2)


# -- the driver ----------------------------------------------------------------------------------
class Driver:
    """A node that feeds a recogniser and records what it publishes.

    Args:
        context: an initialised rclpy context.
        target: the recogniser's fully qualified name, e.g. ``/recognizer`` or ``/robot1/recog2``.
        input_ns: prefix of the input topics (``""`` = the root namespace).
    """

    def __init__(self, context, target: str = "/recognizer", *, name: str = "vg4d_test_driver") -> None:
        self.context = context
        self.target = target
        self.node = Node(name, context=context)
        self.got: dict[str, list] = defaultdict(list)
        self._lock = threading.Lock()
        self._subs: list[Any] = []
        self._timer = None
        self.frames_sent = 0
        self.watch(f"{target}/action", Classification, "action")
        self.watch(f"{target}/label", String, "label")
        self.watch(f"{target}/label_info", LabelInfo, "label_info", LATCHED_QOS)
        self.watch(f"{target}/events", ActionEvent, "events")
        self.watch(f"{target}/detections", Detection3DArray, "detections")
        self.watch("/diagnostics", DiagnosticArray, "diagnostics")
        self.watch("/rosout", Log, "rosout", QoSProfile(reliability=ReliabilityPolicy.RELIABLE,
                                                        durability=DurabilityPolicy.TRANSIENT_LOCAL,
                                                        history=HistoryPolicy.KEEP_LAST, depth=1000))
        self._change = self.node.create_client(ChangeState, f"{target}/change_state")
        self._get_state = self.node.create_client(GetState, f"{target}/get_state")

    def watch(self, topic: str, msg_type: Any, key: str, qos: QoSProfile = RELIABLE_QOS) -> None:
        def record(msg) -> None:
            with self._lock:
                self.got[key].append(msg)
        self._subs.append(self.node.create_subscription(msg_type, topic, record, qos))

    def count(self, key: str) -> int:
        with self._lock:
            return len(self.got[key])

    def messages(self, key: str) -> list:
        with self._lock:
            return list(self.got[key])

    def log_text(self) -> str:
        """Everything the target node logged to /rosout so far."""
        name = self.target.lstrip("/").replace("/", ".")
        return "\n".join(m.msg for m in self.messages("rosout") if m.name == name)

    # lifecycle services, as `ros2 lifecycle set` calls them
    def transition(self, name: str) -> bool:
        wait_until(lambda: self._change.service_is_ready(), f"{self.target}/change_state service")
        future = self._change.call_async(ChangeState.Request(transition=Transition(id=TRANSITIONS[name])))
        wait_until(future.done, f"answer to {name}")
        return bool(future.result().success)

    def state(self) -> str:
        wait_until(lambda: self._get_state.service_is_ready(), f"{self.target}/get_state service")
        future = self._get_state.call_async(GetState.Request())
        wait_until(future.done, "answer to get_state")
        return future.result().current_state.label

    # a camera driver
    def stream(self, make: Callable[[int], Any], topic: str, *, info_topic: str | None = None,
               rgb_topic: str | None = None, rate_hz: float = 30.0, qos: QoSProfile = SENSOR_QOS) -> None:
        """Publish ``make(i)`` on ``topic`` at ``rate_hz`` (with CameraInfo / colour of the same stamp)."""
        pub = self.node.create_publisher(type(make(0)), topic, qos)
        info = self.node.create_publisher(CameraInfo, info_topic, qos) if info_topic else None
        rgb = self.node.create_publisher(Image, rgb_topic, qos) if rgb_topic else None

        def tick() -> None:
            i = self.frames_sent
            if info is not None:
                info.publish(camera_info(i))
            if rgb is not None:
                rgb.publish(colour(i))
            pub.publish(make(i))
            self.frames_sent += 1
        self._timer = self.node.create_timer(1.0 / rate_hz, tick)

    def stop_stream(self) -> None:
        if self._timer is not None:
            self.node.destroy_timer(self._timer)
            self._timer = None


class Spinner:
    """Spins nodes of one context on a background thread until closed."""

    def __init__(self, context, *nodes) -> None:
        self.executor = SingleThreadedExecutor(context=context)
        for n in nodes:
            self.executor.add_node(n)
        self._start()

    def _start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def add(self, node) -> None:
        self.executor.add_node(node)

    def remove(self, node) -> None:
        """Take ``node`` out and destroy it, as a process that exits. The spin thread is stopped meanwhile:
        destroying a node while the executor waits on or takes from its entities raised in that thread,
        which then died silently and every later wait in the test hung."""
        self._stop.set()
        self._thread.join()
        self.executor.remove_node(node)
        node.destroy_node()
        self._start()

    def _spin(self) -> None:
        while not self._stop.is_set() and self.executor.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception as exc:  # say so in the test's output instead of dying silently
                if self.executor.context.ok():
                    print(f"Spinner: spin_once raised {type(exc).__name__}: {exc}", file=sys.stderr)
                    raise

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.executor.shutdown()
