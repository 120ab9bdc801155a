"""The recogniser core: messages in, action labels out (pure Python, no rclpy).

Data flow, per input message (the transport's callback thread)::

    on_depth / on_cloud / on_rgb / on_mask / on_camera_info
      -> stamp (decode.stamp_ns) -> timeline guard (stamp jumps) -> synchroniser
         (sync.py; PassThrough when only depth / cloud is used)
      -> FrameConverter.convert (convert.py: THE conversion, shared with bag2cache:
         input limits, metres, TF, foreground, stored subset, grid, colour size)
      -> WindowBuffer (window.py: the clip sampler of vg4d_core) -> Window

and a window goes into a one-slot mailbox read by ONE worker thread that
collates it (``runtime.collate.collate_clips``), runs the
``runtime.predictor.Predictor`` and delivers a :class:`Recognition` to
``on_result``. The mailbox keeps the newest window: when inference falls
behind, the older pending window is dropped and counted, so latency stays
bounded by one inference and the labels describe the present.

Faults never crash the recogniser and never become a confident label
(``config.guards``, :class:`~vg4d_ros.config.GuardSettings`):

* no person: a window where fewer than ``min_person_frames_fraction`` of
  the frames hold ``min_points_per_frame`` foreground points (all-zero or
  all-NaN depth, a foreground that selects nothing) is not classified;
  :attr:`Recognizer.no_person` says why until a window passes again;
* unsure: a top-1 probability below ``confidence_threshold``
  (:attr:`Recognizer.threshold`) is withheld: ``on_result`` is not called,
  ``on_withheld`` is, and it is counted;
* colour on another clock (or gone): after ``depth_only_after_frames``
  depth frames without a colour partner, frames go on without colour and
  windows are scored by the point-cloud scores alone, fused with the
  checkpoint's weights for that subset (else ranked by ``pc``);
  :attr:`Recognizer.depth_only` says why until pairs come back;
* stamp jumps: input stamps going back by ``stamp_jump_back_s`` or forward
  by more than max(``stamp_gap_s``, window) restart the buffers, and a
  result not newer than one already delivered is dropped (counted): the
  output stream's stamps only increase (until :meth:`Recognizer.stop`);
* a malformed message (:class:`~vg4d_ros.pipeline.decode.MessageError`) is counted
  per topic and reason, and processing carries on;
* oversized input: a depth image of more than ``input_limits.max_depth_pixels``
  pixels or a PointCloud2 of more than ``max_cloud_points`` points is read at
  an integer stride in both raster axes (:func:`vg4d_ros.pipeline.decode.raster_stride`)
  before anything else touches it, and the mask with it; counted
  (``frames_reduced``) and logged once per topic, then summarised;
* another frame: with ``config.input_frame`` set, a frame whose header.frame_id differs is moved into
  it with the latest transform of :attr:`Recognizer.tf` (fed by :meth:`Recognizer.on_tf` /
  :meth:`Recognizer.on_tf_static`) before foreground selection; with no transform (yet) the frame is
  skipped, counted (``frames_no_transform``) and :attr:`Recognizer.no_transform` names the missing link.

Every formed window is decided by the same rules, live (split over the
callback thread and the worker) and at the end of a replay
(:meth:`Recognizer.end_window`): :meth:`Recognizer._refusal` (the person
gate), :meth:`Recognizer.infer`, :meth:`Recognizer._verdict` (the confidence
threshold and the stamp order); the outcome is a :class:`Verdict`.

Repeated warnings go through :class:`RepeatLog`: the first of each kind at
once, then one summary line per topic every ``log_repeat_s``.

The transports (``vg4d recognize --transport dds``, the rclpy node) only
subscribe, call the ``on_*`` methods, and publish what the builders of
:mod:`vg4d_ros.transports.outputs` make of each result.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from vg4d_core.runtime.collate import collate_clips
from vg4d_ros.config import RecognizerConfig
from vg4d_ros.pipeline.convert import FrameConverter, FrameError, NoCameraInfo
from vg4d_ros.pipeline.counters import Log, RepeatLog, Reservoir
from vg4d_ros.pipeline.compressed import as_raw_image, is_compressed
from vg4d_ros.pipeline.decode import MessageError, stamp_ns
from vg4d_ros.pipeline.events import ActionEvent, EventSettings, EventTracker
from vg4d_ros.pipeline.mailbox import Mailbox
from vg4d_ros.pipeline.person_windows import PersonBox, PersonWindow, PersonWindows, select_person
from vg4d_ros.pipeline.motion import MotionMeter, MotionSettings, window_motion
from vg4d_ros.pipeline.model import DepthOnly, LoadedModel, RecognizerError, depth_only_scoring, load_model, resolve
from vg4d_ros.pipeline.pairs import is_pair, member_numbers
from vg4d_ros.pipeline.sync import ApproximateTimeSynchronizer, PassThrough, Synced
from vg4d_ros.pipeline.transforms import TF_STATIC_TOPIC, TF_TOPIC, TransformBuffer, TransformError, strip_slash
from vg4d_ros.pipeline.window import Frame, Window, WindowBuffer


MAX_REASONS_PER_TOPIC = 16  # bound the malformed-reason table (reasons quote sizes that vary)
NTU_MUTUAL = "ntu_mutual"  # people.pairs.classes keyword: NTU RGB+D's mutual actions
# what a pair model must share with the person model: one converted frame feeds both
PAIR_TRANSFORM_FIELDS = ("point_scale", "stored_points_per_frame", "subset_seed", "quantum", "num_frames",
                         "points_per_frame")


@dataclass
class Recognition:
    """One labelled window.

    Attributes:
        stamp_ns: header stamp of the window's newest frame (int ns).
        frame_id: the input's header.frame_id (``config.input_frame`` when that is set).
        top_k: [(class_name, score)] best first, from the primary score table.
        scores: score name -> (K,) float32 probabilities (every table the predictor made).
        primary: name of the table ``top_k`` ranks.
        latency_ms: window completion (last frame pushed) -> result ready.
        num_frames: frames the window covered.
        unsure: the top-1 probability is below the confidence threshold: the label is withheld
            (``on_result`` is not called for it; transports publish nothing).
        depth_only: colour was unavailable for the window: ``scores`` are the point-cloud subset.
        points_m: (N, 3) float32 metres in ``frame_id``: the newest sampled frame exactly as the model
            saw it (foreground, N points, cache grid), for a debug cloud (``output.foreground``).
        first_stamp_ns: stamp of the window's oldest frame (the window spans first .. stamp_ns).
    """

    stamp_ns: int
    frame_id: str
    top_k: list[tuple[str, float]]
    scores: dict[str, np.ndarray]
    primary: str
    latency_ms: float
    num_frames: int
    unsure: bool = False
    depth_only: bool = False
    points_m: np.ndarray | None = None
    first_stamp_ns: int = 0


@dataclass(frozen=True)
class Verdict:
    """What became of one formed window (the rules are the same for every window, live or end).

    Attributes:
        status: ``labelled`` (a label to publish), ``unsure`` (classified, label withheld: top-1 below
            the confidence threshold), ``not_newer`` (classified, dropped: not newer than the last
            delivered result), ``no_person`` (not classified: :meth:`Recognizer.person_check`) or
            ``error`` (inference failed).
        reason: why it is not a label, in words ("" when labelled).
        stamp_ns: stamp of the window's newest frame (int ns).
        num_frames: frames the window covered.
        recognition: the classification; None when the window was not classified.
    """

    status: str
    reason: str
    stamp_ns: int
    num_frames: int
    recognition: Recognition | None = None
    first_stamp_ns: int = 0  # the window's oldest frame


@dataclass(frozen=True)
class Scoring:
    """How windows are scored: one model, its score tables and the label space its results are in.

    Attributes:
        predictor: ``batch -> {score: (B, C) probs}`` (:class:`vg4d_core.runtime.predictor.Predictor`).
        class_names: the model's C classes.
        scores, primary, top_k: the tables kept, the one that ranks, how many hypotheses.
        use_rgb: windows carry colour to this model; depth_only: its scoring of windows without colour.
        keep: (C,) bool: classes a label may be (``people.pairs.classes``); None = all. The others get
            probability 0 and the rest is renormalised, in every table.
        to_labels: (C,) int: index of each class in :attr:`Recognizer.label_names` (results of this model
            are in that space, so one LabelInfo names every class id); None = the same order.
    """

    predictor: Any
    class_names: list[str]
    scores: tuple[str, ...]
    primary: str
    top_k: int
    use_rgb: bool
    depth_only: DepthOnly | None
    keep: np.ndarray | None = None
    to_labels: np.ndarray | None = None


@dataclass
class _Pending:
    window: Window
    completed: float  # clock() when the window was formed


@dataclass
class _Batch:
    """The people path's mailbox item: the newest window of each track, scored together."""

    windows: dict[str, PersonWindow]
    completed: float


@dataclass(frozen=True)
class PersonVerdict:
    """One person's (or pair's) window at one tick (``people.enabled``).

    Attributes:
        track_id: the person's track (``p1`` ...), or a pair's (``p1+p2``, ``people.pairs``).
        box: where the person is (metres, the window's frame); a pair's box holds both.
        verdict: what became of the window (the single-person rules, per track).
    """

    track_id: str
    box: PersonBox
    verdict: Verdict
    members: tuple[str, ...] = ()  # a pair's two track ids (() for one person)


@dataclass(frozen=True)
class PeopleResult:
    """Every person scored at one tick (one batch): ``stamp_ns`` / ``frame_id`` of the newest frame."""

    stamp_ns: int
    frame_id: str
    people: list[PersonVerdict]
    selected: str | None = None  # the track ~/action and ~/label describe (people.select)


class Recognizer:
    """Messages -> windows -> labels (see the module docstring).

    Args:
        config: the recogniser configuration.
        model: a :class:`LoadedModel` (:func:`load_model`).
        on_result: called with each :class:`Recognition` to publish, on the worker thread (never with
            an unsure one, never with one not newer than the previous).
        log: called with (level, text); warnings at configure time go here too.
        clock: monotonic seconds (latency, log rate limits).
        on_withheld: called with each unsure :class:`Recognition` (reports; transports leave it out).
    """

    def __init__(self, config: RecognizerConfig, model: LoadedModel, on_result: Callable[[Recognition], None],
                 *, log: Log | None = None, clock: Callable[[], float] = time.monotonic,
                 on_withheld: Callable[[Recognition], None] | None = None) -> None:
        self.config = config
        self.model = model
        self.settings = resolve(config, model)
        self.on_result = on_result
        self.log = log or (lambda level, text: None)
        self.clock = clock
        for text in self.settings.warnings:
            self.log("warn", text)
        for text in self.settings.notes:
            self.log("info", text)
        # synchroniser inputs: 0 = depth/cloud, then rgb and mask when used
        self.sync_roles = [config.input] + (["rgb"] if self.settings.use_rgb else []) + \
                          (["mask"] if self.settings.use_mask else [])
        self._sync_lock = threading.Lock()
        self.sync = self._synchroniser(len(self.sync_roles))
        # with colour: the same inputs without it, used while colour has no partner (depth_only)
        self.alone_roles = [r for r in self.sync_roles if r != "rgb"]
        self.alone_sync = self._synchroniser(len(self.alone_roles)) if self.settings.use_rgb else None
        self.depth_scoring = depth_only_scoring(model, self.settings) if self.settings.use_rgb else None
        self.buffer = WindowBuffer(self.settings.window)
        guards = config.guards
        self.guards = guards
        self.threshold = float(guards.confidence_threshold)  # LabelInfo.threshold
        self.on_withheld = on_withheld
        self.repeat_log = RepeatLog(self.log, clock, guards.log_repeat_s)
        self._jump_back_ns = int(guards.stamp_jump_back_s * 1e9)
        self._gap_ns = int(max(guards.stamp_gap_s, self.settings.window.window_s) * 1e9)
        self.no_person = ""  # why the last window was not classified ("" = a person was in view)
        self.windows_no_person = 0
        self.windows_still = 0
        self.windows_unsure = 0
        mc = config.motion
        self.motion = (MotionMeter(MotionSettings(move_m=float(mc.move_m), lag_s=float(mc.lag_s)))
                       if mc.min_motion > 0 else None)
        self.frames_depth_only = 0
        self.stamp_resets: Counter[str] = Counter()  # "back" / "forward" -> count
        self.last_stamp_reset = ""
        self.results_not_newer = 0
        self.limits = config.input_limits
        self.frames_reduced = 0  # depth / cloud frames read at a stride (larger than input_limits)
        self.input_stride = 1  # the stride of the newest frame (1 = whole)
        self.input_frame = strip_slash(config.input_frame)  # "" = frames stay in their own header.frame_id
        self.tf = TransformBuffer()  # fed by on_tf / on_tf_static (subscribed when input_frame is set)
        # the ONE place messages become model input (bag2cache converts with the same class)
        self.converter = FrameConverter(self.settings.transform, use_mask=self.settings.use_mask,
                                        input_frame=self.input_frame, tf=self.tf, depth_unit_m=config.depth_unit_m)
        self.frames_no_transform = 0  # depth / cloud frames skipped: no transform into input_frame (yet)
        self.no_transform = ""  # why the newest frame could not be moved into input_frame ("" = it could)
        self.tf_refused = 0  # transforms the TF tree refused (second parent, cycle, bad quaternion)
        self._reset_stream_state()
        self.messages: Counter[str] = Counter()
        self.malformed: dict[str, Counter[str]] = {}
        # role -> the topic actually read, where a transport or replay chose another than the configured
        # one (a recording's compressed sub-topic): logs name what was read
        self.input_topic_names: dict[str, str] = {}
        self.waiting_for_camera_info = 0
        self.windows_formed = 0
        self.windows_inferred = 0
        self.windows_dropped = 0
        self.inference_errors = 0
        self.latency = Reservoir()
        self.last_result: Recognition | None = None
        self.frame_tap: Callable[[Frame], None] | None = None  # sees every converted frame (callback thread)
        # continuous recognition: every window's verdict -> smoothed label -> action events (on_event)
        self.events = EventTracker(list(model.class_names),
                                   EventSettings(config.events.alpha, config.events.min_score))
        self.on_event: Callable[[ActionEvent], None] | None = None
        self.on_verdict: Callable[[Verdict], None] | None = None
        self._events_lock = threading.Lock()
        self._events_stamp: int | None = None  # the newest verdict the tracker took (older ones are late)
        # several people (people.enabled): a window, verdicts and events per track
        self.people = PersonWindows(config.people, self.settings.window) if config.people.enabled else None
        self.scoring = Scoring(model.predictor, list(model.class_names), self.settings.scores, self.settings.primary,
                               self.settings.top_k, self.settings.use_rgb, self.depth_scoring)
        # every class a result may name: the model's, then a separate pair model's own (people.pairs)
        self.label_names: list[str] = list(model.class_names)
        self.pair_scoring = self._pair_scoring() if self.people is not None and config.people.pairs.enabled else None
        self.on_people: Callable[[PeopleResult], None] | None = None
        self.track_events: dict[str, EventTracker] = {}
        self._track_stamp: dict[str, int] = {}  # newest verdict stamp per track (its events' order)
        self._track_delivered: dict[str, int] = {}  # newest labelled stamp per track
        self.tracks_born = 0
        self.tracks_ended = 0
        self.pairs_ended = 0
        self.mailbox: Mailbox[Any] = Mailbox(self._work, name="vg4d-recognizer", on_start=self._worker_threads)

    def _pair_scoring(self) -> Scoring:
        """The scoring of pair windows (``people.pairs``): the pair checkpoint's point-cloud scores (or the
        main model's scoring, when no other checkpoint is given), limited to ``pairs.classes``; extends
        :attr:`label_names` with the pair model's classes the main model lacks."""
        pairs = self.config.people.pairs
        if not pairs.checkpoint:
            model, base = self.model, self.scoring
        else:
            # point-cloud scores only: a pair's colour would be the whole image, not the two people
            pconf = dataclasses.replace(self.config, topics=dataclasses.replace(self.config.topics, rgb=""),
                                        inference=dataclasses.replace(self.config.inference,
                                                                      checkpoint=pairs.checkpoint, scores="auto",
                                                                      primary="auto"))
            model = load_model(pconf)
            settings = resolve(pconf, model)
            differ = self.settings.transform.differences(settings.transform, PAIR_TRANSFORM_FIELDS)
            if differ:
                raise RecognizerError(f"people.pairs.checkpoint {pairs.checkpoint} converts frames differently from "
                                      f"inference.checkpoint ({'; '.join(differ)}): one frame feeds both models, so "
                                      "train the pair model with the same frames, points and units")
            for text in settings.warnings:
                self.log("warn", f"pair model: {text}")
            base = Scoring(model.predictor, list(model.class_names), settings.scores, settings.primary,
                           settings.top_k, False, None)
            known = set(self.label_names)
            self.label_names += [n for n in model.class_names if n not in known]
        names = list(model.class_names)
        wanted = pairs.class_list()
        if wanted == [NTU_MUTUAL]:  # NTU RGB+D's two-person classes the pair model has (11 of NTU60, 26 of 120)
            from vg4d_core.data.ntu import NTU_MUTUAL_ACTIONS
            wanted = [n for n in NTU_MUTUAL_ACTIONS if n in names]
            if not wanted:
                raise RecognizerError(f"people.pairs.classes={NTU_MUTUAL}, but the pair model ({model.path}) has none "
                                      "of NTU RGB+D's mutual actions among its classes")
        keep = None
        if wanted:
            unknown = [c for c in wanted if c not in names]
            if unknown:
                raise RecognizerError(f"people.pairs.classes names classes the pair model "
                                      f"({model.path}) does not have: {', '.join(unknown)}")
            keep = np.isin(np.asarray(names, dtype=object), np.asarray(wanted, dtype=object))
        index = {n: i for i, n in enumerate(self.label_names)}
        to_labels = np.asarray([index[n] for n in names], np.int64)
        top_k = min(base.top_k, int(keep.sum()) if keep is not None else len(names))
        self.log("info", f"two-person actions: pairs within {pairs.max_distance_m:g} m are scored by {model.path}"
                         f" ({len(wanted) if wanted else len(names)} classes)")
        return dataclasses.replace(base, keep=keep, to_labels=to_labels, top_k=top_k)

    def _synchroniser(self, inputs: int) -> Any:
        if inputs == 1:
            return PassThrough()
        return ApproximateTimeSynchronizer(inputs, self.config.sync.queue_size, int(self.config.sync.slop_s * 1e9))

    def _reset_stream_state(self) -> None:
        """Forget the input timeline (at construction and stop): newest stamps, pairing, delivered stamp."""
        self._newest_ns: int | None = None  # newest depth / cloud stamp (the timeline)
        # the colour-depth gap a depth_only warning names: colour stamp - newest depth stamp at each colour's
        # arrival, the median of the latest ones (a colour that overtook its depth frame is one period off;
        # one such arrival must not change what the warning says)
        self._rgb_skew_ns: deque[int] = deque(maxlen=15)
        self._unpaired = 0  # depth / cloud frames since the last colour pair
        self._rgb_since_pair = 0  # colour images since the last pair
        self._delivered_ns: int | None = None  # stamp of the newest result given to on_result
        self.depth_only = ""  # why frames go on without colour ("" = colour pairs with depth)
        self._depth_only_from = 0  # frames_depth_only when colour was lost
    # -- topics ---------------------------------------------------------------
    def topics(self) -> dict[str, str]:
        """role -> topic of the inputs to subscribe (rgb left out when it is ignored)."""
        topics = self.config.input_topics()
        if not self.settings.use_rgb:
            topics.pop("rgb", None)
        return topics

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> None:
        """Start the inference worker (idempotent)."""
        self.mailbox.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the worker after the inference in progress; pending windows and buffers are dropped."""
        self.mailbox.stop(timeout_s)
        self.end_events("stream_end")
        with self._sync_lock:
            self._clear_buffers()
            # a restart (lifecycle deactivate / activate) may follow a time reset: start a new timeline
            self._reset_stream_state()

    def _clear_buffers(self) -> None:
        self.sync.clear()
        if self.alone_sync is not None:
            self.alone_sync.clear()
        self.buffer.clear()
        if self.motion is not None:
            self.motion.clear()
        if self.people is not None:
            self.tracks_ended += len(self.people.clear())  # their segments end with the caller's end_events

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until no window is pending (tests, benchmarks); True if idle in time."""
        return self.mailbox.wait_idle(timeout_s)

    # -- message callbacks (any thread; one lock serialises them) -------------
    def record_malformed(self, role: str, reason: str) -> None:
        """Count a malformed message of ``role`` (also used by transports for undecodable bytes); the
        first of each reason is logged, repeats are summarised per topic (:class:`RepeatLog`)."""
        table = self.malformed.setdefault(role, Counter())
        if reason not in table and len(table) >= MAX_REASONS_PER_TOPIC:
            reason = "other"
        table[reason] += 1
        topic = self.input_topic_names.get(role) or self.config.input_topics().get(role, role)
        self.repeat_log("warn", topic, reason, f"malformed message on {topic}: {reason}")

    def input_valid(self, role: str) -> bool:
        """Whether a usable message of ``role`` arrived (camera_info: intrinsics known); for the silence
        watch, which takes the camera info as satisfied by one valid message (it may be latched)."""
        return self.converter.intrinsics is not None if role == "camera_info" else self.messages[role] > 0

    def _guard(self, role: str, fn: Callable[[], None]) -> None:
        self.messages[role] += 1
        try:
            with self._sync_lock:
                fn()
        except MessageError as exc:
            self.record_malformed(role, str(exc)[:160])

    def on_camera_info(self, msg: Any) -> None:
        self._guard("camera_info", lambda: self.converter.set_camera_info(msg))

    def _image(self, role: str, msg: Any) -> None:
        """An image of ``role``, raw or compressed (image_transport's ``compressed`` / ``compressedDepth``):
        a compressed one is decoded here, before the lock (a few ms of PNG / JPEG), so everything after
        sees the raw image the driver had; one that does not decode is counted as malformed."""
        if is_compressed(msg):
            try:
                msg = as_raw_image(msg, role)
            except MessageError as exc:
                self.messages[role] += 1
                self.record_malformed(role, str(exc)[:160])
                return
        self._guard(role, lambda: self._arrive(role, msg))

    def on_depth(self, msg: Any) -> None:
        self._image("depth", msg)

    def on_cloud(self, msg: Any) -> None:
        self._guard("cloud", lambda: self._arrive("cloud", msg))

    def on_rgb(self, msg: Any) -> None:
        if self.settings.use_rgb:
            self._image("rgb", msg)
        else:
            self.messages["rgb"] += 1

    def on_mask(self, msg: Any) -> None:
        self._image("mask", msg)

    def tf_topics(self) -> dict[str, str]:
        """role -> topic of the ``tf2_msgs/msg/TFMessage`` inputs to subscribe ({} when ``input_frame`` is
        unset). Not watched for silence: a robot whose frames are all static publishes no /tf."""
        return {"tf": TF_TOPIC, "tf_static": TF_STATIC_TOPIC} if self.input_frame else {}

    def on_tf(self, msg: Any) -> None:
        """A ``tf2_msgs/msg/TFMessage`` of /tf (dynamic: the latest per child frame is kept)."""
        self._add_tf("tf", msg)

    def on_tf_static(self, msg: Any) -> None:
        """A ``tf2_msgs/msg/TFMessage`` of /tf_static (latched: kept until replaced)."""
        self._add_tf("tf_static", msg)

    def _add_tf(self, role: str, msg: Any) -> None:
        self.messages[role] += 1
        problems = self.tf.add_message(msg, static=role == "tf_static")
        if problems:
            topic = self.tf_topics().get(role, role)
            with self._sync_lock:
                for problem in problems:
                    self.tf_refused += 1
                    self.repeat_log("warn", "tf", problem, f"{topic}: transform refused: {problem}")

    def _arrive(self, role: str, msg: Any) -> None:
        if role not in self.sync_roles:
            return
        stamp = stamp_ns(msg)
        main = role == self.sync_roles[0]
        if main:
            self._follow_timeline(stamp)
        elif role == "rgb":
            if self._newest_ns is not None:
                self._rgb_skew_ns.append(stamp - self._newest_ns)
            self._rgb_since_pair += 1
            if self.depth_only:  # only the newest colour can pair again: queued ones are of the other clock
                self.sync.clear(self.sync_roles.index("rgb"))
        synced = self.sync.add(self.sync_roles.index(role), stamp, msg)
        if self.alone_sync is None:
            if synced is not None:
                self._frame(synced)
            return
        # with colour: the same message also feeds the colourless synchroniser, used while depth_only
        alone = None if role == "rgb" else self.alone_sync.add(self.alone_roles.index(role), stamp, msg)
        if synced is not None:
            self._unpaired = self._rgb_since_pair = 0
            self._rgb_skew_ns.clear()  # the gap is measured over colour that found no partner
            if self.depth_only:
                self._colour_back(synced)
            newest = self.buffer.newest_ns
            if newest is None or synced.stamp > newest:  # (its depth may have gone on alone already)
                self._frame(synced)
            return
        if main:
            self._unpaired += 1
            if not self.depth_only and self._unpaired >= self.guards.depth_only_after_frames:
                self._colour_lost()
        if self.depth_only and alone is not None:
            self.frames_depth_only += 1
            self.repeat_log("warn", "colour", "depth_only", f"still labelling from depth alone: {self.depth_only}")
            self._frame(alone)

    def _colour_lost(self) -> None:
        """``depth_only_after_frames`` depth frames found no colour partner: go on without colour."""
        n, slop = self._unpaired, self.config.sync.slop_s
        if self._rgb_since_pair == 0 or not self._rgb_skew_ns:
            self.depth_only = f"no colour image in the last {n} depth frames"
        else:
            gap = abs(float(np.median(self._rgb_skew_ns))) / 1e9
            self.depth_only = f"colour and depth stamps differ by {gap:.2f} s, no pair within {slop:g} s"
        # queued colour of another timeline would evict every newer-looking image: start pairing afresh
        self.sync.clear()
        self._depth_only_from = self.frames_depth_only
        scoring = self.depth_scoring
        how = scoring.note if scoring.predictor is not None else f"not labelled: {scoring.note}"
        self.repeat_log("warn", "colour", "depth_only", f"{self.depth_only}: labelling from depth alone ({how})")

    def _colour_back(self, synced: Synced) -> None:
        alone = self.frames_depth_only - self._depth_only_from
        self.repeat_log("info", "colour", "back", f"colour and depth pair again (stamps {synced.stamps[0] / 1e9:.3f} "
                        f"/ {synced.stamps[1] / 1e9:.3f} s) after {alone} depth-only frames: full fusion once the "
                        "window holds colour")
        self.depth_only = ""

    def _follow_timeline(self, stamp: int) -> None:
        """Restart the buffers when the depth / cloud stamps jump back or leap forward (see GuardSettings)."""
        newest = self._newest_ns
        if newest is not None and stamp <= newest - self._jump_back_ns:
            kind, size = "back", newest - stamp
        elif newest is not None and stamp > newest + self._gap_ns:
            kind, size = "forward", stamp - newest
        else:
            if newest is None or stamp > newest:
                self._newest_ns = stamp
            return
        self._newest_ns = stamp
        self._clear_buffers()
        self._unpaired = 0
        self.end_events("reset")
        self.stamp_resets[kind] += 1
        topic = self.config.input_topics().get(self.sync_roles[0], self.sync_roles[0])
        cause = "bag loop or sim-time reset" if kind == "back" else "a gap in the stream"
        text = f"{topic} stamps jumped {kind} by {size / 1e9:.2f} s ({cause}): window buffer restarted"
        if kind == "back" and self._delivered_ns is not None:
            text += (f"; results stay withheld until the stamps pass the last published one "
                     f"({self._delivered_ns / 1e9:.3f} s) or the recogniser restarts")
        self.last_stamp_reset = text
        self.repeat_log("warn", "stamps", kind, text)

    def person_check(self, window: Window) -> str:
        """Why ``window`` shows no person ("" when it does): fewer than ``min_person_frames_fraction`` of
        its frames hold ``min_points_per_frame`` foreground points (empty / zero / NaN depth, nothing
        selected)."""
        g = self.guards
        counts = np.asarray(window.point_counts)
        few = int((counts < g.min_points_per_frame).sum())
        if counts.size and counts.size - few >= g.min_person_frames_fraction * counts.size:
            return ""
        return f"no person in view: {few} of {counts.size} frames have < {g.min_points_per_frame} foreground points"

    def _frame(self, synced: Synced) -> None:
        parts = dict(zip(self.sync_roles, synced.msgs))
        role = self.sync_roles[0]
        if self.people is not None:
            self._people_frame(synced, parts, role)
            return
        frame = self._convert(role, lambda: self.converter.convert(synced.stamp, synced.msgs[0], parts.get("rgb"),
                                                                   parts.get("mask")))
        if frame is None:
            return
        self._converted(role, synced.msgs[0], frame.stride)
        self.buffer.frame_id = frame.frame_id
        motion = float("nan")
        if self.motion is not None:  # the share of the person that moved (the still rule), metres
            motion = self.motion.push(frame.stamp_ns, frame.points / np.float32(self.settings.point_scale))
        converted = Frame(frame.stamp_ns, frame.points, frame.rgb, motion)
        if self.frame_tap is not None:  # e.g. replay's per-segment verdicts
            self.frame_tap(converted)
        window = self.buffer.push(converted)
        if window is None:
            return
        self.windows_formed += 1
        status, reason = self._refusal(window)
        if not reason:  # the gates run here, cheaply: a refused window never takes the mailbox
            self._post(window)
        else:
            self._track(Verdict(status, reason, window.last_stamp_ns, window.num_frames,
                                first_stamp_ns=window.first_stamp_ns))

    def _people_frame(self, synced: Synced, parts: dict[str, Any], role: str) -> None:
        """The people path of :meth:`_frame`: foreground -> tracked people -> a window per track; the windows
        due at this frame are gated per person and go to the worker as one batch."""
        ids = self.config.people.source == "instance_mask"

        def convert() -> tuple[Any, Any]:
            fg = self.converter.foreground_points(synced.msgs[0], parts.get("mask"), instance_ids=ids)
            # one colour frame for every track (rgb_fit person: the square around all of the foreground)
            return fg, self.converter.colour_or_none(parts.get("rgb"), fg)
        converted = self._convert(role, convert)
        if converted is None:
            return
        fg, rgb = converted
        self._converted(role, synced.msgs[0], fg.stride)
        self.buffer.frame_id = self.people.frame_id = fg.frame_id
        if self.frame_tap is not None:
            self.frame_tap(Frame(synced.stamp, self.converter.store(fg.points_m, synced.stamp), rgb))
        step = self.people.push(synced.stamp, fg.points_m, rgb, self.converter.store, fg.instance_ids)
        self.tracks_born += len(step.tracks.born)
        for track_id in step.ended:
            self._end_track(track_id, synced.stamp, "track_lost")
        for pid, why in step.pairs_ended:
            self._end_track(pid, synced.stamp, why, person=False)
        due: dict[str, PersonWindow] = {}
        for pw in step.windows:
            self.windows_formed += 1
            reason = self.person_check(pw.window)
            if reason:  # occluded or gone for most of the window: not classified
                self.windows_no_person += 1
                self._track_person(pw.track_id, Verdict("no_person", reason, pw.window.last_stamp_ns,
                                                        pw.window.num_frames, first_stamp_ns=pw.window.first_stamp_ns))
            else:
                due[pw.track_id] = pw
        if due:
            superseded: list[int] = []  # windows of the pending batch that a newer one of the same track replaced

            def merge(pending: Any, new: Any) -> Any:
                if isinstance(pending, _Batch):
                    superseded.append(len(pending.windows.keys() & new.windows.keys()))
                return _merge_batches(pending, new)

            self.mailbox.post(_Batch(due, self.clock()), merge=merge)
            self.windows_dropped += sum(superseded)  # per window, as the single-person path counts them

    def _convert(self, role: str, convert: Callable[[], Any]) -> Any:
        """``convert()`` (the converter on this instant's messages), or None when the frame cannot be used,
        counted and logged: no CameraInfo yet, a malformed message, no transform into ``input_frame``."""
        try:
            return convert()
        except NoCameraInfo:
            self.waiting_for_camera_info += 1
        except FrameError as exc:
            self.record_malformed(exc.role, str(exc)[:160])
        except TransformError as exc:
            self._no_transform(role, exc)
        return None

    def _converted(self, role: str, msg: Any, stride: int) -> None:
        """A frame was converted: a transform found again is said once; the input stride is noted."""
        if self.no_transform:
            self.repeat_log("info", "tf", "found", f"frames reach {self.input_frame} now: labelling")
            self.no_transform = ""
        self.input_stride = stride
        if stride > 1:
            self._note_reduced(role, msg, stride, self.converter.limit)

    def _end_track(self, track_id: str, stamp_ns: int, why: str, person: bool = True) -> None:
        """A track ended (its person left, or the stream reset), or a pair (``person`` False): close its
        action segment."""
        if person:
            self.tracks_ended += 1
        else:
            self.pairs_ended += 1
        with self._events_lock:
            tracker = self.track_events.pop(track_id, None)
            self._track_stamp.pop(track_id, None)
            self._track_delivered.pop(track_id, None)
            events = tracker.reset(stamp_ns, why) if tracker is not None else []
        self._emit(None, events)

    def _track_person(self, track_id: str, verdict: Verdict) -> None:
        """:meth:`_track` for one person's verdict: that person's event tracker, in stamp order."""
        with self._events_lock:
            last = self._track_stamp.get(track_id)
            if last is not None and verdict.stamp_ns <= last:
                return
            self._track_stamp[track_id] = verdict.stamp_ns
            tracker = self.track_events.get(track_id)
            if tracker is None:  # a pair's results are in label_names (its model's classes may be others)
                names = self.label_names if is_pair(track_id) else list(self.model.class_names)
                tracker = self.track_events[track_id] = EventTracker(names, self.events.settings, track_id=track_id)
            events = _events_of(tracker, verdict)
        self._emit(verdict, events)

    def _work_people(self, batch: _Batch) -> None:
        """Score every person's window of one tick in one batch, then decide, publish and track each."""
        tracks = sorted(batch.windows, key=member_numbers)
        windows = [batch.windows[t].window for t in tracks]
        results = self._score_people(tracks, windows, batch.completed)
        people: list[PersonVerdict] = []
        for i, track_id in enumerate(tracks):
            w = windows[i]
            if isinstance(results[i], str):  # the batch failed: every window in it is an error
                verdict = Verdict("error", results[i], w.last_stamp_ns, w.num_frames, first_stamp_ns=w.first_stamp_ns)
            else:
                verdict = self._person_verdict(track_id, results[i])
            self._track_person(track_id, verdict)
            people.append(PersonVerdict(track_id, batch.windows[track_id].box, verdict, batch.windows[track_id].members))
        # ~/action and ~/label describe one person, never a pair
        labelled = [(p.track_id, p.box) for p in people if p.verdict.status == "labelled" and not p.members]
        selected = select_person(labelled, self.config.people.select, self.config.people.select_id)
        newest = max(w.last_stamp_ns for w in windows)
        frame_id = windows[0].frame_id
        self._call(self.on_people, PeopleResult(newest, frame_id, people, selected), "the people")
        if selected is not None:
            chosen = next(p.verdict.recognition for p in people if p.track_id == selected)
            # ~/action and ~/label: one stream whose stamps only increase, whoever is selected
            if self._delivered_ns is None or chosen.stamp_ns > self._delivered_ns:
                self._delivered_ns = chosen.stamp_ns
                self.last_result = chosen
                self._call(self.on_result, chosen, "a result")

    def _score_people(self, tracks: list[str], windows: list[Window], completed: float) -> list[Recognition | str]:
        """One tick's windows -> a result (or the failure in words) each: people by the checkpoint, pairs
        by the pair scoring; one forward pass when both are the same model."""
        out: list[Recognition | str] = [""] * len(tracks)
        if self.pair_scoring is None:
            groups = [(list(range(len(tracks))), None)]
        else:
            pairs = [i for i, t in enumerate(tracks) if is_pair(t)]
            people = [i for i, t in enumerate(tracks) if not is_pair(t)]
            if self.pair_scoring.predictor is self.scoring.predictor:  # one model: one batch, then each space
                groups = [(people + pairs, "split")]
            else:
                groups = [(people, None), (pairs, self.pair_scoring)]
        for rows, scoring in groups:
            if not rows:
                continue
            if scoring == "split":
                results = self._infer_batch_counted([windows[i] for i in rows], completed)
                if not isinstance(results, str):
                    pair_rows = [k for k, i in enumerate(rows) if is_pair(tracks[i])]
                    again = [_rescored(results[k], self.pair_scoring, self.label_names, self.threshold)
                             for k in pair_rows]
                    for k, r in zip(pair_rows, again):
                        results[k] = r
            else:
                results = self._infer_batch_counted([windows[i] for i in rows], completed, scoring)
            for k, i in enumerate(rows):
                out[i] = results if isinstance(results, str) else results[k]
        return out

    def _person_verdict(self, track_id: str, result: Recognition) -> Verdict:
        """The delivery rules of :meth:`_verdict` for one person (the stamp order is per track)."""
        status, reason = self._delivery(result, self._track_delivered.get(track_id), f"for {track_id}")
        if status == "labelled":
            self._track_delivered[track_id] = result.stamp_ns
        return Verdict(status, reason, result.stamp_ns, result.num_frames, result, result.first_stamp_ns)

    def _no_transform(self, role: str, exc: TransformError) -> None:
        """A frame with no transform into ``input_frame`` (yet): skipped, counted and the missing link named
        once (then summarised), until the TF tree connects them."""
        topic = self.config.input_topics().get(role, role)
        self.frames_no_transform += 1
        self.no_transform = f"{topic}: {exc}" if "no header.frame_id" in str(exc) else str(exc)
        self.repeat_log("warn", "tf", self.no_transform, f"{self.no_transform}: {topic} frames are skipped until "
                        f"{TF_STATIC_TOPIC} or {TF_TOPIC} connects them (input_frame={self.input_frame})")

    def _note_reduced(self, role: str, msg: Any, stride: int, limit: int) -> None:
        """Count a frame read at ``stride``; say so once per topic, then in the periodic summaries."""
        self.frames_reduced += 1
        topic = self.config.input_topics().get(role, role)
        height, width = int(msg.height), int(msg.width)  # (checked by the conversion)
        name = "max_depth_pixels" if role == "depth" else "max_cloud_points"
        kept = -(-height // stride) * -(-width // stride)
        self.repeat_log("info", "input_limits", role,
                        f"{topic}: {width}x{height} input exceeds input_limits.{name}={limit}: one row and column "
                        f"in {stride} is used ({kept} of {width * height}); the model samples "
                        f"{self.settings.window.points_per_frame} points per frame from what is left")

    def _refusal(self, window: Window) -> tuple[str, str]:
        """The gates of a formed window, with their bookkeeping: ``("", "")`` to classify it, else
        ``(status, why)``: ``no_person`` (the person gate; counted in ``windows_no_person``, held in
        :attr:`no_person`, logged once then summarised) or ``still`` (the motion rule; counted in
        ``windows_still``)."""
        reason = self.person_check(window)
        if reason:  # not classified: a model trained on people labels an empty room with confidence
            self.windows_no_person += 1
            self.no_person = reason
            self.repeat_log("warn", "person", "none", f"{reason}: not labelled until a person is back")
            return "no_person", reason
        if self.no_person:
            self.no_person = ""
            self.repeat_log("info", "person", "back", "a person is in view again: labelling")
        still = self.still_check(window)
        if still:  # a pause between actions is no action (motion.min_motion)
            self.windows_still += 1
            return "still", still
        return "", ""

    def still_check(self, window: Window) -> str:
        """The motion rule (:mod:`vg4d_ros.pipeline.motion`): "" when the window's person moves enough (or
        the rule is off, or motion is unknown: the start of a stream), else why it is not labelled."""
        m = self.config.motion
        if self.motion is None:
            return ""
        moved = window_motion(window.frame_stamps, window.motion, m.still_s)
        if not np.isfinite(moved) or moved >= m.min_motion:
            return ""
        return (f"person still: {100 * moved:.1f} % of the foreground moved over the last {m.still_s:g} s "
                f"(motion.min_motion {100 * m.min_motion:g} %)")

    # -- worker -----------------------------------------------------------------
    def _post(self, window: Window) -> None:
        if self.mailbox.post(_Pending(window, self.clock())):
            self.windows_dropped += 1  # newest window wins

    def _worker_threads(self) -> None:
        if self.config.inference.threads > 0:
            import torch
            # OpenMP's thread count is per calling thread: set it where inference runs
            torch.set_num_threads(self.config.inference.threads)

    def _work(self, job: _Pending | _Batch) -> None:
        if isinstance(job, _Batch):
            self._work_people(job)
            return
        result = self._infer_counted(job.window, job.completed)
        if isinstance(result, Recognition):
            self._deliver(result)

    def _infer_counted(self, window: Window, completed: float) -> Recognition | str:
        """:meth:`infer`, or the failure in words (counted and logged): one bad window must not end the node."""
        try:
            return self.infer(window, completed)
        except Exception as exc:
            return self._inference_failed(exc)

    def _infer_batch_counted(self, windows: list[Window], completed: float,
                             scoring: Scoring | None = None) -> list[Recognition] | str:
        """:meth:`infer_batch`, or the failure in words (counted once and logged)."""
        try:
            return self.infer_batch(windows, completed, scoring)
        except Exception as exc:
            return self._inference_failed(exc)

    def _inference_failed(self, exc: Exception) -> str:
        self.inference_errors += 1
        text = f"inference failed: {type(exc).__name__}: {exc}"
        self.log("error", text)
        return text

    def _verdict(self, result: Recognition, *, final: bool = False) -> Verdict:
        """The delivery rules of a classified window (:meth:`_delivery`) on the single-person path: the
        ``final`` end window (see :meth:`end_window`) is never ``not_newer``; a labelled window's stamp is
        the last delivered."""
        self.last_result = result
        status, reason = self._delivery(result, None if final else self._delivered_ns, "")
        if status == "labelled":
            self._delivered_ns = max(result.stamp_ns, self._delivered_ns or result.stamp_ns)
        return Verdict(status, reason, result.stamp_ns, result.num_frames, result, result.first_stamp_ns)

    def _delivery(self, result: Recognition, last_ns: int | None, whose: str) -> tuple[str, str]:
        """The rules every classified window goes through, one person's or the only one's (counted here):
        a top-1 below the confidence threshold is withheld (``unsure``); a result not newer than ``last_ns``,
        the last delivered (``whose``: "" or "for <track>"), is dropped (``not_newer``); else ``labelled``.
        Returns (status, reason)."""
        if result.unsure:
            self.windows_unsure += 1
            name, p = result.top_k[0]
            return "unsure", (f"top-1 {name!r} at {p:.3f} is below guards.confidence_threshold="
                              f"{self.threshold:g}: label withheld")
        if last_ns is not None and result.stamp_ns <= last_ns:
            # after a stamp jump back: consumers must never see the output's time go backwards
            self.results_not_newer += 1
            reason = (f"result at {result.stamp_ns / 1e9:.3f} s is not newer than the last published "
                      f"{whose + ' ' if whose else ''}({last_ns / 1e9:.3f} s): dropped")
            self.repeat_log("warn", "results", "not_newer", reason)
            return "not_newer", reason
        return "labelled", ""

    def _deliver(self, result: Recognition) -> None:
        """Give ``result`` to ``on_result`` if :meth:`_verdict` labels it, to ``on_withheld`` if unsure."""
        verdict = self._verdict(result)
        self._track(verdict)
        status = verdict.status
        callback = self.on_result if status == "labelled" else self.on_withheld if status == "unsure" else None
        self._call(callback, result, "a result")

    def _track(self, verdict: Verdict) -> None:
        """Feed one window's verdict to the event tracker (in stamp order: a late one is dropped) and hand
        its events to ``on_event``; ``on_verdict`` sees every verdict."""
        with self._events_lock:
            if self._events_stamp is not None and verdict.stamp_ns <= self._events_stamp:
                return
            self._events_stamp = verdict.stamp_ns
            events = _events_of(self.events, verdict)
        self._emit(verdict, events)

    def _emit(self, verdict: Verdict | None, events: list[ActionEvent]) -> None:
        if verdict is not None:
            self._call(self.on_verdict, verdict, "a verdict")
        for event in events:
            self._call(self.on_event, event, "an event")

    def _call(self, callback: Callable[[Any], None] | None, item: Any, what: str) -> None:
        """A transport's callback, if set; its failure is logged, never raised into the recogniser."""
        if callback is None:
            return
        try:
            callback(item)
        except Exception as exc:
            self.log("error", f"publishing {what} failed: {type(exc).__name__}: {exc}")

    def end_events(self, why: str = "stream_end") -> list[ActionEvent]:
        """Close the open action segment (end of a recording, shutdown); its event also goes to
        ``on_event``."""
        with self._events_lock:
            events = self.events.reset(self._events_stamp or 0, why)
            self._events_stamp = None
            for track_id in sorted(self.track_events, key=member_numbers):
                events += self.track_events[track_id].reset(self._track_stamp.get(track_id, 0), why)
            self.track_events.clear()
            self._track_stamp.clear()
            self._track_delivered.clear()
        self._emit(None, events)
        return events

    def end_window(self) -> Verdict | None:
        """One more window of every frame still buffered (the end of a recording, ``vg4d replay``), decided
        as a live window is: the person gate, inference, the confidence threshold. None when nothing is
        buffered.

        Runs on the calling thread; call it with the worker idle (:meth:`wait_idle`). It calls neither
        ``on_result`` nor ``on_withheld``: the caller reports the :class:`Verdict`. The one live rule it
        skips is "not newer than the last delivered": with no frame after the last live window the end
        window is that same window again (same frames, same clip), and it is the recording's verdict, not
        a new point on the output's timeline.
        """
        with self._sync_lock:
            if self.people is not None or not len(self.buffer):  # the people path: per-track windows only
                return None
            window = self.buffer.window()
            self.windows_formed += 1
        completed = self.clock()
        status, reason = self._refusal(window)
        if not reason:
            result = self._infer_counted(window, completed)
            if isinstance(result, Recognition):
                return self._verdict(result, final=True)
            status, reason = "error", result
        return Verdict(status, reason, window.last_stamp_ns, window.num_frames, first_stamp_ns=window.first_stamp_ns)

    def infer(self, window: Window, completed: float | None = None) -> Recognition:
        """Run the model on one window now (the worker's step; also for benchmarks)."""
        return self.infer_batch([window], completed)[0]

    def infer_batch(self, windows: list[Window], completed: float | None = None,
                    scoring: Scoring | None = None) -> list[Recognition]:
        """Run a model (``scoring``; default: the checkpoint's, :attr:`scoring`) on several windows (every
        view of each) in one batch: one forward pass for all the people of a tick. Each window's views
        are averaged as ``vg4d evaluate`` pools a video's test views; a window's result does not depend on
        the others in the batch (eval mode)."""
        completed = self.clock() if completed is None else completed
        sc = self.scoring if scoring is None else scoring
        views = [[(w.points, w.rgb), *w.clips] for w in windows]
        flat = [v for vs in views for v in vs]
        items: list[dict[str, Any]] = [{"points": pts, "label": 0, "video": "live"} for pts, _ in flat]
        predictor, scores, primary = sc.predictor, sc.scores, sc.primary
        # some sampled frame (of any view) went on without colour
        depth_only = sc.use_rgb and any(rgb is None for _, rgb in flat)
        if depth_only:
            if sc.depth_only is None or sc.depth_only.predictor is None:
                note = sc.depth_only.note if sc.depth_only is not None else "no point-cloud scoring"
                raise RecognizerError(f"a window without colour cannot be scored: {note}")
            predictor, scores, primary = sc.depth_only.predictor, sc.depth_only.scores, sc.depth_only.primary
        elif sc.use_rgb:
            for item, (_, rgb) in zip(items, flat):
                item["rgb"] = rgb
        probs = {n: np.asarray(p, dtype=np.float64) for n, p in predictor(collate_clips(items)).items()
                 if n in scores}
        names = self.label_names if sc.to_labels is not None else sc.class_names
        latency = (self.clock() - completed) * 1e3
        out: list[Recognition] = []
        start = 0
        for window, vs in zip(windows, views):
            stop = start + len(vs)
            tables = {n: _in_label_space(p[start:stop].mean(axis=0), sc, len(names)) for n, p in probs.items()}
            start = stop
            p = tables[primary]
            order = np.argsort(-p, kind="stable")[: sc.top_k]
            self.windows_inferred += 1
            self.latency.add(latency)
            out.append(Recognition(window.last_stamp_ns, window.frame_id, [(names[i], float(p[i])) for i in order],
                                   tables, primary, latency, window.num_frames,
                                   unsure=bool(p[order[0]] < self.threshold), depth_only=depth_only,
                                   points_m=window.points[-1] / np.float32(self.settings.point_scale),
                                   first_stamp_ns=window.first_stamp_ns))
        return out

    # -- counters -----------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counters for diagnostics and summaries (plain JSON types)."""
        return {
            "messages": dict(self.messages),
            "malformed": {r: dict(c) for r, c in self.malformed.items()},
            "malformed_total": sum(sum(c.values()) for c in self.malformed.values()),
            "waiting_for_camera_info": self.waiting_for_camera_info,
            "frames_out_of_order": self.buffer.dropped,
            "windows_formed": self.windows_formed,
            "windows_inferred": self.windows_inferred,
            "windows_dropped": self.windows_dropped,
            "inference_errors": self.inference_errors,
            "latency_ms_p50": self.latency.percentile(50),
            "latency_ms_p95": self.latency.percentile(95),
            "window": {"num_frames": self.settings.window.num_segments,
                       "points_per_frame": self.settings.window.points_per_frame,
                       "window_s": self.settings.window.window_s, "window_s_source": self.settings.window_s_source,
                       "hop_frames": self.settings.window.hop_frames, "rate_hz": self.settings.window.rate_hz},
            "scores": list(self.settings.scores),
            "primary": self.settings.primary,
            "no_person": self.no_person,
            "windows_no_person": self.windows_no_person,
            "windows_still": self.windows_still,
            "confidence_threshold": self.threshold,
            "windows_unsure": self.windows_unsure,
            "depth_only": self.depth_only,
            "frames_depth_only": self.frames_depth_only,
            "stamp_resets": dict(self.stamp_resets),
            "last_stamp_reset": self.last_stamp_reset,
            "results_not_newer": self.results_not_newer,
            "frames_reduced": self.frames_reduced,
            "input_stride": self.input_stride,
            "input_frame": self.input_frame,
            "no_transform": self.no_transform,
            "frames_no_transform": self.frames_no_transform,
            "tf_refused": self.tf_refused,
            "people": None if self.people is None else {
                "tracks": self.people.track_ids, "tracks_born": self.tracks_born, "tracks_ended": self.tracks_ended,
                "pairs": self.people.pair_ids, "pairs_ended": self.pairs_ended},
        }



def _merge_batches(pending: Any, new: Any) -> Any:
    """The mailbox's merge for the people path: the newest window of each track wins, the other tracks'
    pending windows stay (a single-person item is simply replaced)."""
    if isinstance(pending, _Batch) and isinstance(new, _Batch):
        return _Batch({**pending.windows, **new.windows}, new.completed)
    return new


def _rescored(result: Recognition, scoring: Scoring, names: list[str], threshold: float) -> Recognition:
    """A pair window's result from the person model's pass -> the pair scoring's classes and top-k (when
    one model scores both, only ``keep`` differs)."""
    tables = {n: _in_label_space(p, scoring, len(names)) for n, p in result.scores.items()}
    p = tables[result.primary]
    order = np.argsort(-p, kind="stable")[: scoring.top_k]
    return dataclasses.replace(result, scores=tables, top_k=[(names[i], float(p[i])) for i in order],
                               unsure=bool(p[order[0]] < threshold))


def _in_label_space(p: np.ndarray, scoring: Scoring, size: int) -> np.ndarray:
    """(C,) probabilities of ``scoring``'s model -> (size,) float32: restricted to ``keep`` (renormalised)
    and placed at ``to_labels`` (0 for the classes the model does not have)."""
    p = np.asarray(p, dtype=np.float64)
    if scoring.keep is not None:
        p = np.where(scoring.keep, p, 0.0)
        total = p.sum()
        p = p / total if total > 0 else np.where(scoring.keep, 1.0 / max(int(scoring.keep.sum()), 1), 0.0)
    if scoring.to_labels is None:
        return p.astype(np.float32)
    out = np.zeros(size, np.float32)
    out[scoring.to_labels] = p
    return out


def _events_of(tracker: EventTracker, verdict: Verdict) -> list[ActionEvent]:
    """What one window's verdict does to an event tracker: a label feeds the smoothing, a refusal (no
    person, unsure) ends the segment; not_newer (after a stamp jump back) or an error teaches nothing."""
    r = verdict.recognition
    if verdict.status == "labelled" and r is not None:
        return tracker.window(r.scores[r.primary], r.first_stamp_ns, r.stamp_ns, r.frame_id)
    if verdict.status in ("no_person", "still", "unsure"):
        return tracker.refused(verdict.stamp_ns, verdict.status)
    return []
