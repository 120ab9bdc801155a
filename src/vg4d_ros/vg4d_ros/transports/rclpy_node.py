"""The rclpy lifecycle node ``recognizer``: wiring only.

Everything that decides anything lives in the rclpy-free core
(:mod:`vg4d_ros.pipeline.recognizer`, :mod:`vg4d_ros.pipeline.silence`, :mod:`vg4d_ros.transports.outputs`,
:mod:`vg4d_ros.config`, :mod:`vg4d_ros.pipeline.warmup`); this module declares
parameters, creates subscriptions and publishers, and forwards messages.

Lifecycle (``ros2 lifecycle set <node> <transition>``):

* configure - read the parameters, load the checkpoint and run one warm-up
  inference (numba and torch compile here, not on the first real window);
  any problem (bad parameter, missing or unfitting checkpoint, a message
  package that does not import, e.g. vg4d_msgs not built while
  ``output.events`` is set) fails the transition and the reason is
  logged (``/rosout``); create the publishers, publish ``~/label_info``
  (transient local: late subscribers get it);
* activate - start the inference worker, subscribe (sensor QoS), start the
  silence watch and the diagnostics timer;
* deactivate - unsubscribe, stop the worker and the timer; the open action
  segment is closed (``~/events``: ended, ``stream_end``), then no output;
* cleanup - free the model and the publishers; parameters may be changed
  now and are read at the next configure;
* shutdown (or SIGINT / SIGTERM) - stop the worker; the process exits 0.

Parameters are read at configure: while configured, a change is refused
with that reason (deactivate + cleanup, set, configure). ``use_sim_time``
works as for any node: message stamps are the sensor's, and the silence
watch and the diagnostics timer run on the node's clock (with sim time and
no ``/clock`` publisher, no diagnostics are published).

Input topics are relative names (``camera/depth/image_raw`` ...), resolved
in the node's namespace and remappable:
``ros2 run vg4d_ros recognizer --ros-args -r __ns:=/robot1 -r camera/depth/image_raw:=/cam/depth``.
"""
from __future__ import annotations

import array
import os
import sys
from pathlib import Path
from typing import Any

from vg4d_core.config import from_dict
from vg4d_ros.config import NODE_NAME, RecognizerConfig, parameter_defaults, unflatten
from vg4d_ros.pipeline.model import load_model
from vg4d_ros.pipeline.recognizer import Recognizer
from vg4d_ros.pipeline.silence import PublisherInfo, TopicWatch
from vg4d_ros.pipeline.warmup import warm_up
from vg4d_ros.topics import COMPRESSED_IMAGE, input_type
from vg4d_ros.transports.outputs import (classification_msg, detections_msg, diagnostics_msg, event_msg,
                                         label_info_msg, label_msg, to_rclpy,
                                         xyz_cloud_msg)
from vg4d_ros.validation import validate_recognizer_config

try:  # the module stays importable (docs, py_compile, tests) where ROS 2 is not installed
    import rclpy
    from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
    from rclpy.event_handler import SubscriptionEventCallbacks
    from rclpy.executors import ExternalShutdownException
    from rclpy.lifecycle import Node as LifecycleNode
    from rclpy.lifecycle import State, TransitionCallbackReturn
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
except ImportError:  # pragma: no cover - exercised only without ROS
    rclpy = None
    LifecycleNode = object
    State = TransitionCallbackReturn = None

# What a missing message package means on a robot, and how to get it.
_MISSING_PACKAGE_HINT = ("install it (e.g. `sudo apt install ros-$ROS_DISTRO-{apt}` or "
                         "`rosdep install --from-paths src --ignore-src`) and source the workspace")


def _qos(reliable: bool, depth: int, latched: bool = False):
    return QoSProfile(reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
                      history=HistoryPolicy.KEEP_LAST, depth=depth)


def _describe(profile) -> str:
    def name(policy):
        return getattr(policy, "name", str(policy)).lower()
    return f"{name(profile.reliability)}, {name(profile.durability)}, {name(profile.history)} {profile.depth}"


def _type_name(msg_class) -> str:
    """``sensor_msgs.msg.Image`` -> ``sensor_msgs/msg/Image`` (how rclpy reports a topic's type)."""
    return f"{msg_class.__module__.split('.')[0]}/msg/{msg_class.__name__}"


def numba_cache_dir() -> Path:
    """Where the node keeps numba's compiled kernels: ``$ROS_HOME/vg4d/numba`` (default ``~/.ros``).

    numba writes its cache next to the module by default, which is read-only
    in an installed (apt or root-owned colcon) package; a writable per-user
    folder keeps the compiled kernels across restarts.
    """
    ros_home = os.environ.get("ROS_HOME") or os.path.join(os.path.expanduser("~"), ".ros")
    return Path(ros_home) / "vg4d" / "numba"


def _action_event_class():
    """``vg4d_msgs.msg.ActionEvent``; a :class:`RuntimeError` saying how to get it when it is not built."""
    try:
        from vg4d_msgs.msg import ActionEvent
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"output.events is set but the message package vg4d_msgs is not importable ({exc}): build "
            "src/vg4d_msgs with the rest of the workspace (`colcon build`) and source install/setup.bash, or "
            "set output.events to \"\" to run without ~/events") from None
    return ActionEvent


def foreground_cloud(result) -> Any:
    """The rclpy PointCloud2 of ``result.points_m`` (metres, the result's stamp and frame).

    Built with ``sensor_msgs_py.point_cloud2`` where ROS provides it (what
    users of rclpy perception nodes expect), else with the package's own
    encoder of the same layout (float32 x, y, z, dense).
    """
    from sensor_msgs.msg import PointCloud2

    try:
        from sensor_msgs_py import point_cloud2
    except ImportError:  # not on PyPI, so absent from pip-only environments
        return to_rclpy(xyz_cloud_msg(result.points_m, result.stamp_ns, result.frame_id), PointCloud2)
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header

    sec, nanosec = divmod(int(result.stamp_ns), 1_000_000_000)
    return point_cloud2.create_cloud_xyz32(Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=result.frame_id),
                                           result.points_m.tolist())


class RecognizerNode(LifecycleNode):
    """Lifecycle node around :class:`vg4d_ros.pipeline.recognizer.Recognizer` (see the module docstring)."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        # dynamic typing: `window_s: 3` in a params file is a number, as the core reads it
        # (rclpy would otherwise reject an integer for a parameter declared with a float default)
        for name, default in parameter_defaults().items():
            self.declare_parameter(name, default, ParameterDescriptor(dynamic_typing=True))
        self._own_parameters = set(parameter_defaults())
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._core = None
        self._model = None
        self._subs: list[Any] = []
        self._pubs: dict[str, Any] = {}
        self._timer = None
        self._watch = None
        self._watch_started = False
        self._ros_types: dict[str, Any] = {}

    # -- helpers ------------------------------------------------------------
    def _log(self, level: str, text: str) -> None:
        # one call site per severity: rclpy keys its logging context by the calling line and raises
        # "Logger severity cannot be changed between calls" when one line logs at two severities
        logger = self.get_logger()
        if level == "error":
            logger.error(text)
        elif level == "warn":
            logger.warning(text)
        else:
            logger.info(text)

    def _now_s(self) -> float:
        """The node's clock in seconds (ROS time: simulated under use_sim_time)."""
        return self.get_clock().now().nanoseconds * 1e-9

    def _read_config(self) -> RecognizerConfig:
        flat = {}
        for name in parameter_defaults():
            value = self.get_parameter(name).value
            # array parameters may come back as array.array; the core's loader takes lists
            flat[name] = list(value) if isinstance(value, (array.array, tuple)) else value
        return from_dict(RecognizerConfig, unflatten(flat), where=f"{self.get_fully_qualified_name()} parameters")

    def _on_set_parameters(self, params) -> SetParametersResult:
        """Parameters are read at configure: refuse changes while a configuration is in use."""
        ours = sorted(p.name for p in params if p.name in self._own_parameters)
        if ours and self._core is not None:
            return SetParametersResult(successful=False, reason=(
                f"{', '.join(ours)}: parameters are read at configure; deactivate and clean up the node, "
                "set them, then configure again"))
        return SetParametersResult(successful=True)

    def _publishers_of(self, topic: str):
        return [PublisherInfo(node=f"{i.node_namespace.rstrip('/')}/{i.node_name}", qos=_describe(i.qos_profile),
                              type=i.topic_type)
                for i in self.get_publishers_info_by_topic(topic)]

    def _resolved(self, topic: str) -> str:
        """A (relative, ``~/``) topic name as this node resolves it, remappings applied."""
        return self.resolve_topic_name(topic)

    def _publish(self, key: str, msg: Any) -> None:
        if not self.context.ok():
            return  # a signal shut the context down: the process is stopping, nothing can be published
        self._pubs[key].publish(to_rclpy(msg, self._ros_types[key]))

    # -- lifecycle ------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        # Everything inside one try: rclpy turns an exception raised here into a failed transition whose
        # cause is never logged, so every failure is logged here with its reason.
        try:
            return self._configure()
        except Exception as exc:  # noqa: BLE001 - the transition must fail with the reason, never silently
            self._release()
            self.get_logger().error(f"configure failed: {self._reason(exc)}")
            return TransitionCallbackReturn.FAILURE

    @staticmethod
    def _reason(exc: BaseException) -> str:
        if isinstance(exc, ModuleNotFoundError):
            apt = str(exc.name or "vision_msgs").split(".")[0].replace("_", "-")
            return f"the Python package {exc.name!r} is not importable: {_MISSING_PACKAGE_HINT.format(apt=apt)}"
        return str(exc) if str(exc) else type(exc).__name__

    def _configure(self) -> TransitionCallbackReturn:
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import PointCloud2
        from std_msgs.msg import String
        from vision_msgs.msg import Classification, LabelInfo

        config = self._read_config()
        validate_recognizer_config(config)
        if config.input_frame:  # /tf and /tf_static are subscribed at activate: a missing package fails here
            import tf2_msgs.msg  # noqa: F401
        model = load_model(config)

        def on_result(result) -> None:
            self._publish("action", classification_msg(result, model.class_names))
            self._publish("label", label_msg(result))
            if "foreground" in self._pubs and result.points_m is not None:
                self._pubs["foreground"].publish(foreground_cloud(result))

        core = Recognizer(config, model, on_result, log=self._log)
        seconds = warm_up(model, core.settings)
        out, q = config.output, config.qos
        self._ros_types = {"action": Classification, "label": String, "label_info": LabelInfo,
                           "diagnostics": DiagnosticArray}
        if out.detections and config.people.enabled:
            from vision_msgs.msg import Detection3DArray

            self._ros_types["detections"] = Detection3DArray
            core.on_people = lambda people: self._publish("detections", detections_msg(people, core.label_names))
        if out.events:
            self._ros_types["events"] = _action_event_class()
            core.on_event = lambda event: self._publish("events", event_msg(event))
        self._pubs = {
            "action": self.create_lifecycle_publisher(Classification, out.action, _qos(True, q.results_depth)),
            "label": self.create_lifecycle_publisher(String, out.label, _qos(True, q.results_depth)),
            "label_info": self.create_publisher(LabelInfo, out.label_info, _qos(True, 1, latched=True)),
            "diagnostics": self.create_lifecycle_publisher(DiagnosticArray, out.diagnostics,
                                                           _qos(True, q.results_depth)),
        }
        if "detections" in self._ros_types:
            self._pubs["detections"] = self.create_lifecycle_publisher(self._ros_types["detections"], out.detections,
                                                                       _qos(True, q.results_depth))
        if out.events:
            self._pubs["events"] = self.create_lifecycle_publisher(self._ros_types["events"], out.events,
                                                                   _qos(True, q.results_depth))
        if out.foreground:
            self._pubs["foreground"] = self.create_lifecycle_publisher(PointCloud2, out.foreground,
                                                                       _qos(False, q.results_depth))
        self._core, self._model = core, model
        self._publish("label_info", label_info_msg(core.label_names, self.get_clock().now().nanoseconds,
                                                   threshold=core.threshold))
        s = core.settings
        self.get_logger().info(f"{model.path}: {len(model.class_names)} classes, scores {', '.join(s.scores)}; "
                               f"windows {s.window.num_segments} x {s.window.points_per_frame} over "
                               f"{s.window.window_s:g} s ({s.window_s_source}); warm-up {seconds:.2f} s; inputs "
                               + ", ".join(f"{role} {self._resolved(t)}" for role, t in core.topics().items()))
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

        core = self._core
        raw = {"depth": Image, "camera_info": CameraInfo, "cloud": PointCloud2, "rgb": Image, "mask": Image}
        # an image topic of image_transport's compressed kind (.../compressed, .../compressedDepth) carries
        # CompressedImage; the recogniser decodes it
        types = {role: CompressedImage if input_type(role, self._resolved(t)) == COMPRESSED_IMAGE else raw[role]
                 for role, t in core.topics().items()}
        types.setdefault("camera_info", CameraInfo)
        handlers = {"depth": core.on_depth, "camera_info": core.on_camera_info, "cloud": core.on_cloud,
                    "rgb": core.on_rgb, "mask": core.on_mask}
        topics = core.topics()
        sensor = _qos(False, core.config.qos.sensor_depth)
        # the silence watch runs on the node's clock (simulated under use_sim_time) and words the requested
        # QoS and types as the publishers' are reported, to name a mismatch
        self._watch = TopicWatch({role: self._resolved(t) for role, t in topics.items()},
                                 core.config.silence_timeout_s, publishers_of=self._publishers_of,
                                 log=self._log, clock=self._now_s, valid=core.input_valid,
                                 requested={role: _describe(sensor) for role in topics},
                                 types={role: _type_name(types[role]) for role in topics})
        core.start()

        def callback(role):
            handler, watch = handlers[role], self._watch

            def cb(msg) -> None:
                watch.on_message(role)
                handler(msg)
            return cb

        self._subs = [self.create_subscription(types[role], topic, callback(role), sensor)
                      for role, topic in topics.items()]
        if "camera_info" in topics:
            # drivers that publish camera_info once, latched: a transient-local reader receives that sample
            # (a volatile reader never would); it matches transient-local writers only, the sensor-QoS
            # subscription above takes the periodic ones
            # A best-effort camera_info publisher does not match it; that is expected, so rclpy's
            # "incompatible QoS" warning is silenced for this one subscription
            quiet = SubscriptionEventCallbacks(incompatible_qos=lambda event: None)
            self._subs.append(self.create_subscription(CameraInfo, topics["camera_info"], callback("camera_info"),
                                                       _qos(True, 1, latched=True), event_callbacks=quiet))
        if core.tf_topics():  # input_frame set: the TF tree that moves the points into it
            from tf2_msgs.msg import TFMessage

            # the core's pure-Python buffer (vg4d_ros.pipeline.transforms), not tf2_ros: the same code serves the DDS
            # transport (no rclpy node there) and the tests; tf2_ros's QoS: /tf_static reliable transient-local
            # (the static transforms every broadcaster latched before this node came up), /tf best-effort
            # (matches reliable and best-effort broadcasters), keep-last 100 each
            tf_qos = {"tf": _qos(False, 100), "tf_static": _qos(True, 100, latched=True)}
            tf_handlers = {"tf": core.on_tf, "tf_static": core.on_tf_static}
            self._subs += [self.create_subscription(TFMessage, topic, tf_handlers[role], tf_qos[role])
                           for role, topic in core.tf_topics().items()]
        # the silence watch starts at the first diagnostics tick: under use_sim_time the node's clock reads 0
        # until /clock arrives, and silence measured from 0 would be reported as thousands of seconds
        self._watch_started = False
        self._timer = self.create_timer(core.config.output.diagnostics_period_s, self._diagnostics)
        return super().on_activate(state)  # activates the lifecycle publishers

    def _diagnostics(self) -> None:
        if not self._watch_started:
            self._watch.activate()
            self._watch_started = True

        self._publish("diagnostics", diagnostics_msg(self._core.stats(), self._watch.check(),
                                                     self.get_clock().now().nanoseconds,
                                                     name=self.get_fully_qualified_name()))

    def _stop_io(self) -> None:
        for sub in self._subs:
            self.destroy_subscription(sub)
        self._subs = []
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None
        if self._core is not None:
            self._core.stop()
        if self._watch is not None:
            self._watch.deactivate()

    def _release(self) -> None:
        self._stop_io()
        for pub in self._pubs.values():
            self.destroy_publisher(pub)
        self._pubs = {}
        self._core = self._model = None  # frees the model

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_io()
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def release(self) -> None:
        """Stop the worker and free the model (process exit without a shutdown transition)."""
        self._release()


def main(argv: list[str] | None = None) -> int:
    """``ros2 run vg4d_ros recognizer``: spin until shutdown; SIGINT / SIGTERM end it with status 0."""
    if rclpy is None:
        print("vg4d_ros recognizer: rclpy is not importable (source a ROS 2 installation); without ROS use "
              "`vg4d recognize --transport dds`", file=sys.stderr)
        return 2
    # before anything imports numba: compiled kernels go to a folder this user can write
    os.environ.setdefault("NUMBA_CACHE_DIR", str(numba_cache_dir()))
    rclpy.init(args=argv if argv is not None else sys.argv)
    node = RecognizerNode()
    try:
        spin_until_shutdown(node)
    finally:
        node.release()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def spin_until_shutdown(node, spin=None) -> None:
    """``rclpy.spin(node)`` (or ``spin``) until its context is shut down. A SIGINT / SIGTERM is a normal stop:
    rclpy's signal handler shuts the context down, and the executor says so with ExternalShutdownException,
    or, when the signal lands while it builds its wait set, with rcl's error "the given context is not
    valid" (seen on a loaded 2-core machine). Any error while the context is still up is raised."""
    try:
        (spin or rclpy.spin)(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if node.context.ok():
            raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
