"""``vg4d recognize --transport dds``: the recogniser on ROS 2 topics without rclpy.

Subscribes (cyclonedds, :mod:`vg4d_ros.transports.dds`) with the sensor QoS
(best-effort, keep-last ``qos.sensor_depth``) to the configured inputs on
``rt/<topic>``, feeds the :class:`~vg4d_ros.pipeline.recognizer.Recognizer` core,
and publishes ``Classification`` + ``String`` and the action events
(``vg4d_msgs/ActionEvent``; reliable, keep-last ``qos.results_depth``),
``Detection3DArray`` per tick with ``people.enabled``,
``LabelInfo`` once (transient-local) and
``DiagnosticArray`` every ``output.diagnostics_period_s``. A ROS 2 graph on
the same ROS_DOMAIN_ID with rmw_cyclonedds sees these as ordinary topics.

Silence reporting uses the DDS built-in publication topic: every writer on
an input topic is listed with its offered QoS, whether or not it matched.

Usage::

    vg4d recognize --transport dds --checkpoint CK [--config config/recognize.yaml]
                   [--domain N] [--duration S] [--name recognizer] [--stats-json PATH] [key=value ...]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence


from vg4d_core.config import ConfigError
from vg4d_ros.config import NODE_NAME, RecognizerConfig, load_recognizer_config
from vg4d_ros.pipeline.model import RecognizerError, load_model
from vg4d_ros.pipeline.recognizer import Recognition, Recognizer
from vg4d_ros.pipeline.silence import PublisherInfo, TopicWatch
from vg4d_ros.pipeline.transforms import TF_TYPE
from vg4d_ros.pipeline.warmup import warm_up
from vg4d_ros.transports.dds import DdsPublisher, DdsSubscriber, participant
from vg4d_ros.transports.dds.names import latched_qos, results_qos, sensor_qos
from vg4d_ros.transports.outputs import (classification_msg, detections_msg, diagnostics_msg, event_msg,
                                         label_info_msg, label_msg, xyz_cloud_msg)
from vg4d_ros.typestore import ros_typestore
from vg4d_ros.topics import INPUT_TYPES, input_type, resolve_topic



def describe_qos(qos: Any) -> str:
    """A cyclonedds Qos as "best_effort, volatile, keep_last 5" (reliability, durability, history).

    Read from the policies' reprs (``Policy.Reliability.BestEffort``,
    ``Policy.History.KeepLast(depth=5)``): in cyclonedds 11 some policies are
    singleton instances of generated types, so isinstance checks do not work.
    """
    names = {"Reliability.BestEffort": "best_effort", "Reliability.Reliable": "reliable",
             "Durability.Volatile": "volatile", "Durability.TransientLocal": "transient_local",
             "Durability.Transient": "transient", "Durability.Persistent": "persistent",
             "History.KeepAll": "keep_all"}
    parts = []
    try:
        policies = [repr(p) for p in qos]
    except TypeError:
        return str(qos)
    for kind in ("Reliability", "Durability", "History"):
        for text in policies:
            name = text.removeprefix("Policy.").split("(")[0]
            if not name.startswith(kind + "."):
                continue
            if name == "History.KeepLast":
                parts.append("keep_last " + text.split("depth=")[-1].rstrip(")"))
            elif name in names:
                parts.append(names[name])
    return ", ".join(parts) or str(qos)


class PublicationMonitor:
    """All DDS writers seen on the domain (built-in DCPSPublication topic), by ROS topic name."""

    def __init__(self, participant) -> None:
        from cyclonedds.builtin import BuiltinDataReader, BuiltinTopicDcpsPublication

        self._reader = BuiltinDataReader(participant, BuiltinTopicDcpsPublication)
        self._own = participant.guid
        self._lock = threading.Lock()
        self._by_topic: dict[str, dict[Any, Any]] = {}
        self._topic_of: dict[Any, str] = {}  # writer key -> ROS topic, to forget a writer by its key alone

    def poll(self) -> None:
        """Take the publication announcements that arrived since the last poll (never raises)."""
        from cyclonedds.core import InstanceState

        try:
            samples = self._reader.take(N=64)
        except Exception:  # the built-in topic is best effort information; never fail the node for it
            return
        with self._lock:
            for s in samples:
                info = getattr(s, "sample_info", None)
                alive = info is None or (info.valid_data and info.instance_state == InstanceState.Alive)
                if not alive:
                    # a writer that left arrives as a dispose / unregister sample: only its key is
                    # filled in (topic_name is None), so it is found by the key recorded when it came
                    self._forget(s.key)
                    continue
                name = s.topic_name if isinstance(s.topic_name, str) else ""
                if not name.startswith("rt/") or s.participant_key == self._own:
                    continue  # not a ROS topic, or one of our own writers
                topic = "/" + name[3:]
                self._by_topic.setdefault(topic, {})[s.key] = s
                self._topic_of[s.key] = topic

    def _forget(self, key: Any) -> None:
        topic = self._topic_of.pop(key, None)
        if topic is not None:
            self._by_topic.get(topic, {}).pop(key, None)

    def publishers_of(self, topic: str):
        self.poll()
        with self._lock:
            return [PublisherInfo(node=f"participant {str(s.participant_key)[:8]}", qos=describe_qos(s.qos),
                                  type=s.type_name if isinstance(s.type_name, str) else "")
                    for s in self._by_topic.get(topic, {}).values()]


def _log(level: str, text: str) -> None:
    print(f"[vg4d recognize] {level}: {text}", file=sys.stderr, flush=True)


def run(config: RecognizerConfig, *, domain: int, duration_s: float = 0.0, node_name: str = NODE_NAME,
        stats_json: str | None = None, stop: threading.Event | None = None) -> dict[str, Any]:
    """Run the DDS recogniser until ``duration_s`` (0 = until ``stop`` / SIGINT); returns the final stats."""
    model = load_model(config)  # fails here, before any topic exists, on a bad checkpoint
    rec = Recognizer(config, model, lambda result: publish(result), log=_log)
    warm_s = warm_up(model, rec.settings)  # numba / torch compile now, not on the first live window
    ts = ros_typestore()
    dp = participant(domain)
    out = config.output
    action_pub = DdsPublisher(dp, resolve_topic(out.action, node_name), "vision_msgs/msg/Classification",
                              results_qos(config.qos.results_depth), ts)
    label_pub = DdsPublisher(dp, resolve_topic(out.label, node_name), "std_msgs/msg/String",
                             results_qos(config.qos.results_depth), ts)
    info_pub = DdsPublisher(dp, resolve_topic(out.label_info, node_name), "vision_msgs/msg/LabelInfo",
                            latched_qos(), ts)
    diag_pub = DdsPublisher(dp, resolve_topic(out.diagnostics, node_name), "diagnostic_msgs/msg/DiagnosticArray",
                            results_qos(config.qos.results_depth), ts)

    if out.detections and config.people.enabled:
        detections_pub = DdsPublisher(dp, resolve_topic(out.detections, node_name), "vision_msgs/msg/Detection3DArray",
                                      results_qos(config.qos.results_depth), ts)
        rec.on_people = lambda people: detections_pub.publish(detections_msg(people, rec.label_names, ts))
    if out.events:
        events_pub = DdsPublisher(dp, resolve_topic(out.events, node_name), "vg4d_msgs/msg/ActionEvent",
                                  results_qos(config.qos.results_depth), ts)
        rec.on_event = lambda event: events_pub.publish(event_msg(event, ts))
    cloud_pub = (DdsPublisher(dp, resolve_topic(out.foreground, node_name), "sensor_msgs/msg/PointCloud2",
                              sensor_qos(config.qos.results_depth), ts) if out.foreground else None)

    def publish(result: Recognition) -> None:
        action_pub.publish(classification_msg(result, model.class_names, ts))
        label_pub.publish(label_msg(result, ts))
        if cloud_pub is not None and result.points_m is not None:
            cloud_pub.publish(xyz_cloud_msg(result.points_m, result.stamp_ns, result.frame_id, ts))

    monitor = PublicationMonitor(dp)
    topics = rec.topics()
    sensor = sensor_qos(config.qos.sensor_depth)
    watch = TopicWatch(topics, config.silence_timeout_s, publishers_of=monitor.publishers_of, log=_log,
                       valid=rec.input_valid, requested={role: describe_qos(sensor) for role in topics},
                       types={role: input_type(role, topic) for role, topic in topics.items()})
    handlers = {"depth": rec.on_depth, "camera_info": rec.on_camera_info, "cloud": rec.on_cloud,
                "rgb": rec.on_rgb, "mask": rec.on_mask}
    # an image_transport compressed topic (.../compressed, .../compressedDepth) carries CompressedImage
    readers = [(role, DdsSubscriber(dp, topic, input_type(role, topic), sensor, ts)) for role, topic in topics.items()]
    if "camera_info" in topics:
        # drivers that publish camera_info once, latched: only a transient-local reader receives that sample
        # (it matches transient-local writers only; the sensor-QoS reader takes the periodic ones)
        readers.append(("camera_info", DdsSubscriber(dp, topics["camera_info"], INPUT_TYPES["camera_info"],
                                                     latched_qos(), ts)))
    # input_frame set: /tf and /tf_static feed the core's TF buffer (vg4d_ros.pipeline.transforms), with tf2_ros's QoS
    # (/tf_static reliable transient-local keep-last 100: what broadcasters latched; /tf best-effort); not
    # watched for silence (a robot whose frames are all static publishes no /tf)
    for role, topic in rec.tf_topics().items():
        qos = latched_qos(100) if role == "tf_static" else sensor_qos(100)
        readers.append((role, DdsSubscriber(dp, topic, TF_TYPE, qos, ts)))
    handlers.update(tf=rec.on_tf, tf_static=rec.on_tf_static)
    from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet
    from cyclonedds.util import duration

    waitset = WaitSet(dp)
    for _, sub in readers:
        waitset.attach(ReadCondition(sub.reader, SampleState.Any | ViewState.Any | InstanceState.Alive))
    info_pub.publish(label_info_msg(rec.label_names, time.time_ns(), threshold=rec.threshold, typestore=ts))
    s = rec.settings
    _log("info", f"{model.path}: {len(model.class_names)} classes, scores {', '.join(s.scores)}; windows of "
         f"{s.window.num_segments} x {s.window.points_per_frame} over {s.window.window_s:g} s "
         f"({s.window_s_source}); warm-up {warm_s:.2f} s; inputs {topics}; domain {domain}")
    stop = stop or threading.Event()
    rec.start()
    watch.activate()
    start = time.monotonic()
    next_diag = start + out.diagnostics_period_s
    try:
        while not stop.is_set():
            now = time.monotonic()
            if duration_s and now - start >= duration_s:
                break
            waitset.wait(duration(milliseconds=50))
            for role, sub in readers:
                for raw in sub.take_raw(64):
                    watch.on_message(role)
                    try:
                        msg = ts.deserialize_cdr(raw, sub.msgtype)
                    except Exception as exc:  # undecodable bytes are malformed input, not a crash
                        rec.messages[role] += 1
                        rec.record_malformed(role, f"undecodable CDR for {sub.msgtype}: {type(exc).__name__}")
                        continue
                    handlers[role](msg)
            if time.monotonic() >= next_diag:
                next_diag += out.diagnostics_period_s
                diag_pub.publish(diagnostics_msg(rec.stats(), watch.check(), time.time_ns(), ts,
                                                 name=resolve_topic("~", node_name)))
    finally:
        rec.stop()
        stats = rec.stats()
        stats["topics"] = {t.role: {"topic": t.topic, "state": t.state, "message": t.message, "count": t.count}
                           for t in watch.check()}
        if stats_json:
            Path(stats_json).write_text(json.dumps(stats, indent=2, default=str) + "\n", encoding="utf-8")
        _log("info", f"stopped: {stats['windows_formed']} windows, {stats['windows_inferred']} labelled, "
             f"{stats['windows_dropped']} dropped, {stats['malformed_total']} malformed messages")
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="vg4d recognize", description=__doc__.split("\n\n")[0])
    ap.add_argument("--transport", choices=["dds", "ros"], default="dds",
                    help="dds: cyclonedds without rclpy (this program); ros: use `ros2 run vg4d_ros recognizer`")
    ap.add_argument("--checkpoint", help="checkpoint path (overrides inference.checkpoint)")
    ap.add_argument("--config", default=None, help="recognize.yaml (ROS params layout or plain); default: built-in")
    ap.add_argument("--domain", type=int, default=None, help="DDS domain = ROS_DOMAIN_ID (default: $ROS_DOMAIN_ID or 0)")
    ap.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = run until Ctrl-C)")
    ap.add_argument("--name", default=NODE_NAME, help="node name for ~/ topics and the params file section")
    ap.add_argument("--stats-json", default=None, help="write the final counters here")
    ap.add_argument("overrides", nargs="*", help="key=value settings, e.g. window.hop_frames=10")
    args = ap.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.transport == "ros":
        print("vg4d recognize: the rclpy transport is the ROS 2 node: `ros2 run vg4d_ros recognizer "
              "--ros-args --params-file config/recognize.yaml`", file=sys.stderr)
        return 2
    overrides = list(args.overrides) + ([f"inference.checkpoint={args.checkpoint}"] if args.checkpoint else [])
    try:
        domain = args.domain if args.domain is not None else _env_domain()
        config = load_recognizer_config(args.config, overrides, node_name=args.name, domain=domain)
    except ValueError as exc:  # ConfigError: one line naming the field, its value and the allowed range
        return _fail(exc)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run(config, domain=domain, duration_s=args.duration, node_name=args.name, stats_json=args.stats_json,
            stop=stop)
    except (RecognizerError, ConfigError) as exc:
        return _fail(exc)
    return 0


def _env_domain() -> int:
    """``$ROS_DOMAIN_ID`` (default 0); not an integer is a :class:`ConfigError` naming it."""
    text = os.environ.get("ROS_DOMAIN_ID", "").strip() or "0"
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"ROS_DOMAIN_ID={text!r} is out of range: allowed an integer 0..232") from None


def _fail(exc: Exception) -> int:
    """Print the error as one line (never a traceback) and give the bad-configuration exit status 2."""
    print(f"vg4d recognize: error: {' '.join(str(exc).split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
