"""Sliding windows of synchronised frames -> model clips.

:class:`WindowBuffer` keeps the most recent frames (points + optional RGB +
stamp) bounded both by time (``window_s``) and by count (``max_frames``),
and every ``hop_frames`` frames - or, with ``rate_hz`` > 0, at ``rate_hz``
windows per second of message time (:class:`WindowSchedule`) - forms a
:class:`Window` of T segments x N points.

Clip sampling is the offline test-time sampling, by the one clip sampler
(:class:`vg4d_core.data.clip_sampler.ClipSampler`, which the datasets call
too), over the buffered frames as one video: segment frames of the given
view, empty frames filled by their nearest non-empty neighbour, N points
per frame from ONE generator ``item_rng(seed, "test", 0, index)``.

Seed rule: ``seed`` is the evaluation seed (the dataset's ``seed``) and
``index`` is fixed per buffer (default 0), NOT the window's sequence number:
a window's clip then depends only on its frames, so the same frames give the
same clip whenever they arrive (whatever windows were skipped), and equal
item ``index`` of a test-split dataset holding those frames as one video
with that seed.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable
import numpy as np

from vg4d_core.data.clip_sampler import ClipSampler, FrameList
from vg4d_core.data.sampling import item_rng


@dataclass(frozen=True)
class Frame:
    """One synchronised frame.

    Attributes:
        stamp_ns: header stamp (int ns) of the depth / point-cloud message.
        points: (P, 3) float32 foreground points (metres, sensor frame); P may be 0.
        rgb: (H, W, 3) uint8 RGB image or None.
        motion: share of the foreground that moved (:mod:`vg4d_ros.pipeline.motion`); NaN = not measured.
    """

    stamp_ns: int
    points: np.ndarray
    rgb: np.ndarray | None = None
    motion: float = float("nan")


@dataclass(frozen=True)
class Window:
    """One model input.

    Attributes:
        points: (T, N, 3) float32 clip.
        rgb: (T, H, W, 3) uint8 at the same frames, or None (some frame had no RGB).
        stamps: (T,) int64 ns stamps of the sampled frames.
        last_stamp_ns: stamp of the newest buffered frame (stamp results with it).
        frame_id: sensor frame of the points.
        num_frames: F frames the window covered.
        num_empty: how many of those F frames had no points.
        point_counts: (F,) int64 points of each covered frame, oldest first (a frame with 0
            points is sampled from its nearest non-empty neighbour; the recogniser's person
            check reads the counts to refuse windows of an empty scene).
        first_stamp_ns: stamp of the oldest covered frame.
        frame_stamps: (F,) int64 stamps of the covered frames, oldest first.
        motion: (F,) float64 motion of each covered frame (NaN = not measured).
        clips: the other views (see :attr:`WindowConfig.views`): ``points`` / ``rgb`` are view 0.
    """

    points: np.ndarray
    rgb: np.ndarray | None
    stamps: np.ndarray
    last_stamp_ns: int
    frame_id: str
    num_frames: int
    num_empty: int
    point_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    first_stamp_ns: int = 0
    frame_stamps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    motion: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    clips: tuple = ()  # views 1..V-1: (points (T, N, 3), rgb or None) each; the model scores all V, averaged

    @property
    def views(self) -> int:
        """How many views (clips) of the frames the model scores: 1 + len(clips)."""
        return 1 + len(self.clips)


@dataclass
class WindowConfig:
    """Sliding-window parameters.

    Attributes:
        num_segments: T frames per clip (the model's clip length).
        points_per_frame: N points per frame.
        window_s: keep frames whose stamp is within this many seconds of the
            newest one (NTU actions last ~1-5 s; 3 s covers most).
        max_frames: hard cap on buffered frames (memory bound at high rates).
        min_frames: no window until this many frames are buffered.
        hop_frames: a window every this many new frames (when rate_hz is 0).
        rate_hz: if > 0, ``rate_hz`` windows per second of message time (so bag replays are
            exact): on a grid of ``1 / rate_hz`` periods, each at the first frame at most a tenth of a
            period before its grid point (:class:`WindowSchedule`).
        seed, index: the clip's random stream (see the module docstring).
        views: V clips of the window's frames, view v taking the frame at fraction
            ``(2 v + 1) / (2 V)`` of each segment (one view: the middle frames); their scores are
            averaged, as ``vg4d evaluate`` averages a video's test views. View v draws its points from
            ``item_rng(seed, "test", 0, index * V + v)``: the stream of test item ``index * V + v``.
        min_coverage: no window until the buffered frames span this share of ``window_s`` (0 = no
            such rule; the first windows of a stream then see only the start of an action).
        trim_motion, trim_still_s, trim_min_points: with ``trim_motion`` > 0, a window starts after the
            newest pause: a run of frames lasting at least ``trim_still_s`` seconds, each still (its
            motion, :attr:`Frame.motion`, below ``trim_motion``) or without a person (fewer than
            ``trim_min_points`` points): the stillness or the empty room before an action is not part of
            its window. Such a window
            is formed once ``min_frames`` frames follow the pause (before that none is due); while the
            pause goes on, the window of every buffered frame is formed (the still rule refuses it).
    """

    num_segments: int = 23
    points_per_frame: int = 2048
    window_s: float = 3.0
    max_frames: int = 120
    min_frames: int = 8
    hop_frames: int = 15
    rate_hz: float = 0.0
    seed: int = 0
    index: int = 0
    views: int = 1
    min_coverage: float = 0.0
    trim_motion: float = 0.0
    trim_still_s: float = 0.5
    trim_min_points: int = 1

    def __post_init__(self) -> None:
        for name in ("num_segments", "points_per_frame", "max_frames", "min_frames", "hop_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"WindowConfig.{name} must be a positive int, got {value!r}")
        if not self.window_s > 0:
            raise ValueError(f"WindowConfig.window_s must be > 0 seconds, got {self.window_s!r}")
        if not self.rate_hz >= 0:
            raise ValueError(f"WindowConfig.rate_hz must be >= 0 (0 = use hop_frames), got {self.rate_hz!r}")
        if self.min_frames > self.max_frames:
            raise ValueError(f"WindowConfig.min_frames {self.min_frames} > max_frames {self.max_frames}")
        if isinstance(self.views, bool) or not isinstance(self.views, int) or self.views < 1:
            raise ValueError(f"WindowConfig.views must be a positive int, got {self.views!r}")
        if not 0.0 <= self.min_coverage <= 1.0:
            raise ValueError(f"WindowConfig.min_coverage must be in [0, 1], got {self.min_coverage!r}")
        if not (0.0 <= self.trim_motion <= 1.0 and self.trim_still_s > 0):
            raise ValueError(f"WindowConfig.trim_motion must be in [0, 1] and trim_still_s > 0, got "
                             f"{self.trim_motion!r} / {self.trim_still_s!r}")
        for name in ("seed", "index"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"WindowConfig.{name} must be a non-negative int, got {value!r}")


# with ``rate_hz``, a window may come this share of a period early. A camera's integer-ns stamps of a
# rational rate (15 Hz: 66,666,666 or 66,666,667 ns apart) and a driver's stamp jitter would otherwise make
# a window wait for the next frame now and then whenever ``rate_hz`` is the camera's rate or a divisor of it
RATE_SLACK = 0.1


class WindowSchedule:
    """When the next window is due: ``hop_frames`` frames after the last one, or with ``rate_hz`` > 0 on a
    grid of ``1 / rate_hz`` periods (message time, so bag replays are exact): due at the first frame at
    most ``RATE_SLACK`` of a period before the next grid point. The grid is kept from window to window (a
    window formed at a frame that came late for its grid point does not push the next one back, so the
    rate stays ``rate_hz`` and does not drift below it) and restarts at a window formed less than a period
    after the last (a newcomer's first window on a shared schedule). The first window is due at once.
    A :class:`WindowBuffer` keeps one for itself; several people's buffers share one
    (:class:`~vg4d_ros.pipeline.person_windows.PersonWindows`) so that their windows fall on the same
    frames and are scored in one batch.
    """

    def __init__(self, config: "WindowConfig") -> None:
        self.hop_frames = config.hop_frames
        self.period_ns = int(round(1e9 / config.rate_hz)) if config.rate_hz > 0 else 0
        self.reset()

    def reset(self) -> None:
        self.frames_since = 0  # frames counted (:meth:`count`) since the last window
        self.last_ns: int | None = None  # stamp of the last window (None: none yet)

    def count(self) -> None:
        """One more frame arrived."""
        self.frames_since += 1

    def due(self, stamp_ns: int, share: float = 1.0) -> bool:
        """Whether a window is due at a frame stamped ``stamp_ns`` (after :meth:`count`): ``share`` of a
        hop or a period passed since the last one (1 = the whole)."""
        if self.last_ns is None:
            return True
        if self.period_ns:
            return int(stamp_ns) - self.last_ns >= (share - RATE_SLACK) * self.period_ns
        return self.frames_since >= share * self.hop_frames

    def fired(self, stamp_ns: int) -> None:
        """A window was formed at ``stamp_ns``: the next is due a hop or a period later (``last_ns``: the
        grid point this window stood for, with ``rate_hz``)."""
        self.frames_since = 0
        stamp = int(stamp_ns)
        if self.period_ns and self.last_ns is not None:
            periods = int((stamp - self.last_ns + RATE_SLACK * self.period_ns) // self.period_ns)
            if periods >= 1:  # on the grid (the newest grid point this frame reached)
                self.last_ns += periods * self.period_ns
                return
        self.last_ns = stamp


class WindowBuffer:
    """Bounded buffer of frames that emits :class:`Window` s.

    Stamps must increase: a frame not newer than the newest is dropped
    (counted in ``dropped``), except that a jump back by more than
    ``window_s`` (a bag restarted, simulated time reset) clears the buffer
    and starts over.
    """

    def __init__(self, config: WindowConfig, frame_id: str = "") -> None:
        self.config = config
        self.frame_id = frame_id
        self._frames: deque[Frame] = deque()
        self.sampler = ClipSampler(config.num_segments, config.points_per_frame, train=False, views=config.views)
        self._window_ns = int(round(config.window_s * 1e9))
        self.schedule = WindowSchedule(config)
        self.dropped = 0
        self.clear()

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def nbytes(self) -> int:
        """Bytes held by buffered points and images."""
        return sum(f.points.nbytes + (0 if f.rgb is None else f.rgb.nbytes) for f in self._frames)

    @property
    def newest_ns(self) -> int | None:
        """Stamp (int ns) of the newest buffered frame, or None when empty."""
        return self._frames[-1].stamp_ns if self._frames else None

    def clear(self) -> None:
        self._frames.clear()
        self.schedule.reset()
        self._still_since_ns = None  # first frame of the current run of still frames (trim_motion)
        self._in_pause = False  # that run lasts trim_still_s: a pause is going on
        self._active_from_ns = None  # the first frame after the newest pause

    def push(self, frame: Frame, due: "Callable[[WindowSchedule, int], bool] | None" = None) -> Window | None:
        """Add a frame; return a window when one is due: by this buffer's own :attr:`schedule`, or, when
        ``due`` is given, when ``due(schedule, stamp_ns)`` says so (asked after the frame is counted; a
        schedule shared with other buffers decides) - either way only once the buffer holds enough frames
        (``min_frames``, ``min_coverage``, and after a pause ``min_frames`` of the action)."""
        points = np.asarray(frame.points)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"Frame.points must be (P, 3), got shape {points.shape}")
        if frame.rgb is not None and (frame.rgb.ndim != 3 or frame.rgb.shape[2] != 3 or frame.rgb.dtype != np.uint8):
            raise ValueError(f"Frame.rgb must be (H, W, 3) uint8, got {frame.rgb.shape} {frame.rgb.dtype}")
        stamp = int(frame.stamp_ns)
        if self._frames:
            newest = self._frames[-1].stamp_ns
            if stamp < newest - self._window_ns:
                self.clear()  # time went back: a new recording
            elif stamp <= newest:
                self.dropped += 1
                return None
        self._frames.append(frame)
        self._follow_motion(frame)
        while self._frames and (self._frames[0].stamp_ns < stamp - self._window_ns
                                or len(self._frames) > self.config.max_frames):
            self._frames.popleft()
        self.schedule.count()
        if len(self._frames) < self.config.min_frames or not self.covered():
            return None
        if not (self.schedule.due(stamp) if due is None else due(self.schedule, stamp)):
            return None
        start = self.active_start()
        if 0 < len(self._frames) - start < self.config.min_frames:
            return None  # an action just began after a pause: wait for min_frames of it
        self.schedule.fired(stamp)
        return self.window()

    def covered(self) -> bool:
        """Whether the buffered frames span at least ``min_coverage`` of ``window_s``."""
        if not self._frames or self.config.min_coverage <= 0:
            return bool(self._frames)
        return self._frames[-1].stamp_ns - self._frames[0].stamp_ns >= self.config.min_coverage * self._window_ns

    def active_start(self) -> int:
        """Index of the first buffered frame after the newest pause (``trim_motion``; 0 = none or off);
        ``len(self)`` while the pause goes on."""
        if self._in_pause:
            return len(self._frames)
        if self._active_from_ns is None:
            return 0
        return next((i for i, f in enumerate(self._frames) if f.stamp_ns >= self._active_from_ns), len(self._frames))

    def _follow_motion(self, frame: Frame) -> None:
        """Track pauses as frames arrive (a pause is remembered after its frames leave the buffer)."""
        cfg = self.config
        if cfg.trim_motion <= 0:
            return
        stamp = int(frame.stamp_ns)
        # still, or nobody there (NaN motion alone - the start of a stream - is neither)
        if frame.motion < cfg.trim_motion or frame.points.shape[0] < cfg.trim_min_points:
            if self._still_since_ns is None:
                self._still_since_ns = stamp
            # a camera's integer-ns stamps of a rational period fall short of still_s by a few ns
            if stamp - self._still_since_ns >= int(cfg.trim_still_s * 1e9) - 1_000_000:
                self._in_pause = True
        else:
            if self._in_pause:
                self._active_from_ns = stamp
            self._in_pause = False
            self._still_since_ns = None

    def window(self) -> Window:
        """The window of the frames buffered now (whether or not one is due): those after the newest pause
        (:meth:`active_start`) when there are any, else all."""
        if not self._frames:
            raise ValueError("no frames buffered")
        frames = list(self._frames)
        start = self.active_start()
        if start < len(frames):
            frames = frames[start:]
        return clip_window(frames, self.config, self.sampler, self.frame_id)


def clip_window(frames: list[Frame], config: WindowConfig, sampler: ClipSampler | None = None,
                frame_id: str = "") -> Window:
    """The :class:`Window` of ``frames`` (oldest first): ``config.views`` clips by the clip sampler."""
    if not frames:
        raise ValueError("a window needs at least one frame")
    cfg = config
    sampler = sampler or ClipSampler(cfg.num_segments, cfg.points_per_frame, train=False, views=cfg.views)
    counts = np.array([f.points.shape[0] for f in frames], dtype=np.int64)
    source = FrameList([f.points for f in frames])
    views = []
    for v in range(cfg.views):
        points, idx = sampler.sample(source, item_rng(cfg.seed, "test", 0, cfg.index * cfg.views + v), view=v)
        rgb = np.stack([frames[i].rgb for i in idx]) if all(frames[i].rgb is not None for i in idx) else None
        views.append((points, rgb, idx))
    points, rgb, idx = views[0]
    return Window(points=points, rgb=rgb, stamps=np.array([frames[i].stamp_ns for i in idx], dtype=np.int64),
                  last_stamp_ns=frames[-1].stamp_ns, frame_id=frame_id, num_frames=len(frames),
                  num_empty=int((counts == 0).sum()), point_counts=counts, first_stamp_ns=frames[0].stamp_ns,
                  frame_stamps=np.array([f.stamp_ns for f in frames], dtype=np.int64),
                  motion=np.array([f.motion for f in frames], dtype=np.float64), clips=tuple((p, r) for p, r, _ in views[1:]))
