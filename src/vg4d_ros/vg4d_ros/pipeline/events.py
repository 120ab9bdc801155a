"""Continuous recognition: window scores -> a smoothed label -> action events (typed segments).

A robot sees a stream, not trimmed clips. :class:`EventTracker` takes the recogniser's verdict of each
window in stamp order and keeps an exponentially smoothed probability vector
(``s = alpha * p + (1 - alpha) * s``; ``alpha`` 1 = no smoothing). The current label is its arg-max
when that smoothed probability reaches ``min_score``, else "none". When the label changes, the open
segment ends and one :class:`ActionEvent` is emitted for it (label, mean smoothed score, start and end
stamps); a new segment opens with the new label and an event with ``state`` ``started`` is emitted at
once, so a consumer learns of an action one window after the evidence, not at its end.

What ends a segment: another label (``ended_by`` ``label``), a window refused because no person is in
view (``no_person``: the smoothing restarts) or the person stands still (``still``, the motion rule of
:mod:`vg4d_ros.pipeline.motion`: the smoothing restarts too), a window withheld as unsure (``unsure``), a stamp reset
(``reset``), the end of the stream (``stream_end``), with several people the end of the person's
track (``track_lost``; of a pair: a member's), and a pair's people moving apart (``pair_apart``). Stamps: ``start_ns`` is the oldest frame of the
segment's first window (where its evidence begins), ``end_ns`` the newest frame of its last window,
``stamp_ns`` the window stamp at which the event was decided (publish time, in message time).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STARTED, ENDED = "started", "ended"


@dataclass(frozen=True)
class EventSettings:
    """Attributes:
        alpha: weight of the newest window in the smoothed scores (1 = no smoothing).
        min_score: smoothed probability a label needs to be current (else "none": no segment).
    """

    alpha: float = 0.6
    min_score: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"events.alpha must be in (0, 1], got {self.alpha!r}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"events.min_score must be in [0, 1], got {self.min_score!r}")


@dataclass(frozen=True)
class ActionEvent:
    """One action segment, started or ended.

    Attributes:
        state: ``started`` (a segment opened: its label is known, its end is not) or ``ended``.
        label: class name; class_id: its index in the checkpoint's class list.
        score: mean smoothed probability of ``label`` over the segment's windows so far.
        start_ns, end_ns: the segment's span (int ns header stamps; ``end_ns`` of a started event is its
            first window's stamp).
        stamp_ns: the window stamp at which the event was decided.
        windows: windows in the segment so far.
        ended_by: why an ended segment ended ("" for started events).
        track_id: the person track ("" in the single-person pipeline).
        frame_id: the frame of the segment's windows (the input's header frame, or ``input_frame``).
    """

    state: str
    label: str
    class_id: int
    score: float
    start_ns: int
    end_ns: int
    stamp_ns: int
    windows: int
    ended_by: str = ""
    track_id: str = ""
    frame_id: str = ""


class EventTracker:
    """Window verdicts in stamp order -> :class:`ActionEvent` s (see the module docstring)."""

    def __init__(self, class_names: list[str], settings: EventSettings = EventSettings(), track_id: str = "") -> None:
        self.class_names = list(class_names)
        self.settings = settings
        self.track_id = track_id
        self.smoothed: np.ndarray | None = None
        self._open: dict | None = None  # the current segment

    @property
    def current(self) -> str:
        """The current label ("" = none)."""
        return self._open["label"] if self._open is not None else ""

    def window(self, probs: np.ndarray, first_stamp_ns: int, stamp_ns: int, frame_id: str = "") -> list[ActionEvent]:
        """A classified window: (K,) probabilities of the primary score; returns the events it causes."""
        p = np.asarray(probs, dtype=np.float64)
        a = self.settings.alpha
        self.smoothed = p.copy() if self.smoothed is None else a * p + (1.0 - a) * self.smoothed
        k = int(np.argmax(self.smoothed))
        score = float(self.smoothed[k])
        label = self.class_names[k] if score >= self.settings.min_score else ""
        events: list[ActionEvent] = []
        if self._open is not None and self._open["label"] != label:
            events.append(self._close(stamp_ns, "label" if label else "unsure"))
        if label and self._open is None:
            self._open = {"label": label, "class_id": k, "start": int(first_stamp_ns), "end": int(stamp_ns),
                          "scores": [score], "frame_id": str(frame_id)}
            events.append(self._event(STARTED, stamp_ns))
        elif label:
            self._open["end"] = int(stamp_ns)
            self._open["scores"].append(score)
        return events

    def refused(self, stamp_ns: int, why: str) -> list[ActionEvent]:
        """A window not classified (``no_person``, ``still``) or withheld (``unsure``): the segment ends;
        after no person or a still one the smoothing restarts (the next action owes nothing to the last)."""
        if why in ("no_person", "still"):
            self.smoothed = None
        return [self._close(stamp_ns, why)] if self._open is not None else []

    def reset(self, stamp_ns: int, why: str = "reset") -> list[ActionEvent]:
        """The stream restarted (stamp jump) or ended (``stream_end``): close the segment, forget the scores."""
        self.smoothed = None
        return [self._close(stamp_ns, why)] if self._open is not None else []

    def _event(self, state: str, stamp_ns: int, ended_by: str = "") -> ActionEvent:
        o = self._open
        return ActionEvent(state, o["label"], o["class_id"], float(np.mean(o["scores"])), o["start"], o["end"],
                           int(stamp_ns), len(o["scores"]), ended_by, self.track_id, o["frame_id"])

    def _close(self, stamp_ns: int, why: str) -> ActionEvent:
        event = self._event(ENDED, stamp_ns, why)
        self._open = None
        return event
