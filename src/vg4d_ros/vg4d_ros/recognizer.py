"""The recogniser core: messages in, action labels out (pure Python, no rclpy).

Data flow, per input message (the transport's callback thread)::

    on_depth / on_cloud / on_rgb / on_mask / on_camera_info
      -> stamp (convert.stamp_ns) -> synchroniser (sync.py; PassThrough when
         only depth / cloud is used) -> convert (convert.py, reduced first
         when larger than ``config.input_limits``) -> foreground
         (foreground.py) -> WindowBuffer (window.py) -> Window

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
* a malformed message (:class:`~vg4d_ros.convert.MessageError`) is counted
  per topic and reason, and processing carries on;
* oversized input: a depth image of more than ``input_limits.max_depth_pixels``
  pixels or a PointCloud2 of more than ``max_cloud_points`` points is read at
  an integer stride in both raster axes (:func:`vg4d_ros.convert.raster_stride`)
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
:mod:`vg4d_ros.outputs` make of each result.
"""
from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from vg4d_core.data.depth import CameraIntrinsics
from vg4d_ros.config import RecognizerConfig
from vg4d_ros.convert import (MessageError, camera_intrinsics, depth_image_to_points, mask_image_to_array,
                              pointcloud2_to_xyz, raster_stride, rgb_image_to_array, stamp_ns)
from vg4d_ros.foreground import foreground_keep
from vg4d_ros.sync import ApproximateTimeSynchronizer, PassThrough, Synced
from vg4d_ros.transforms import TF_STATIC_TOPIC, TF_TOPIC, TransformBuffer, TransformError, strip_slash
from vg4d_ros.window import Frame, Window, WindowBuffer, WindowConfig

Log = Callable[[str, str], None]  # (level "info" | "warn" | "error", text)

# keys under which a checkpoint may record the typical duration of its training videos (seconds)
TYPICAL_VIDEO_KEYS = ("typical_video_s", "typical_video_seconds", "median_video_s")
MAX_REASONS_PER_TOPIC = 16  # bound the malformed-reason table (reasons quote sizes that vary)

CACHE_DATASETS = ("ntu", "bag")  # datasets read from an int16 point cache (vg4d_core.data.cache)


class RecognizerError(ValueError):
    """The recogniser cannot be configured (bad checkpoint, inconsistent settings)."""


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


def frame_points(msg: Any, intrinsics: CameraIntrinsics | None, max_elements: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    """One depth Image (``intrinsics``: its camera's :class:`CameraIntrinsics`) or PointCloud2
    (``intrinsics`` None) -> ``(points, pixels, stride)``.

    ``points``: (P, 3) float32 metres, sensor optical frame; ``pixels``: (P, 2) int64 ``(u, v)`` of each
    point in the (strided) depth image, None for a cloud; ``stride``: the raster stride used to keep the
    input within ``max_elements`` pixels / points (1 = converted whole, bit-identical to no limit).

    Why a stride and not a voxel grid: a stride reads only the kept points' bytes (a voxel grid needs
    every point decoded and hashed first, the very cost to avoid), is deterministic, and keeps the
    sampling density of the sensor raster that the training clips were drawn from (a voxel grid would
    flatten it, thinning near, dense surfaces more than far ones).
    """
    stride = raster_stride(msg, max_elements)
    if intrinsics is None:
        return pointcloud2_to_xyz(msg, allow_empty=True, stride=stride), None, stride
    points, pixels = depth_image_to_points(msg, intrinsics, return_pixels=True, stride=stride)
    return points, pixels, stride


@dataclass
class LoadedModel:
    """A predictor and what the checkpoint says about its training data.

    ``predictor``: callable ``batch -> {score: (B, K) probs}`` with ``class_names``,
    ``score_names`` and ``inputs`` attributes (a :class:`vg4d_core.runtime.predictor.Predictor`).
    """

    predictor: Any
    class_names: list[str]
    data_config: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    path: str = ""


def load_model(config: RecognizerConfig) -> LoadedModel:
    """Load ``config.inference.checkpoint``; a missing or unfitting file is a :class:`RecognizerError`."""
    from vg4d_core.runtime.checkpoint import CheckpointError
    from vg4d_core.runtime.predictor import predictor_from_checkpoint, read_checkpoint

    inf = config.inference
    if not inf.checkpoint:
        raise RecognizerError("no checkpoint given (inference.checkpoint)")
    if inf.threads > 0:
        import torch
        torch.set_num_threads(inf.threads)
    try:
        ck = read_checkpoint(inf.checkpoint)
        wanted = inf.score_list()
        if wanted is None and not config.topics.rgb:
            # no camera: the point-cloud scores the checkpoint has (the VLM is then never loaded)
            if ck.arch.get("model") == "VLMClassifier":
                raise RecognizerError(f"{inf.checkpoint} is an RGB-only (vlm stage) checkpoint; set topics.rgb")
            wanted = ["pc"] + (["pc_text"] if ck.state.get("class_text_features") is not None else [])
        predictor, ck = predictor_from_checkpoint(ck, device=inf.device, amp=inf.amp, scores=wanted)
    except (CheckpointError, ValueError, KeyError, RuntimeError) as exc:
        raise RecognizerError(f"cannot load checkpoint {inf.checkpoint}: {exc}") from None
    state = {k: v for k, v in ck.state.items() if k not in ("model", "optimizer", "scheduler", "rng")}
    return LoadedModel(predictor, list(ck.class_names), dict(ck.data_config), state, str(ck.path))


def typical_video_s(model: LoadedModel) -> float | None:
    """The typical training-video duration the checkpoint records (s), or None."""
    for where in (model.state, model.data_config):
        for key in TYPICAL_VIDEO_KEYS:
            value = where.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                return float(value)
    return None


@dataclass(frozen=True)
class Resolved:
    """Settings after the checkpoint filled in what the YAML left to it."""

    window: WindowConfig
    window_s_source: str  # "config", "checkpoint" or "fallback"
    point_scale: float
    use_rgb: bool
    use_mask: bool
    scores: tuple[str, ...]
    primary: str
    top_k: int
    warnings: tuple[str, ...]
    point_quantum: float = 0.0  # 0 = points not rounded


def resolve(config: RecognizerConfig, model: LoadedModel) -> Resolved:
    """Combine the YAML settings with the checkpoint (T, N, seed, window length, units, scores)."""
    warnings: list[str] = []
    w, dc = config.window, model.data_config
    arch_cfg = (model.state.get("arch") or {}).get("model_config") or {}
    t = w.num_frames or int(dc.get("num_frames") or arch_cfg.get("frames") or 0)
    n = w.points_per_frame or int(dc.get("points_per_frame") or arch_cfg.get("points") or 0)
    if t < 1 or n < 1:
        raise RecognizerError(f"{model.path}: the checkpoint records no num_frames / points_per_frame; set "
                              "window.num_frames and window.points_per_frame")
    seed = w.seed if w.seed >= 0 else int(dc.get("seed", 0))
    if w.window_s > 0:
        window_s, source = w.window_s, "config"
    else:
        recorded = typical_video_s(model)
        window_s, source = (recorded, "checkpoint") if recorded else (w.fallback_window_s, "fallback")
    try:
        wcfg = WindowConfig(num_segments=t, points_per_frame=n, window_s=float(window_s), max_frames=w.max_frames,
                            min_frames=w.min_frames, hop_frames=w.hop_frames, rate_hz=w.rate_hz, seed=seed)
    except ValueError as exc:
        raise RecognizerError(f"window: {exc}") from None
    if config.inference.point_scale > 0:
        scale = config.inference.point_scale
    elif dc.get("name") == "ntu":
        from vg4d_core.data.depth import convention
        scale = convention(str(dc.get("convention", "kinect_v2")))[1]
    else:
        scale = 1.0
        if dc.get("name") == "msr_action3d":
            warnings.append("the checkpoint was trained on MSR-Action3D, whose point units are not metres; "
                            "set inference.point_scale to match them")
    inputs = tuple(getattr(model.predictor, "inputs", ("points",)))
    use_rgb = bool(config.topics.rgb)
    if use_rgb and "rgb" not in inputs:
        warnings.append(f"topics.rgb={config.topics.rgb!r} is configured but the checkpoint has no RGB score "
                        f"(scores: {', '.join(model.predictor.score_names)}); RGB is ignored")
        use_rgb = False
    names = tuple(model.predictor.score_names)
    wanted = config.inference.score_list()
    scores = tuple(s for s in names if wanted is None or s in wanted)
    if not scores:
        raise RecognizerError(f"none of the scores {wanted} is produced by {model.path} (it gives {list(names)})")
    primary = config.inference.primary
    if primary == "auto":
        primary = "fused" if "fused" in scores else scores[0]
    elif primary not in scores:
        raise RecognizerError(f"inference.primary={primary!r} is not among the scores {list(scores)}")
    k = config.inference.top_k
    if k < 1:
        raise RecognizerError(f"inference.top_k must be >= 1, got {k}")
    quantum = config.inference.point_quantum
    if quantum == 0:
        from vg4d_core.data.cache import CacheSettings

        # the cache's grid (its default quantum): a live frame then holds the very values the model trained on
        quantum = CacheSettings.quantum if dc.get("name") in CACHE_DATASETS else 0.0
    quantum = max(float(quantum), 0.0)
    return Resolved(wcfg, source, float(scale), use_rgb, bool(config.topics.mask), scores, primary,
                    min(k, len(model.class_names)), tuple(warnings), quantum)


@dataclass(frozen=True)
class DepthOnly:
    """How windows without colour are scored: a predictor over the point-cloud sources only.

    Attributes:
        predictor: the checkpoint's point-cloud score sources (shared modules, not a copy) with the
            fusion weights the checkpoint fitted for that subset; None when the checkpoint has none.
        scores: the score tables such a window gets.
        primary: the table its top-k ranks: ``fused`` when the subset has weights, else ``pc``.
        note: the above in words, for the log.
    """

    predictor: Any
    scores: tuple[str, ...]
    primary: str
    note: str


def depth_only_scoring(model: LoadedModel, settings: Resolved) -> DepthOnly:
    """The point-cloud-only scoring of ``model`` for windows whose colour is missing.

    Needs a :class:`vg4d_core.runtime.predictor.Predictor` (its ``sources``); anything else gets
    ``predictor=None`` (such windows are then not labelled).
    """
    from vg4d_core.runtime.fusion import FUSED
    from vg4d_core.runtime.predictor import Predictor, _fusion_for, subset_key

    full = model.predictor
    sources = [s for s in getattr(full, "sources", ()) if "rgb" not in s.inputs]
    names = [n for s in sources for n in s.names if n in settings.scores or FUSED in settings.scores]
    if not names:
        return DepthOnly(None, (), "", "the checkpoint has no point-cloud score to fall back on")
    fusion = _fusion_for(model.state, names) if len(names) > 1 else None
    predictor = Predictor(sources, list(full.class_names), full.device, full.amp_dtype, fusion)
    scores = tuple(n for n in predictor.score_names if n in names or n == FUSED)
    if settings.primary in scores:
        primary, note = settings.primary, f"scores {', '.join(scores)}"
    elif FUSED in scores:
        primary, note = FUSED, f"{'+'.join(names)} fused with the checkpoint's weights for that subset"
    else:
        primary = "pc" if "pc" in scores else scores[0]
        note = (f"ranked by {primary}: the checkpoint has no fusion weights for {subset_key(names)}"
                if len(names) > 1 else f"ranked by {primary}")
    return DepthOnly(predictor, scores, primary, note)


def dequantise(points: np.ndarray, quantum: float) -> np.ndarray:
    """(P, 3) points -> float32 rounded to the cache's int16 grid, exactly as a cached point reads back
    (``quantise_points``' rint of float64 / quantum, then ``CachedVideo.gather``'s ``q * float32(quantum)``).
    Values past the int16 range are kept (a live cloud may reach farther than a cache can hold)."""
    q = np.rint(np.asarray(points, dtype=np.float64) / quantum).astype(np.float32)  # exact below 2**24
    return q * np.float32(quantum)


class Reservoir:
    """A bounded uniform sample of a stream of values (Vitter's algorithm R), for percentiles."""

    def __init__(self, size: int = 1024, seed: int = 0) -> None:
        self.size = size
        self.values: list[float] = []
        self.seen = 0
        self._rng = random.Random(seed)

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(float(value))
        else:
            j = self._rng.randrange(self.seen)
            if j < self.size:
                self.values[j] = float(value)

    def percentile(self, q: float) -> float | None:
        return float(np.percentile(self.values, q)) if self.values else None


class RepeatLog:
    """Logs the first warning of each (group, kind) at once and its repeats as one summary line per
    group at most every ``period_s`` seconds (of ``clock``), with the count since the last line.

    Lazy: the summary is written by the repeat that finds the period over (no timer), so a burst that
    stops leaves its tail only in the counters, which the diagnostics show anyway.
    """

    def __init__(self, log: Log, clock: Callable[[], float], period_s: float) -> None:
        self.log = log
        self.clock = clock
        self.period_s = period_s
        self._seen: set[tuple[str, str]] = set()
        self._last: dict[str, float] = {}  # group -> clock() of its last line
        self._pending: dict[str, Counter[str]] = {}  # group -> kind -> repeats since that line

    def __call__(self, level: str, group: str, kind: str, text: str) -> None:
        now = self.clock()
        if (group, kind) not in self._seen:
            self._seen.add((group, kind))
            self._last[group] = now
            self.log(level, text)
            return
        pending = self._pending.setdefault(group, Counter())
        pending[kind] += 1
        elapsed = now - self._last.get(group, now)
        if elapsed >= self.period_s:
            kinds = "" if len(pending) == 1 else " (" + ", ".join(f"{k}: {n}" for k, n in pending.most_common()) + ")"
            self.log(level, f"{text} [{sum(pending.values())} in the last {elapsed:.0f} s{kinds}]")
            pending.clear()
            self._last[group] = now


@dataclass
class _Pending:
    window: Window
    completed: float  # clock() when the window was formed


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
        self.foreground = config.foreground.to_foreground(self.settings.use_mask)
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
        self.windows_unsure = 0
        self.frames_depth_only = 0
        self.stamp_resets: Counter[str] = Counter()  # "back" / "forward" -> count
        self.last_stamp_reset = ""
        self.results_not_newer = 0
        self.limits = config.input_limits
        self.frames_reduced = 0  # depth / cloud frames read at a stride (larger than input_limits)
        self.input_stride = 1  # the stride of the newest frame (1 = whole)
        self.input_frame = strip_slash(config.input_frame)  # "" = frames stay in their own header.frame_id
        self.tf = TransformBuffer()  # fed by on_tf / on_tf_static (subscribed when input_frame is set)
        self.frames_no_transform = 0  # depth / cloud frames skipped: no transform into input_frame (yet)
        self.no_transform = ""  # why the newest frame could not be moved into input_frame ("" = it could)
        self.tf_refused = 0  # transforms the TF tree refused (second parent, cycle, bad quaternion)
        self._reset_stream_state()
        self._intrinsics = None
        self._camera_info_key = None
        self.messages: Counter[str] = Counter()
        self.malformed: dict[str, Counter[str]] = {}
        self.waiting_for_camera_info = 0
        self.windows_formed = 0
        self.windows_inferred = 0
        self.windows_dropped = 0
        self.inference_errors = 0
        self.latency = Reservoir()
        self.last_result: Recognition | None = None
        self._slot: _Pending | None = None
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self._stop = False
        self._busy = False

    def _synchroniser(self, inputs: int) -> Any:
        if inputs == 1:
            return PassThrough()
        return ApproximateTimeSynchronizer(inputs, self.config.sync.queue_size, int(self.config.sync.slop_s * 1e9))

    def _reset_stream_state(self) -> None:
        """Forget the input timeline (at construction and stop): newest stamps, pairing, delivered stamp."""
        self._newest_ns: int | None = None  # newest depth / cloud stamp (the timeline)
        self._rgb_skew_ns: int | None = None  # newest colour stamp - newest depth stamp, at its arrival
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
        if self._worker is not None and self._worker.is_alive():
            return
        self._stop = False
        self._worker = threading.Thread(target=self._run, name="vg4d-recognizer", daemon=True)
        self._worker.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the worker after the inference in progress; pending windows and buffers are dropped."""
        with self._cond:
            self._stop = True
            self._slot = None
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout_s)
        self._worker = None
        with self._sync_lock:
            self._clear_buffers()
            # a restart (lifecycle deactivate / activate) may follow a time reset: start a new timeline
            self._reset_stream_state()

    def _clear_buffers(self) -> None:
        self.sync.clear()
        if self.alone_sync is not None:
            self.alone_sync.clear()
        self.buffer.clear()

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until no window is pending (tests, benchmarks); True if idle in time."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._slot is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # -- message callbacks (any thread; one lock serialises them) -------------
    def record_malformed(self, role: str, reason: str) -> None:
        """Count a malformed message of ``role`` (also used by transports for undecodable bytes); the
        first of each reason is logged, repeats are summarised per topic (:class:`RepeatLog`)."""
        table = self.malformed.setdefault(role, Counter())
        if reason not in table and len(table) >= MAX_REASONS_PER_TOPIC:
            reason = "other"
        table[reason] += 1
        topic = self.config.input_topics().get(role, role)
        self.repeat_log("warn", topic, reason, f"malformed message on {topic}: {reason}")

    def input_valid(self, role: str) -> bool:
        """Whether a usable message of ``role`` arrived (camera_info: intrinsics known); for the silence
        watch, which takes the camera info as satisfied by one valid message (it may be latched)."""
        return self._intrinsics is not None if role == "camera_info" else self.messages[role] > 0

    def _guard(self, role: str, fn: Callable[[], None]) -> None:
        self.messages[role] += 1
        try:
            with self._sync_lock:
                fn()
        except MessageError as exc:
            self.record_malformed(role, str(exc)[:160])

    def on_camera_info(self, msg: Any) -> None:
        def run():
            key = (tuple(np.asarray(getattr(msg, "k", getattr(msg, "K", ())), dtype=float).reshape(-1).tolist()),
                   getattr(msg, "width", 0), getattr(msg, "height", 0))
            if key != self._camera_info_key:  # build the intrinsics once per camera, not per frame
                self._intrinsics = camera_intrinsics(msg)
                self._camera_info_key = key
        self._guard("camera_info", run)

    def on_depth(self, msg: Any) -> None:
        self._guard("depth", lambda: self._arrive("depth", msg))

    def on_cloud(self, msg: Any) -> None:
        self._guard("cloud", lambda: self._arrive("cloud", msg))

    def on_rgb(self, msg: Any) -> None:
        if self.settings.use_rgb:
            self._guard("rgb", lambda: self._arrive("rgb", msg))
        else:
            self.messages["rgb"] += 1

    def on_mask(self, msg: Any) -> None:
        self._guard("mask", lambda: self._arrive("mask", msg))

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
            self._rgb_skew_ns = None if self._newest_ns is None else stamp - self._newest_ns
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
        if self._rgb_since_pair == 0 or self._rgb_skew_ns is None:
            self.depth_only = f"no colour image in the last {n} depth frames"
        else:
            gap = abs(self._rgb_skew_ns) / 1e9
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
        main = synced.msgs[0]
        role = self.sync_roles[0]
        parts = dict(zip(self.sync_roles, synced.msgs))
        if role == "depth" and self._intrinsics is None:
            self.waiting_for_camera_info += 1
            return
        limit = self.limits.max_depth_pixels if role == "depth" else self.limits.max_cloud_points
        try:
            # the training cache's conversion (one function family, convert.py), reduced first when oversized
            points, pixels, stride = frame_points(main, self._intrinsics if role == "depth" else None, limit)
        except MessageError as exc:
            self.record_malformed(role, str(exc)[:160])
            return
        self.input_stride = stride
        if stride > 1:
            self._note_reduced(role, main, stride, limit)
        frame_id = str(getattr(getattr(main, "header", None), "frame_id", "") or "")
        if self.input_frame:  # the foreground settings are in the model's optical frame: move the points there
            points = self._into_input_frame(role, points, frame_id)
            if points is None:
                return
            frame_id = self.input_frame
        mask = parts.get("mask")
        try:
            if mask is not None and stride > 1:  # aligned with the strided depth image's pixels
                mask = mask_image_to_array(mask, stride=stride)
            keep = foreground_keep(points, self.foreground, pixels=pixels, mask=mask)
        except (MessageError, ValueError) as exc:
            self.record_malformed("mask", str(exc)[:160])
            return
        points = points[keep]
        if self.settings.point_scale != 1.0:
            points = points * np.float32(self.settings.point_scale)
        if self.settings.point_quantum > 0:
            points = dequantise(points, self.settings.point_quantum)
        rgb = None
        if "rgb" in parts:
            try:
                rgb = self._rgb(parts["rgb"])
            except MessageError as exc:
                self.record_malformed("rgb", str(exc)[:160])
                return
        self.buffer.frame_id = frame_id
        window = self.buffer.push(Frame(synced.stamp, points.astype(np.float32, copy=False), rgb))
        if window is None:
            return
        self.windows_formed += 1
        if not self._refusal(window):  # the gate runs here, cheaply: a refused window never takes the mailbox
            self._post(window)

    def _into_input_frame(self, role: str, points: np.ndarray, frame_id: str) -> np.ndarray | None:
        """``points`` of a frame in ``frame_id`` -> in ``input_frame`` (the same array when it is already
        there); None when no transform connects the two (yet): the frame is skipped, counted and the
        missing link named once (then summarised), until the TF tree connects them."""
        source = strip_slash(frame_id)
        if source == self.input_frame:
            rigid = None
        else:
            topic = self.config.input_topics().get(role, role)
            try:
                if not source:
                    raise TransformError(f"{topic} frames carry no header.frame_id: no transform to "
                                         f"{self.input_frame}")
                rigid = self.tf.lookup(self.input_frame, source)
            except TransformError as exc:
                self.frames_no_transform += 1
                self.no_transform = str(exc)
                self.repeat_log("warn", "tf", self.no_transform, f"{exc}: {topic} frames are skipped until "
                                f"{TF_STATIC_TOPIC} or {TF_TOPIC} connects them (input_frame={self.input_frame})")
                return None
        if self.no_transform:
            self.repeat_log("info", "tf", "found", f"{source} frames reach {self.input_frame} now: labelling")
            self.no_transform = ""
        return points if rigid is None else rigid.apply(points)

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

    def _refusal(self, window: Window) -> str:
        """The person gate of a formed window, with its bookkeeping: "" to classify it, else why not
        (counted in ``windows_no_person``, held in :attr:`no_person`, logged once then summarised)."""
        reason = self.person_check(window)
        if reason:  # not classified: a model trained on people labels an empty room with confidence
            self.windows_no_person += 1
            self.no_person = reason
            self.repeat_log("warn", "person", "none", f"{reason}: not labelled until a person is back")
            return reason
        if self.no_person:
            self.no_person = ""
            self.repeat_log("info", "person", "back", "a person is in view again: labelling")
        return ""

    def _rgb(self, msg: Any) -> np.ndarray:
        rgb = rgb_image_to_array(msg)
        size = int(self.model.data_config.get("rgb_size") or 0)
        if size:
            from vg4d_core.data.rgb import resize_frame  # frames as the training cache made them
            rgb = resize_frame(rgb[:, :, ::-1], size, str(self.model.data_config.get("rgb_fit", "crop")))
        return rgb

    # -- worker -----------------------------------------------------------------
    def _post(self, window: Window) -> None:
        with self._cond:
            if self._slot is not None:
                self.windows_dropped += 1  # newest window wins
            self._slot = _Pending(window, self.clock())
            self._cond.notify_all()

    def _run(self) -> None:
        if self.config.inference.threads > 0:
            import torch
            # OpenMP's thread count is per calling thread: set it where inference runs
            torch.set_num_threads(self.config.inference.threads)
        while True:
            with self._cond:
                while self._slot is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job, self._slot = self._slot, None
                self._busy = True
            try:
                result = self._infer_counted(job.window, job.completed)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
            if isinstance(result, Recognition):
                self._deliver(result)

    def _infer_counted(self, window: Window, completed: float) -> Recognition | str:
        """:meth:`infer`, or the failure in words (counted and logged): one bad window must not end the node."""
        try:
            return self.infer(window, completed)
        except Exception as exc:
            self.inference_errors += 1
            text = f"inference failed: {type(exc).__name__}: {exc}"
            self.log("error", text)
            return text

    def _verdict(self, result: Recognition, *, final: bool = False) -> Verdict:
        """The delivery rules of a classified window (counted here): a top-1 below the confidence threshold
        is withheld (``unsure``); a result not newer than the last delivered one is dropped (``not_newer``;
        not for the ``final`` end window, see :meth:`end_window`); else ``labelled``, and its stamp is the
        last delivered."""
        self.last_result = result
        if result.unsure:
            self.windows_unsure += 1
            name, p = result.top_k[0]
            status, reason = "unsure", (f"top-1 {name!r} at {p:.3f} is below guards.confidence_threshold="
                                        f"{self.threshold:g}: label withheld")
        elif not final and self._delivered_ns is not None and result.stamp_ns <= self._delivered_ns:
            # after a stamp jump back: consumers must never see the output's time go backwards
            self.results_not_newer += 1
            status, reason = "not_newer", (f"result at {result.stamp_ns / 1e9:.3f} s is not newer than the last "
                                           f"published ({self._delivered_ns / 1e9:.3f} s): dropped")
            self.repeat_log("warn", "results", "not_newer", reason)
        else:
            self._delivered_ns = max(result.stamp_ns, self._delivered_ns or result.stamp_ns)
            status, reason = "labelled", ""
        return Verdict(status, reason, result.stamp_ns, result.num_frames, result)

    def _deliver(self, result: Recognition) -> None:
        """Give ``result`` to ``on_result`` if :meth:`_verdict` labels it, to ``on_withheld`` if unsure."""
        status = self._verdict(result).status
        callback = self.on_result if status == "labelled" else self.on_withheld if status == "unsure" else None
        if callback is None:
            return
        try:
            callback(result)
        except Exception as exc:
            self.log("error", f"publishing a result failed: {type(exc).__name__}: {exc}")

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
            if not len(self.buffer):
                return None
            window = self.buffer.window()
            self.windows_formed += 1
        completed = self.clock()
        reason = self._refusal(window)
        if not reason:
            result = self._infer_counted(window, completed)
            if isinstance(result, Recognition):
                return self._verdict(result, final=True)
            status, reason = "error", result
        else:
            status = "no_person"
        return Verdict(status, reason, window.last_stamp_ns, window.num_frames)

    def infer(self, window: Window, completed: float | None = None) -> Recognition:
        """Run the model on one window now (the worker's step; also for benchmarks)."""
        from vg4d_core.runtime.collate import collate_clips

        completed = self.clock() if completed is None else completed
        item: dict[str, Any] = {"points": window.points, "label": 0, "video": "live"}
        predictor, scores, primary = self.model.predictor, self.settings.scores, self.settings.primary
        depth_only = self.settings.use_rgb and window.rgb is None  # some sampled frame went on without colour
        if depth_only:
            if self.depth_scoring.predictor is None:
                raise RecognizerError(f"a window without colour cannot be scored: {self.depth_scoring.note}")
            predictor, scores, primary = (self.depth_scoring.predictor, self.depth_scoring.scores,
                                          self.depth_scoring.primary)
        elif self.settings.use_rgb:
            item["rgb"] = window.rgb
        probs = predictor(collate_clips([item]))
        tables = {n: np.asarray(p[0], dtype=np.float32) for n, p in probs.items() if n in scores}
        p = tables[primary]
        order = np.argsort(-p, kind="stable")[: self.settings.top_k]
        names = self.model.class_names
        latency = (self.clock() - completed) * 1e3
        self.windows_inferred += 1
        self.latency.add(latency)
        return Recognition(window.last_stamp_ns, window.frame_id, [(names[i], float(p[i])) for i in order],
                           tables, primary, latency, window.num_frames,
                           unsure=bool(p[order[0]] < self.threshold), depth_only=depth_only,
                           points_m=window.points[-1] / np.float32(self.settings.point_scale))

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
        }

