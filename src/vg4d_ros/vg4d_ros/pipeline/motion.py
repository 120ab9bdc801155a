"""How much of the person moves: per-frame motion of the foreground, and the "still" rule of a window.

A stream holds more than actions: between them a person stands still. A classifier trained on trimmed
actions labels a still person with some action anyway (on MSR-Action3D streams most extra segments
come from such gaps). :class:`MotionMeter` measures, for each converted frame, the share of its
foreground points that moved: points farther than ``move_m`` from every point of the frame
``lag_s`` earlier (and the other way round, averaged). Units: metres and seconds of message time.

Why this measure: it needs no pixel grid (depth images and point clouds alike), it is indifferent to
which subset of a surface was stored (two subsets of a still person are within a few centimetres of
each other: ``move_m`` is above the spacing of the stored points and the sensor's depth steps), and
it is a share, so a person near or far, large or small, reads the same. A moving arm is a tenth to a
fifth of a body's points moving by tens of centimetres in ``lag_s``.

The rule (:func:`window_motion`): a window's motion is the median of its newest frames' motion over the
last ``still_s``; below ``guards.min_motion`` the window is not labelled (``still``), which ends an
action segment as "no person" does. Off by default (``min_motion`` 0): classes such as reading or
typing are nearly still; turn it on when every class of the model is a motion (MSR-Action3D, gestures).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class MotionSettings:
    """Attributes:
        move_m: a point moved when it is farther than this from every point of the earlier frame (m).
        lag_s: how far back the earlier frame is (s of message time; the nearest buffered one).
        max_points: at most this many points of each frame are compared (an even subset).
    """

    move_m: float = 0.06
    lag_s: float = 0.2
    max_points: int = 1024

    def __post_init__(self) -> None:
        if not (np.isfinite(self.move_m) and self.move_m > 0):
            raise ValueError(f"motion.move_m must be > 0 m, got {self.move_m!r}")
        if not (np.isfinite(self.lag_s) and self.lag_s > 0):
            raise ValueError(f"motion.lag_s must be > 0 s, got {self.lag_s!r}")
        if self.max_points < 1:
            raise ValueError(f"motion.max_points must be >= 1, got {self.max_points!r}")


def _even_subset(points: np.ndarray, limit: int) -> np.ndarray:
    if points.shape[0] <= limit:
        return points
    return points[np.linspace(0, points.shape[0] - 1, limit).astype(np.int64)]


def moved_fraction(now: np.ndarray, before: np.ndarray, move_m: float) -> float:
    """Share of the points of two frames ((P, 3), (Q, 3) metres) farther than ``move_m`` from every point
    of the other frame, averaged over both directions; NaN when either frame is empty."""
    if now.shape[0] == 0 or before.shape[0] == 0:
        return float("nan")
    d_now, _ = cKDTree(before).query(now, k=1, distance_upper_bound=move_m)
    d_before, _ = cKDTree(now).query(before, k=1, distance_upper_bound=move_m)
    return 0.5 * (float(np.mean(~np.isfinite(d_now))) + float(np.mean(~np.isfinite(d_before))))


# a camera's stamps are integer ns of a rational period (30 Hz: 6 frames are 199,999,998 ns): "lag_s old"
# allows this much short of it
LAG_SLACK_NS = 1_000_000


class MotionMeter:
    """Frames in stamp order -> the motion of each (see the module docstring)."""

    def __init__(self, settings: MotionSettings = MotionSettings()) -> None:
        self.settings = settings
        self._recent: deque[tuple[int, np.ndarray]] = deque()

    def clear(self) -> None:
        """Forget the earlier frames (a stream restart): the next frames have no motion yet (NaN)."""
        self._recent.clear()

    def push(self, stamp_ns: int, points_m: np.ndarray) -> float:
        """One frame's foreground ((P, 3) metres) -> its moved share in [0, 1], or NaN while no frame
        ``lag_s`` older is known (the start of a stream) or either frame is empty."""
        s = self.settings
        stamp_ns = int(stamp_ns)
        pts = _even_subset(np.asarray(points_m, np.float32).reshape(-1, 3), s.max_points)
        lag_ns = int(s.lag_s * 1e9) - LAG_SLACK_NS
        # keep frames back to one older than the lag: the reference is the newest one at least lag_s old
        while len(self._recent) >= 2 and stamp_ns - self._recent[1][0] >= lag_ns:
            self._recent.popleft()
        motion = float("nan")
        if self._recent and stamp_ns - self._recent[0][0] >= lag_ns:
            motion = moved_fraction(pts, self._recent[0][1], s.move_m)
        self._recent.append((stamp_ns, pts))
        return motion


def window_motion(stamps_ns: np.ndarray, motion: np.ndarray, still_s: float) -> float:
    """The motion of a window: the median of the known motion ((F,), NaN = unknown) of its frames of the
    last ``still_s`` seconds (``stamps_ns`` (F,) int64, oldest first); NaN when none is known."""
    stamps_ns = np.asarray(stamps_ns, np.int64)
    motion = np.asarray(motion, np.float64)
    if motion.size == 0:
        return float("nan")
    recent = motion[stamps_ns >= stamps_ns[-1] - int(still_s * 1e9)]
    known = recent[np.isfinite(recent)]
    return float(np.median(known)) if known.size else float("nan")
