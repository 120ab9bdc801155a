"""The rclpy lifecycle node ``recognizer``: wiring only.

Everything that decides anything lives in the rclpy-free core
(:mod:`vg4d_ros.recognizer`, :mod:`vg4d_ros.silence`, :mod:`vg4d_ros.outputs`,
:mod:`vg4d_ros.config`); this module declares parameters, creates
subscriptions and publishers, and forwards messages. Lifecycle:

* configure - read parameters, load the checkpoint (a bad path or a
  checkpoint that does not fit fails the transition with the reason; no
  hang), create the publishers, publish ``~/label_info`` (transient-local);
* activate - start the inference worker, subscribe (sensor QoS), start the
  silence watch and the diagnostics timer;
* deactivate - unsubscribe, stop the worker and the timer;
* cleanup - free the model and the publishers.

Run: ``ros2 run vg4d_ros recognizer --ros-args --params-file config/recognize.yaml``
then ``ros2 lifecycle set /recognizer configure`` and ``... activate`` (the
launch file ``recognize.launch.py`` does both).
"""
from __future__ import annotations

import sys
from typing import Any

from vg4d_ros.config import NODE_NAME, RecognizerConfig, parameter_defaults, unflatten

try:  # the module stays importable (docs, py_compile, tests) where ROS 2 is not installed
    import rclpy
    from rclpy.lifecycle import Node as LifecycleNode
    from rclpy.lifecycle import State, TransitionCallbackReturn
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
except ImportError:  # pragma: no cover - exercised only without ROS
    rclpy = None
    LifecycleNode = object
    State = TransitionCallbackReturn = None


def _qos(reliable: bool, depth: int, latched: bool = False):
    return QoSProfile(reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
                      history=HistoryPolicy.KEEP_LAST, depth=depth)


def _describe(profile) -> str:
    def name(policy):
        return getattr(policy, "name", str(policy)).lower()
    return f"{name(profile.reliability)}, {name(profile.durability)}, {name(profile.history)} {profile.depth}"


class RecognizerNode(LifecycleNode):
    """Lifecycle node around :class:`vg4d_ros.recognizer.Recognizer` (see the module docstring)."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        from rcl_interfaces.msg import ParameterDescriptor

        # dynamic typing: `window_s: 3` in a params file is a number, as the core reads it
        # (rclpy would otherwise reject an integer for a parameter declared with a float default)
        for name, default in parameter_defaults().items():
            self.declare_parameter(name, default, ParameterDescriptor(dynamic_typing=True))
        self._core = None
        self._subs: list[Any] = []
        self._pubs: dict[str, Any] = {}
        self._timer = None
        self._watch = None
        self._ros_types: dict[str, Any] = {}

    # -- helpers ------------------------------------------------------------
    def _log(self, level: str, text: str) -> None:
        logger = self.get_logger()
        {"info": logger.info, "warn": logger.warning, "error": logger.error}.get(level, logger.info)(text)

    def _read_config(self) -> RecognizerConfig:
        from vg4d_core.config import from_dict

        import array

        flat = {}
        for name in parameter_defaults():
            value = self.get_parameter(name).value
            # array parameters may come back as array.array; the core's loader takes lists
            flat[name] = list(value) if isinstance(value, (array.array, tuple)) else value
        return from_dict(RecognizerConfig, unflatten(flat), where=f"{self.get_name()} parameters")

    def _publishers_of(self, topic: str):
        from vg4d_ros.silence import PublisherInfo

        return [PublisherInfo(node=f"{i.node_namespace.rstrip('/')}/{i.node_name}", qos=_describe(i.qos_profile))
                for i in self.get_publishers_info_by_topic(topic)]

    def _publish(self, key: str, msg: Any) -> None:
        from vg4d_ros.outputs import to_rclpy

        self._pubs[key].publish(to_rclpy(msg, self._ros_types[key]))

    # -- lifecycle ------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        from diagnostic_msgs.msg import DiagnosticArray
        from std_msgs.msg import String
        from vision_msgs.msg import Classification, LabelInfo

        from vg4d_ros.outputs import classification_msg, label_info_msg, label_msg
        from vg4d_ros.recognizer import Recognizer, RecognizerError, load_model

        try:
            config = self._read_config()
            model = load_model(config)

            def on_result(result) -> None:
                self._publish("action", classification_msg(result))
                self._publish("label", label_msg(result))

            self._core = Recognizer(config, model, on_result, log=self._log)
        except (RecognizerError, ValueError) as exc:
            self.get_logger().error(f"configure failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        out, q = config.output, config.qos
        self._ros_types = {"action": Classification, "label": String, "label_info": LabelInfo,
                           "diagnostics": DiagnosticArray}
        self._pubs = {
            "action": self.create_lifecycle_publisher(Classification, out.action, _qos(True, q.results_depth)),
            "label": self.create_lifecycle_publisher(String, out.label, _qos(True, q.results_depth)),
            "label_info": self.create_publisher(LabelInfo, out.label_info, _qos(True, 1, latched=True)),
            "diagnostics": self.create_lifecycle_publisher(DiagnosticArray, out.diagnostics,
                                                           _qos(True, q.results_depth)),
        }
        self._publish("label_info", label_info_msg(model.class_names, self.get_clock().now().nanoseconds))
        s = self._core.settings
        self.get_logger().info(f"{model.path}: {len(model.class_names)} classes, scores {', '.join(s.scores)}; "
                               f"windows {s.window.num_segments} x {s.window.points_per_frame} over "
                               f"{s.window.window_s:g} s ({s.window_s_source})")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        from sensor_msgs.msg import CameraInfo, Image, PointCloud2

        from vg4d_ros.silence import TopicWatch

        core = self._core
        types = {"depth": Image, "camera_info": CameraInfo, "cloud": PointCloud2, "rgb": Image, "mask": Image}
        handlers = {"depth": core.on_depth, "camera_info": core.on_camera_info, "cloud": core.on_cloud,
                    "rgb": core.on_rgb, "mask": core.on_mask}
        topics = core.topics()
        self._watch = TopicWatch(topics, core.config.silence_timeout_s, publishers_of=self._publishers_of,
                                 log=self._log)
        sensor = _qos(False, core.config.qos.sensor_depth)
        core.start()

        def callback(role):
            handler, watch = handlers[role], self._watch

            def cb(msg) -> None:
                watch.on_message(role)
                handler(msg)
            return cb

        self._subs = [self.create_subscription(types[role], topic, callback(role), sensor)
                      for role, topic in topics.items()]
        self._watch.activate()
        self._timer = self.create_timer(core.config.output.diagnostics_period_s, self._diagnostics)
        return super().on_activate(state)  # activates the lifecycle publishers

    def _diagnostics(self) -> None:
        from vg4d_ros.outputs import diagnostics_msg

        self._publish("diagnostics", diagnostics_msg(self._core.stats(), self._watch.check(),
                                                     self.get_clock().now().nanoseconds))

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
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
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        for pub in self._pubs.values():
            self.destroy_publisher(pub)
        self._pubs = {}
        self._core = None  # frees the model
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        if self._core is not None:
            self._core.stop()
        return TransitionCallbackReturn.SUCCESS


def main(argv: list[str] | None = None) -> int:
    """``ros2 run vg4d_ros recognizer``."""
    if rclpy is None:
        print("vg4d_ros recognizer: rclpy is not importable (source a ROS 2 installation); without ROS use "
              "`vg4d recognize --transport dds`", file=sys.stderr)
        return 2
    rclpy.init(args=argv if argv is not None else sys.argv)
    node = RecognizerNode()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
