"""``vg4d replay``: recorded ROS 2 bags through the live recogniser, with a report.

Every message of the recogniser's input topics is read in recorded-time
order (:mod:`vg4d_ros.bags.bagio`) and handed to the SAME
:class:`vg4d_ros.pipeline.recognizer.Recognizer` callbacks the live transports call
(``on_camera_info``, ``on_depth`` / ``on_cloud``, ``on_rgb``, ``on_mask``):
same synchroniser, conversion, foreground selection, windows, worker thread
and predictor. Two pacings:

* as fast as possible (default): after a message that formed a window the
  replay waits for the worker to finish it, so every window is inferred, in
  order, and the results are deterministic;
* ``--rate R``: messages are handed over at R x their recorded pace and the
  replay never waits, so the newest-window-wins rule drops windows exactly as
  it would live on this machine (counted as ``windows_dropped``).

Per bag, one recogniser (buffers and counters start empty, as a node started
for that recording). After the bag's last message one more "end" window is
made of everything still buffered (:meth:`Recognizer.end_window`): it goes
through the gates every live window goes through (no person in view: not
classified; top-1 below ``guards.confidence_threshold``: withheld), and a
refused end window is reported as such (``status`` and ``reason``, no
``top1``), never as a label. With a window at least as long as the
recording it covers the whole recording, which is how the replay's per-bag
("video") prediction equals ``vg4d evaluate`` on NTU bags
(``--no-end-window`` turns it off).

Random stream of the clips: live, every window uses ``item_rng(seed, "test",
0, 0)``; ``--index-by-bag-order`` gives the windows of the i-th bag index i,
the stream of the i-th test item of ``vg4d evaluate`` (pass the bags in the
dataset's order, e.g. sorted NTU names).

Ground truth (optional): a ``--labels`` file (:mod:`vg4d_ros.bags.labels`) or the
bag's ``std_msgs/String`` label topic (``--label-topic``, default the one
``vg4d ntu2bag`` writes); a window's label is the segment containing its
stamp (the newest frame's header stamp).

Outputs under ``--out DIR``:

* ``DIR/bags/<bag>/`` - one bag per input bag with the node's outputs:
  ``vision_msgs/Classification`` (top-k, header = window stamp) on
  ``output.action``, ``std_msgs/String`` top-1 on ``output.label``,
  ``vision_msgs/LabelInfo`` once on ``output.label_info``, ``vg4d_msgs/ActionEvent``
  on ``output.events`` (``~/`` resolved against the node name ``recognizer``);
* ``DIR/report.json`` - every window (stamp, top-k, label, latency, status), per-bag
  and total accuracy, latency p50/p95, throughput, and a count of every
  warning class (:data:`WARNING_CLASSES`), with command, commit and machine;
* a printed table of the windows and a summary.

A folder that is not itself a bag stands for its entries (a folder of bags).
Bad bags: a missing, empty, truncated or corrupt bag, anything that is not a
bag, or a bag without the configured topics (the error lists the topics and
types the bag has) is skipped: its path and reason go into the report's
``skipped`` list and the printed summary, the rest is evaluated, and the exit
status is 3 (:data:`EXIT_STATUS_HELP`). Undecodable messages, malformed
messages, depth before any camera info, stamps going backwards and windows
dropped are counted; ground truth naming a class the checkpoint does not
have is named in the summary, counted, and left out of the accuracies.
"""
from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from vg4d_core.config import to_dict
from vg4d_core.provenance import save_json
from vg4d_core.runtime.tables import format_table
from vg4d_ros.bags.bagio import BagError, BagWriter, bag_topics, describe_topics, open_bag, read_messages
from vg4d_ros.bags.labels import (BAG_SUFFIXES, GROUND_TRUTH_TOPIC, ROS2_BAG_SUFFIXES, LabelsError, LabelsFile,
                                  Segment, bag_key, label_at, load_labels, segments_from_topic)
from vg4d_ros.bags.people_metrics import people_report, pooled_people_report
from vg4d_ros.bags.people_truth import PEOPLE_TRUTH_TOPIC, PEOPLE_TRUTH_TYPE, read_people_truth
from vg4d_ros.bags.streams import pooled_report, stream_report
from vg4d_ros.config import load_recognizer_config
from vg4d_ros.pipeline.decode import MessageError, stamp_ns
from vg4d_ros.pipeline.model import RecognizerError, load_model
from vg4d_ros.pipeline.recognizer import Recognition, Recognizer, Verdict
from vg4d_ros.pipeline.window import Frame, clip_window
from vg4d_ros.pipeline.events import ActionEvent
from vg4d_ros.transports.outputs import classification_msg, detections_msg, event_msg, label_info_msg, label_msg
from vg4d_ros.topics import COMPRESSED_IMAGE, IMAGE_ROLES, accepted_types, resolve_topic


# exit statuses of `vg4d replay` (EXIT_STATUS_HELP; 1 stays Python's own for an unexpected error)
EXIT_OK = 0
EXIT_BAD_INPUT = 2  # nothing replayed: bad command line, configuration, checkpoint or labels file
EXIT_SKIPPED = 3  # finished, but one or more inputs were skipped (report.json "skipped": path and reason)
EXIT_STATUS_HELP = f"""exit status:
  {EXIT_OK}  every bag was replayed
  {EXIT_BAD_INPUT}  nothing was replayed: bad command line, configuration (one line naming the field), checkpoint
     or labels file
  {EXIT_SKIPPED}  finished, but some input was skipped (not a bag, corrupt, empty, or without the configured
     topics): the evaluation covers the rest; report.json "skipped" and the summary give each path and reason"""
STRING_TYPE = "std_msgs/msg/String"
EVENT_TYPE = "vg4d_msgs/msg/ActionEvent"
DETECTIONS_TYPE = "vision_msgs/msg/Detection3DArray"

# every warning class the report counts (0 when none happened)
WARNING_CLASSES = (
    "undecodable_messages",  # payload rosbags could not deserialise
    "malformed_messages",  # decoded but rejected by the conversion (bad size, encoding, ...)
    "waiting_for_camera_info",  # depth frames that arrived before any camera info
    "stamps_backwards",  # a message whose header stamp is older than the previous one on its topic
    "frames_out_of_order",  # frames the window buffer refused (not newer than the newest)
    "windows_dropped",  # newest-window-wins drops (only with --rate)
    "inference_errors",
    "unlabelled_windows",  # ground truth available but no segment at the window's stamp
    "unknown_labels",  # ground-truth names that are not classes of the checkpoint
    "label_topic_wrong_type",  # the label topic exists but is not std_msgs/String
)


@dataclass
class ReplayOptions:
    """How bags are replayed (see the module docstring).

    Attributes:
        rate: 0 = as fast as possible (every window inferred); R > 0 = R x recorded pace.
        labels: a loaded labels file, or None.
        label_topic: std_msgs/String ground-truth topic ("" = none).
        end_window: infer one more window of the frames left at the end of each bag.
        index_by_bag_order: bag i's clips draw the random stream of test item i (segment verdicts: the
            k-th labelled segment of the replayed bags draws that of test item k).
        out_storage: storage of the output bags ("mcap" or "sqlite3").
        progress: a progress bar over the bags.
        segment_verdicts: classify each labelled segment as one trimmed video (its frames only, the
            checkpoint's test views): the replay's "video" figure, comparable with ``vg4d evaluate``.
        verdicts: record what the event tracker saw (each bag's ``verdicts`` in the report: every window's
            status and probabilities, the converted frames' stamps, the labelled segments), so that event
            settings can be swept offline (``python -m vg4d_ros.programs.stream_sweep``).
    """

    rate: float = 0.0
    labels: LabelsFile | None = None
    label_topic: str = GROUND_TRUTH_TOPIC
    end_window: bool = True
    index_by_bag_order: bool = False
    out_storage: str = "mcap"
    segment_verdicts: bool = True
    progress: bool = False
    verdicts: bool = False

    def __post_init__(self) -> None:
        if not self.rate >= 0:
            raise ValueError(f"rate must be >= 0 (0 = as fast as possible), got {self.rate!r}")


def check_topics(path: Path, available: dict[str, str], wanted: dict[str, str], listing: str) -> dict[str, str]:
    """The input topics to read from a recording (role -> topic), or :class:`BagError` when a wanted one
    is absent or of another type. An image role takes raw or compressed images; when its raw topic is
    absent but image_transport's compressed sub-topic of it was recorded (``<topic>/compressedDepth`` for
    depth, ``<topic>/compressed`` for colour and masks), that one is read instead."""
    wanted = dict(wanted)
    for role, topic in list(wanted.items()):
        if topic in available or role not in IMAGE_ROLES:
            continue
        suffixes = ("/compressedDepth", "/compressed") if role == "depth" else ("/compressed",)
        sub = next((topic.rstrip("/") + x for x in suffixes if available.get(topic.rstrip("/") + x) == COMPRESSED_IMAGE),
                   None)
        if sub is not None:
            wanted[role] = sub
    missing = [f"{role} {topic}" for role, topic in wanted.items() if topic not in available]
    wrong = [f"{role} {topic} is {available[topic]}, expected {' or '.join(accepted_types(role))}"
             for role, topic in wanted.items() if topic in available and available[topic] not in accepted_types(role)]
    if not missing and not wrong:
        return wanted
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
        if "depth" in wanted and wanted["depth"] in available and wanted.get("camera_info") not in available:
            parts.append("depth without camera info: the depth input needs its sensor_msgs/CameraInfo topic")
    if wrong:
        parts.append("wrong type: " + "; ".join(wrong))
    raise BagError(f"bag {path} does not fit the recogniser's topics ({'; '.join(parts)}); set them with "
                   f"topics.<role>=NAME overrides. The bag has:\n{listing}")


@dataclass
class BagResult:
    """What one bag gave."""

    bag: str
    name: str
    error: str = ""
    windows: list[dict] = field(default_factory=list)
    warnings: Counter = field(default_factory=Counter)
    stats: dict = field(default_factory=dict)
    frames: int = 0
    wall_s: float = 0.0
    label_source: str | None = None
    output_bag: str = ""
    topics: dict = field(default_factory=dict)
    segments: list[dict] = field(default_factory=list)  # per labelled segment: its trimmed-video verdict
    events: list[dict] = field(default_factory=list)  # action events (vg4d_ros.pipeline.events), in order
    stream: dict | None = None  # stream metrics against the labelled segments (bags.streams.stream_report)
    people: dict | None = None  # people.enabled with per-person ground truth: bags.people_metrics.people_report
    verdicts: dict | None = None  # ReplayOptions.verdicts: what the event tracker saw (see replay_bag)

    def to_dict(self) -> dict:
        end = [w for w in self.windows if w["kind"] == "end"]
        video = None
        if end:
            video = {k: end[-1][k] for k in ("top1", "label", "correct", "unknown_label", "status", "reason")}
        labelled = [w for w in self.windows if w["correct"] is not None]
        return {"bag": self.bag, "name": self.name, "error": self.error or None, "topics": self.topics,
                "label_source": self.label_source, "output_bag": self.output_bag or None, "frames": self.frames,
                "wall_s": self.wall_s, "num_windows": len(self.windows),
                "window_accuracy": _accuracy(labelled), "video": video, "segments": self.segments,
                "events": self.events, "people": self.people,
                "stream": None if self.stream is None else {k: v for k, v in self.stream.items()
                                                            if k not in ("predicted", "truth")},
                "warnings": {k: int(self.warnings.get(k, 0)) for k in WARNING_CLASSES},
                "recognizer": self.stats, "windows": self.windows,
                **({"verdicts": self.verdicts} if self.verdicts is not None else {})}


def _accuracy(rows: list[dict]) -> float | None:
    """Percent of ``rows`` whose top-1 is their label (None without rows)."""
    return 100.0 * sum(bool(r["correct"]) for r in rows) / len(rows) if rows else None


def replay_bag(path: str | Path, config, model, options: ReplayOptions, out_dir: Path | None, *,
               bag_index: int = 0, segment_index: int = 0, log=None) -> BagResult:
    """Replay one bag through a fresh :class:`Recognizer`; a bad bag gives a result with ``error`` set.

    ``segment_index``: how many labelled segments the bags before this one had (the test item index of
    this bag's first segment, with ``index_by_bag_order``).
    """
    path = Path(path)
    result = BagResult(str(path), bag_key(path))
    frames: list[Frame] = []  # converted frames, for the segment verdicts
    frame_stamps: list[int] = []  # every converted frame's stamp, for the stream metrics
    events: list = []  # the action events, in order
    verdicts: list[tuple[str, Verdict]] = []  # (kind, verdict): the live labels, then the end window's verdict

    def labelled(r: Recognition) -> None:
        verdicts.append(("window", Verdict("labelled", "", r.stamp_ns, r.num_frames, r, r.first_stamp_ns)))

    rec = Recognizer(config, model, labelled, log=log or (lambda level, text: None))

    def tap(frame: Frame) -> None:
        frame_stamps.append(frame.stamp_ns)
        if options.segment_verdicts:
            frames.append(frame)

    rec.frame_tap = tap
    rec.on_event = events.append
    if options.verdicts:
        # every verdict in the order the event tracker took it: stamps (int ns), status, the primary score's
        # probabilities (K,) when classified, the frames covered
        result.verdicts = {"window_s": float(rec.settings.window.window_s), "class_names": list(model.class_names),
                           "windows": [], "frame_stamps": frame_stamps, "segments": []}

        def seen(v: Verdict) -> None:
            r = v.recognition
            result.verdicts["windows"].append({
                "stamp_ns": int(v.stamp_ns), "first_stamp_ns": int(v.first_stamp_ns), "status": v.status,
                "num_frames": int(v.num_frames),
                "probs": None if r is None else [round(float(x), 6) for x in r.scores[r.primary]]})

        rec.on_verdict = seen
    people: list = []  # PeopleResult s (people.enabled)
    rec.on_people = people.append
    if options.index_by_bag_order:
        # the clip's random stream: item_rng(seed, "test", 0, index) as the index-th test item offline
        rec.buffer.config = dataclasses.replace(rec.buffer.config, index=int(bag_index))
    # relative input names resolve in the root namespace, as a node started without a namespace does
    roles = {role: resolve_topic(topic) for role, topic in rec.topics().items()}
    handlers = {"depth": rec.on_depth, "camera_info": rec.on_camera_info, "cloud": rec.on_cloud,
                "rgb": rec.on_rgb, "mask": rec.on_mask}
    by_topic = {topic: role for role, topic in roles.items()}
    t0 = time.perf_counter()
    gt_messages: list[tuple[int, str]] = []
    bag_start = bag_end = 0
    undecodable_inputs = 0
    try:
        if path.exists() and not is_bag(path):
            raise BagError(f"{path} is not a bag (neither a ROS 2 .mcap / .db3 file, nor a folder holding "
                           "metadata.yaml or one, nor a ROS 1 .bag file)")
        with open_bag(path) as reader:
            available = bag_topics(reader)
            result.topics = available
            roles = check_topics(path, available, roles, describe_topics(reader))
            rec.input_topic_names = dict(roles)  # e.g. the compressed sub-topic read for the raw one
            by_topic = {topic: role for role, topic in roles.items()}
            label_topic = options.label_topic if options.label_topic in available else ""
            if label_topic and available[label_topic] != STRING_TYPE:
                result.warnings["label_topic_wrong_type"] += 1
                label_topic = ""
            topics = list(by_topic) + ([label_topic] if label_topic else [])
            if sum(c.msgcount for c in reader.connections if c.topic in by_topic) == 0:
                raise BagError(f"bag {path} has no messages on the recogniser's topics "
                               f"{sorted(by_topic)}; the bag has:\n{describe_topics(reader)}")
            bag_start, bag_end = int(reader.start_time), int(reader.end_time)
            last_stamp: dict[str, int] = {}
            first_log: int | None = None
            rec.start()
            for m in read_messages(reader, topics, path=path):
                if m.topic == label_topic:
                    if m.msg is not None:
                        gt_messages.append((m.log_time_ns, str(m.msg.data)))
                    else:
                        result.warnings["undecodable_messages"] += 1
                    continue
                role = by_topic[m.topic]
                if m.msg is None:
                    result.warnings["undecodable_messages"] += 1
                    undecodable_inputs += 1
                    rec.record_malformed(role, f"undecodable: {m.error}")
                    continue
                stamp = _stamp_or_none(m.msg)
                if stamp is not None:
                    if m.topic in last_stamp and stamp < last_stamp[m.topic]:
                        result.warnings["stamps_backwards"] += 1
                    last_stamp[m.topic] = stamp
                    bag_end = max(bag_end, stamp)  # the last label holds until the newest frame too
                if options.rate > 0:
                    first_log = m.log_time_ns if first_log is None else first_log
                    due = t0 + (m.log_time_ns - first_log) / 1e9 / options.rate
                    delay = due - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                formed = rec.windows_formed
                if role in ("depth", "cloud"):
                    result.frames += 1
                handlers[role](m.msg)
                if options.rate == 0 and rec.windows_formed != formed:
                    rec.wait_idle(timeout_s=600.0)  # every window inferred, in order
            rec.wait_idle(timeout_s=600.0)
            end = rec.end_window() if options.end_window else None  # the live gates decide it too
            if end is not None:
                verdicts.append(("end", end))
            rec.end_events("stream_end")
    except BagError as exc:
        result.error = str(exc)
    finally:
        rec.stop()
    result.wall_s = time.perf_counter() - t0
    result.stats = rec.stats()
    for key in ("waiting_for_camera_info", "frames_out_of_order", "windows_dropped", "inference_errors"):
        result.warnings[key] += int(result.stats.get(key) or 0)
    # the recogniser counted the undecodable input messages among its malformed ones: count them once
    result.warnings["malformed_messages"] += int(result.stats.get("malformed_total") or 0) - undecodable_inputs
    segments, result.label_source = _ground_truth(options, path, gt_messages, bag_start, bag_end)
    if result.verdicts is not None:
        result.verdicts["segments"] = [[int(g.start_ns), int(g.end_ns), g.label] for g in segments]
    class_names = set(model.class_names)
    unknown = {s.label for s in segments if s.label not in class_names}
    result.warnings["unknown_labels"] += len(unknown)
    if options.segment_verdicts and not result.error:
        result.segments = _segment_verdicts(rec, frames, segments, class_names,
                                            segment_index if options.index_by_bag_order else None)
    frames.clear()  # the segment verdicts are made: free the frames
    result.events = [dataclasses.asdict(e) for e in events]
    if people and not result.error and result.topics.get(PEOPLE_TRUTH_TOPIC) == PEOPLE_TRUTH_TYPE:
        result.people = people_report(people, read_people_truth(path))
    if segments and frame_stamps and not result.error:
        result.stream = stream_report(frame_stamps, segments, events, rec.settings.window.window_s)
    for kind, v in verdicts:
        label = label_at(segments, v.stamp_ns) if segments else None
        # a window "inside" a segment spans frames of that segment only: what window top-1 counts
        inside = label is not None and label_at(segments, v.first_stamp_ns) == label and all(
            not (v.first_stamp_ns < s.start_ns <= v.stamp_ns) for s in segments if s.label != label)
        if segments and label is None:
            result.warnings["unlabelled_windows"] += 1
        r = v.recognition
        # only a label is a prediction: a withheld or refused window shows its status and reason instead
        top_k = r.top_k if r is not None and v.status == "labelled" else []
        top1 = top_k[0][0] if top_k else None
        # a label the checkpoint cannot predict says nothing about the model: no right or wrong
        scored = label is not None and label in class_names
        result.windows.append({
            "kind": kind, "stamp_ns": int(v.stamp_ns), "status": v.status, "reason": v.reason,
            "t_s": (v.stamp_ns - bag_start) / 1e9 if not result.error else None,
            "top1": top1, "score": float(top_k[0][1]) if top_k else None,
            "top_k": [[n, float(s)] for n, s in top_k], "label": label,
            "unknown_label": label is not None and not scored,
            "correct": bool(top1 == label) if scored and top_k else None, "inside": bool(inside and scored),
            "first_stamp_ns": int(v.first_stamp_ns),
            "latency_ms": float(r.latency_ms) if r is not None else None, "num_frames": int(v.num_frames)})
    published = [v.recognition for _, v in verdicts if v.status == "labelled"]
    if out_dir is not None and (published or events or people):
        result.output_bag = str(write_outputs(out_dir / "bags" / result.name, config, rec.label_names,
                                              published, options.out_storage, events, people))
    return result


def _segment_verdicts(rec: Recognizer, frames: list[Frame], segments, class_names: set[str],
                      first_index: int | None) -> list[dict]:
    """Each labelled segment classified as one trimmed video: its converted frames, the checkpoint's test
    views, the live model (what ``vg4d evaluate`` does to the cached video of that segment)."""
    out = []
    views = int(rec.settings.transform.test_views or 1)
    stamps = np.array([f.stamp_ns for f in frames], dtype=np.int64)
    for k, seg in enumerate(segments):
        sel = np.flatnonzero((stamps >= seg.start_ns) & (stamps <= seg.end_ns))
        row = {"label": seg.label, "start_ns": int(seg.start_ns), "end_ns": int(seg.end_ns), "frames": int(sel.size),
               "top1": None, "score": None, "correct": None}
        if sel.size:
            cfg = dataclasses.replace(rec.buffer.config, views=views, min_coverage=0.0,
                                      index=rec.buffer.config.index if first_index is None else first_index + k)
            r = rec.infer(clip_window([frames[i] for i in sel], cfg, frame_id=rec.buffer.frame_id))
            row.update(top1=r.top_k[0][0], score=float(r.top_k[0][1]))
            if seg.label in class_names:
                row["correct"] = row["top1"] == seg.label
        out.append(row)
    return out


def _stamp_or_none(msg: Any) -> int | None:
    try:
        return stamp_ns(msg)
    except MessageError:
        return None


def _ground_truth(options: ReplayOptions, path: Path, gt_messages: list[tuple[int, str]], bag_start: int,
                  bag_end: int) -> tuple[list[Segment], str | None]:
    """Segments from the labels file (preferred: it is explicit) or the label topic (its last label
    holds until ``bag_end``)."""
    if options.labels is not None:
        entry = options.labels.for_bag(path)
        if entry is not None:
            return entry.resolve(bag_start), "labels file"
    if gt_messages:
        return segments_from_topic(gt_messages, end_ns=bag_end), "topic"
    return [], None


def write_outputs(path: Path, config, class_names: Sequence[str], results: Sequence[Any], storage: str,
                  events: Sequence[ActionEvent] = (), people: Sequence[Any] = ()) -> Path:
    """The node's output messages as a bag at ``path`` (replaced if it exists): ``~/label_info``, then for
    ``results`` ``~/action`` + ``~/label`` and for ``events`` ``~/events`` (when ``output.events`` is set),
    each recorded at its header stamp, as ``ros2 bag record`` of a live node with sim time would."""
    import shutil

    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = config.output
    events = list(events) if out.events else []
    people = list(people) if out.detections else []
    with BagWriter(path, storage) as w:
        stamps = [int(r.stamp_ns) for r in results] + [int(e.stamp_ns) for e in events] + \
                 [int(p.stamp_ns) for p in people]
        first = min(stamps)
        frame_id = results[0].frame_id if results else events[0].frame_id if events else people[0].frame_id
        w.write(resolve_topic(out.label_info), "vision_msgs/msg/LabelInfo", first,
                label_info_msg(class_names, first, frame_id, typestore=w.typestore))
        # one time-ordered stream: rosbags' writer takes messages in any order, but a reader of a bag expects
        # each topic's log times not to go back; events decided at a window come after its label
        items = [(int(r.stamp_ns), 0, i) for i, r in enumerate(results)] + \
                [(int(e.stamp_ns), 2, i) for i, e in enumerate(events)] + \
                [(int(p.stamp_ns), 1, i) for i, p in enumerate(people)]
        for stamp, kind, i in sorted(items):
            if kind == 1:
                w.write(resolve_topic(out.detections), DETECTIONS_TYPE, stamp,
                        detections_msg(people[i], class_names, w.typestore))
            elif kind == 0:
                r = results[i]
                w.write(resolve_topic(out.action), "vision_msgs/msg/Classification", stamp,
                        classification_msg(r, class_names, w.typestore))
                w.write(resolve_topic(out.label), STRING_TYPE, stamp, label_msg(r, w.typestore))
            else:
                w.write(resolve_topic(out.events), EVENT_TYPE, stamp, event_msg(events[i], w.typestore))
    return path


def summarize_results(results: Sequence[BagResult], wall_s: float) -> dict:
    """Totals over bags: accuracies (percent), latency percentiles (ms), throughput, warning counts."""
    windows = [w for r in results for w in r.windows]
    labelled = [w for w in windows if w["correct"] is not None]
    all_videos = [v for v in (r.to_dict()["video"] for r in results) if v is not None]
    videos = [v for v in all_videos if v["correct"] is not None]
    unknown_windows = [w for w in windows if w.get("unknown_label")]
    lat = np.array([w["latency_ms"] for w in windows if w["latency_ms"] is not None], dtype=np.float64)
    frames = sum(r.frames for r in results)
    warnings = Counter()
    for r in results:
        warnings.update(r.warnings)
    segs = [s for r in results for s in r.segments if s["correct"] is not None]
    inside = [w for w in windows if w.get("inside")]
    return {
        "bags": len(results), "bags_failed": sum(1 for r in results if r.error),
        "windows": len(windows), "labelled_windows": len(labelled), "window_accuracy": _accuracy(labelled),
        "videos": len(videos), "video_accuracy": _accuracy(videos),
        # each labelled segment as one trimmed video (the frames vg4d bag2cache cuts, the checkpoint's test
        # views): comparable with vg4d evaluate on the cache of the same bags
        "segments": len(segs), "segment_top1": _accuracy(segs),
        # windows whose frames all lie in one labelled segment; a window not labelled (no person, unsure,
        # error) counts as wrong: no correct label reached the user
        "inside_windows": len(inside),
        # the action events against the labelled segments, all bags pooled (vg4d_ros.bags.streams)
        "stream": pooled_report([r.stream for r in results if r.stream]),
        # people.enabled on bags with per-person ground truth (vg4d people2bag): bags.people_metrics
        "people": pooled_people_report([r.people for r in results if r.people]),
        "window_top1": 100.0 * sum(bool(w["correct"]) for w in inside) / len(inside) if inside else None,
        # ground truth naming classes the checkpoint does not have: excluded from both accuracies
        "unknown_labels": {"labels": sorted({w["label"] for w in unknown_windows}),
                           "windows": len(unknown_windows),
                           "videos": sum(1 for v in all_videos if v["unknown_label"])},
        # end windows not labelled (no person in view, below the confidence threshold, inference failed):
        # no prediction, so neither right nor wrong; each bag's "video" says why
        "videos_not_labelled": sum(1 for v in all_videos if v["status"] != "labelled"),
        "latency_ms_p50": float(np.percentile(lat, 50)) if lat.size else None,
        "latency_ms_p95": float(np.percentile(lat, 95)) if lat.size else None,
        "frames": frames, "wall_s": wall_s,
        "frames_per_s": frames / wall_s if wall_s > 0 else None,
        "windows_per_s": len(windows) / wall_s if wall_s > 0 else None,
        "warnings": {k: int(warnings.get(k, 0)) for k in WARNING_CLASSES},
    }


def replay(paths: Sequence[str | Path], config, options: ReplayOptions, out_dir: str | Path | None, *,
           model=None, command: str | None = None, log=None) -> dict:
    """Replay bags in order; writes ``out_dir/report.json`` and output bags; returns the report."""
    model = model or load_model(config)
    out = Path(out_dir) if out_dir is not None else None
    t0 = time.perf_counter()
    results, seen = [], 0
    bags = tqdm(list(paths), desc="replay", unit="bag", disable=not options.progress, dynamic_ncols=True)
    for i, p in enumerate(bags):
        results.append(replay_bag(p, config, model, options, out, bag_index=i, segment_index=seen, log=log))
        seen += len(results[-1].segments)
    report = {
        "summary": summarize_results(results, time.perf_counter() - t0),
        # every input not replayed, with why (its entry in "bags" has the same error)
        "skipped": [{"path": r.bag, "reason": r.error} for r in results if r.error],
        "bags": [r.to_dict() for r in results],
        "class_names": list(model.class_names),
        "checkpoint": model.path,
        "pacing": "as fast as possible (every window inferred)" if options.rate == 0 else f"{options.rate} x recorded",
        "options": {"rate": options.rate, "label_topic": options.label_topic, "end_window": options.end_window,
                    "index_by_bag_order": options.index_by_bag_order,
                    "labels": options.labels.path if options.labels else None},
        "config": to_dict(config),
    }
    if out is not None:
        save_json(out / "report.json", report, command=command)
    return report


def print_report(report: dict, file=None) -> None:
    """The windows as a table, then per-bag errors and the summary."""
    file = file or sys.stdout
    rows = [{"bag": b["name"], "kind": w["kind"], "t_s": w["t_s"],
             "top1": w["top1"] if w["status"] == "labelled" else f"({w['status']})", "score": w["score"],
             "label": w["label"] if w["label"] is not None else "-",
             "ok": "-" if w["correct"] is None else ("yes" if w["correct"] else "no"),
             "latency_ms": w["latency_ms"], "frames": w["num_frames"]}
            for b in report["bags"] for w in b["windows"]]
    if rows:
        print(format_table(rows, ["bag", "kind", "t_s", "top1", "score", "label", "ok", "latency_ms", "frames"]),
              file=file)
    for skipped in report["skipped"]:
        print(f"skipped {skipped['path']}: {skipped['reason']}", file=file)
    for b in report["bags"]:
        if b["video"] is not None and b["video"]["status"] != "labelled":
            print(f"{b['name']}: end window not labelled ({b['video']['status']}): {b['video']['reason']}", file=file)
    s = report["summary"]

    def pct(v):
        return "-" if v is None else f"{v:.2f}%"

    def num(v, unit=""):
        return "-" if v is None else f"{v:.1f}{unit}"

    print(f"\n{s['bags']} bag(s) ({s['bags_failed']} skipped), {s['frames']} frames, {s['windows']} windows; "
          f"window accuracy {pct(s['window_accuracy'])} over {s['labelled_windows']} labelled; video accuracy "
          f"{pct(s['video_accuracy'])} over {s['videos']}; latency p50 {num(s['latency_ms_p50'], ' ms')} p95 "
          f"{num(s['latency_ms_p95'], ' ms')}; {num(s['frames_per_s'])} frames/s, "
          f"{num(s['windows_per_s'])} windows/s", file=file)
    if s["segments"]:
        print(f"segment (trimmed video) top-1 {pct(s['segment_top1'])} over {s['segments']} labelled segment(s); "
              f"window top-1 {pct(s['window_top1'])} over {s['inside_windows']} window(s) inside one segment",
              file=file)
    if s.get("people"):
        pp = s["people"]
        print(f"people: per-person top-1 {pct(pp['accuracy'])} over {pp['labelled']} labelled person-tick(s); "
              f"{pp['id_switches']} id switch(es), {pp['missed']} of {pp['person_instances']} person-ticks missed, "
              f"{pp['false_tracks']} track-tick(s) with no person", file=file)
    unknown = s["unknown_labels"]
    if unknown["windows"]:
        print(f"labels the checkpoint has no class for, excluded from the accuracies: "
              f"{', '.join(map(repr, unknown['labels']))} ({unknown['windows']} window(s), "
              f"{unknown['videos']} video(s))", file=file)
    counted = {k: v for k, v in s["warnings"].items() if v}
    print("warnings: " + (", ".join(f"{k} {v}" for k, v in counted.items()) if counted else "none"), file=file)


def _split_args(items: Sequence[str]) -> tuple[list[str], list[str]]:
    """Positional arguments -> (bags, key=value overrides); an existing path is always a bag."""
    bags, overrides = [], []
    for item in items:
        (overrides if "=" in item and not Path(item).exists() else bags).append(item)
    return bags, overrides


def is_bag(path: Path) -> bool:
    """Whether ``path`` looks like one bag: a bag file (ROS 2 ``.mcap`` / ``.db3``, ROS 1 ``.bag``), or a
    ROS 2 bag folder (metadata.yaml or storage files; a folder of ROS 1 ``.bag`` files is several bags)."""
    if path.is_file():
        return path.suffix in BAG_SUFFIXES
    return path.is_dir() and ((path / "metadata.yaml").is_file()
                              or any(p.suffix in ROS2_BAG_SUFFIXES for p in path.iterdir()))


def expand_bags(paths: Sequence[str | Path]) -> list[Path]:
    """Bag arguments -> bags: a folder that is not itself a bag stands for its entries, in name order.

    Every entry of such a folder is kept (hidden ones aside), bag or not: the replay then skips what
    is not a bag with its reason instead of silently leaving it out.
    """
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir() and not is_bag(path):
            # an empty folder stays itself: skipped with its reason, not silently nothing
            out += sorted(p for p in path.iterdir() if not p.name.startswith(".")) or [path]
        else:
            out.append(path)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``vg4d replay BAG... --checkpoint CK --out DIR``: recorded bags through the live recogniser."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="vg4d replay", description=main.__doc__, epilog=EXIT_STATUS_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="BAG_OR_KEY=VALUE",
                   help="bag folders or .mcap/.db3 files, ROS 1 .bag files, folders of bags, and recogniser overrides "
                        "(window.hop_frames=10)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--config", default=None, help="recognize.yaml (ROS params layout or plain); default: built-in")
    p.add_argument("--out", required=True, type=Path, help="folder for report.json and bags/")
    p.add_argument("--rate", type=float, default=0.0, help="R x recorded pace (0 = as fast as possible, default)")
    p.add_argument("--labels", default=None, help="labels file (YAML or CSV) with per-bag time ranges")
    p.add_argument("--label-topic", default=GROUND_TRUTH_TOPIC, help="std_msgs/String ground truth ('' = none)")
    p.add_argument("--no-end-window", action="store_true", help="no final window of the frames left at the end")
    p.add_argument("--index-by-bag-order", action="store_true",
                   help="bag i's clips draw test item i's random stream (parity with vg4d evaluate)")
    p.add_argument("--out-storage", choices=("mcap", "sqlite3"), default="mcap")
    p.add_argument("--quiet", action="store_true", help="no per-window table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--verdicts", action="store_true",
                   help="record every window's verdict and probabilities in the report (single-person pipeline), "
                        "for sweeping event settings offline: python -m vg4d_ros.programs.stream_sweep")
    p.add_argument("--no-segment-verdicts", action="store_true",
                   help="do not classify each labelled segment as one trimmed video (keeps no frames in memory)")
    args = p.parse_intermixed_args(argv)  # bags and key=value may come before or after the options
    bags, overrides = _split_args(args.inputs)
    bags = expand_bags(bags)
    if not bags:
        p.error("no bag given")

    try:
        config = load_recognizer_config(args.config, overrides + [f"inference.checkpoint={args.checkpoint}"])
        options = ReplayOptions(rate=args.rate, labels=load_labels(args.labels) if args.labels else None,
                                label_topic=args.label_topic, end_window=not args.no_end_window,
                                index_by_bag_order=args.index_by_bag_order, out_storage=args.out_storage,
                                segment_verdicts=not args.no_segment_verdicts, progress=not args.no_progress,
                                verdicts=args.verdicts)
        report = replay(bags, config, options, args.out, command=shlex.join(["vg4d", "replay", *argv]),
                        log=lambda level, text: print(f"[{level}] {text}", file=sys.stderr)
                        if level != "info" else None)
    except (ValueError, LabelsError, RecognizerError, FileNotFoundError) as exc:
        # ConfigError (one line naming field, value and allowed range), a bad labels file or checkpoint
        print(f"vg4d replay: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.quiet:
        report = {**report, "bags": [{**b, "windows": []} for b in report["bags"]]}
    print_report(report)
    print(f"wrote {args.out / 'report.json'} and {args.out / 'bags'}")
    return EXIT_SKIPPED if report["skipped"] else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
