"""The recogniser core: messages in, action labels out (pure Python, no rclpy).

Data flow, per input message (the transport's callback thread)::

    on_depth / on_cloud / on_rgb / on_mask / on_camera_info
      -> stamp (convert.stamp_ns) -> synchroniser (sync.py; PassThrough when
         only depth / cloud is used) -> convert (convert.py) -> foreground
         (foreground.py) -> WindowBuffer (window.py) -> Window

and a window goes into a one-slot mailbox read by ONE worker thread that
collates it (``runtime.collate.collate_clips``), runs the
``runtime.predictor.Predictor`` and delivers a :class:`Recognition` to
``on_result``. The mailbox keeps the newest window: when inference falls
behind, the older pending window is dropped and counted, so latency stays
bounded by one inference and the labels describe the present.

A malformed message (:class:`~vg4d_ros.convert.MessageError`) is logged,
counted per topic and reason, and processing carries on.

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

from vg4d_ros.config import RecognizerConfig
from vg4d_ros.convert import (MessageError, camera_intrinsics, depth_image_to_points, pointcloud2_to_xyz,
                              rgb_image_to_array, stamp_ns)
from vg4d_ros.foreground import foreground_keep
from vg4d_ros.sync import ApproximateTimeSynchronizer, PassThrough
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
        frame_id: the input's header.frame_id.
        top_k: [(class_name, score)] best first, from the primary score table.
        scores: score name -> (K,) float32 probabilities (every table the predictor made).
        primary: name of the table ``top_k`` ranks.
        latency_ms: window completion (last frame pushed) -> result ready.
        num_frames: frames the window covered.
    """

    stamp_ns: int
    frame_id: str
    top_k: list[tuple[str, float]]
    scores: dict[str, np.ndarray]
    primary: str
    latency_ms: float
    num_frames: int


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


@dataclass
class _Pending:
    window: Window
    completed: float  # clock() when the window was formed


class Recognizer:
    """Messages -> windows -> labels (see the module docstring).

    Args:
        config: the recogniser configuration.
        model: a :class:`LoadedModel` (:func:`load_model`).
        on_result: called with each :class:`Recognition` on the worker thread.
        log: called with (level, text); warnings at configure time go here too.
        clock: monotonic seconds (latency, silence).
    """

    def __init__(self, config: RecognizerConfig, model: LoadedModel, on_result: Callable[[Recognition], None],
                 *, log: Log | None = None, clock: Callable[[], float] = time.monotonic) -> None:
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
        if len(self.sync_roles) == 1:
            self.sync: Any = PassThrough()
        else:
            self.sync = ApproximateTimeSynchronizer(len(self.sync_roles), config.sync.queue_size,
                                                    int(config.sync.slop_s * 1e9))
        self.buffer = WindowBuffer(self.settings.window)
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
            self.sync.clear()
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
        """Count a malformed message of ``role`` (also used by transports for undecodable bytes)."""
        table = self.malformed.setdefault(role, Counter())
        if reason not in table and len(table) >= MAX_REASONS_PER_TOPIC:
            reason = "other"
        table[reason] += 1
        self.log("warn", f"malformed message on {self.config.input_topics().get(role, role)}: {reason}")

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

    def _arrive(self, role: str, msg: Any) -> None:
        if role not in self.sync_roles:
            return
        stamp = stamp_ns(msg)
        synced = self.sync.add(self.sync_roles.index(role), stamp, msg)
        if synced is not None:
            self._frame(synced)

    def _frame(self, synced) -> None:
        main = synced.msgs[0]
        role = self.sync_roles[0]
        parts = dict(zip(self.sync_roles, synced.msgs))
        try:
            if role == "depth":
                if self._intrinsics is None:
                    self.waiting_for_camera_info += 1
                    return
                # the training cache's conversion (one function family, convert.py)
                points, pixels = depth_image_to_points(main, self._intrinsics, return_pixels=True)
            else:
                points, pixels = pointcloud2_to_xyz(main, allow_empty=True), None
        except MessageError as exc:
            self.record_malformed(role, str(exc)[:160])
            return
        try:
            keep = foreground_keep(points, self.foreground, pixels=pixels, mask=parts.get("mask"))
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
        self.buffer.frame_id = str(getattr(getattr(main, "header", None), "frame_id", "") or "")
        window = self.buffer.push(Frame(synced.stamp, points.astype(np.float32, copy=False), rgb))
        if window is not None:
            self.windows_formed += 1
            self._post(window)

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
                result = self.infer(job.window, job.completed)
            except Exception as exc:  # one bad window must not end the node
                self.inference_errors += 1
                self.log("error", f"inference failed: {type(exc).__name__}: {exc}")
                result = None
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
            if result is not None:
                self.last_result = result
                try:
                    self.on_result(result)
                except Exception as exc:
                    self.log("error", f"publishing a result failed: {type(exc).__name__}: {exc}")

    def infer(self, window: Window, completed: float | None = None) -> Recognition:
        """Run the model on one window now (the worker's step; also for benchmarks)."""
        from vg4d_core.runtime.collate import collate_clips

        completed = self.clock() if completed is None else completed
        item: dict[str, Any] = {"points": window.points, "label": 0, "video": "live"}
        if self.settings.use_rgb and window.rgb is not None:
            item["rgb"] = window.rgb
        probs = self.model.predictor(collate_clips([item]))
        tables = {n: np.asarray(p[0], dtype=np.float32) for n, p in probs.items() if n in self.settings.scores}
        p = tables[self.settings.primary]
        order = np.argsort(-p, kind="stable")[: self.settings.top_k]
        names = self.model.class_names
        latency = (self.clock() - completed) * 1e3
        self.windows_inferred += 1
        self.latency.add(latency)
        return Recognition(window.last_stamp_ns, window.frame_id, [(names[i], float(p[i])) for i in order],
                           tables, self.settings.primary, latency, window.num_frames)

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
        }

