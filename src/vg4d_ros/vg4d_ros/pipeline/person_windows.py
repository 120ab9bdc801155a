"""Several people at once: one frame's foreground -> tracked people -> a window per person.

With ``people.enabled`` the recogniser hands each converted frame's foreground (metres, before the
stored subset) here instead of to its one :class:`~vg4d_ros.pipeline.window.WindowBuffer`::

    foreground points (P, 3) metres
      -> person candidates (people.split_people: voxel connectivity; or people.split_instance_mask)
      -> PersonTracker.update (tracks.py: gated assignment, births, deaths, merged people cut apart)
      -> per confirmed track: its points -> FrameConverter.store (x point_scale, the stored subset and
         grid, as the single-person path and the training cache) -> its own WindowBuffer
      -> the windows due at this frame, one per track whose buffer is due: (track, Window, box)

Each track's buffer is the single-person buffer (same :class:`~vg4d_ros.pipeline.window.WindowConfig`,
same clip sampler), so a person alone in view gets exactly the windows the single-person path makes of
the same frames: the frames a track was seen in before its birth (``birth_frames``) are kept and handed
to its buffer at birth. A confirmed track not seen in a frame (occluded, a short dropout) gets an empty
frame: its window's person gate counts it, and the clip sampler fills it from its neighbours as training
did.

One :class:`~vg4d_ros.pipeline.window.WindowSchedule` serves every track and pair: a window is due for
all of them at the same frames (``hop_frames`` or ``1 / rate_hz`` apart), and every buffer that holds
enough frames then forms one, so the windows of all people come out together and the recogniser scores
them in one batch. People who appeared at different frames would otherwise be windowed out of phase and
never share a batch. The schedule starts with the first window formed (at once when none was due since
the last), so a person alone in view is windowed as the single-person buffer windows a stream. A person
who appears beside others gets a first window as soon as their buffer is full enough (their first label
waits for no tick), then joins the shared ticks: from the first tick at least half a hop after it.

With ``people.pairs.enabled`` two tracks that stand close are also a pair (:mod:`~vg4d_ros.pipeline.pairs`)
with a buffer of its own: each frame, the union of the members' points in that frame goes through the
same ``store`` (so a two-person cloud is stored and sampled as the training cache stores NTU's mutual
actions: both bodies in one masked depth); its windows come out with the people's (``members`` set).
A pair's buffer starts when the pair forms: its first window comes ``min_coverage`` of a window later.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from vg4d_ros.config import PeopleConfig
from vg4d_ros.pipeline.pairs import PairSettings, choose_pairs, pair_members
from vg4d_ros.pipeline.people import PeopleSettings, PersonCandidate, split_instance_mask, split_people
from vg4d_ros.pipeline.tracks import PersonTracker, TrackFrame, TrackSettings, track_number
from vg4d_ros.pipeline.window import Frame, Window, WindowBuffer, WindowConfig, WindowSchedule


def people_settings(config: PeopleConfig) -> PeopleSettings:
    """The candidate rules of the ``people`` config section."""
    return PeopleSettings(voxel_m=float(config.voxel_m), min_points=int(config.min_points),
                          min_height_m=float(config.min_height_m), max_height_m=float(config.max_height_m),
                          max_width_m=float(config.max_width_m), up=tuple(float(v) for v in config.up),
                          split_dip_m=float(config.split_dip_m), split_ground_m=float(config.split_ground_m),
                          attach_m=float(config.attach_m))


def pair_settings(config: PeopleConfig) -> PairSettings:
    """The pairing rules of the ``people.pairs`` config section."""
    return PairSettings(max_distance_m=float(config.pairs.max_distance_m), release_m=float(config.pairs.release_m),
                        up=tuple(float(v) for v in config.up))


def track_settings(config: PeopleConfig) -> TrackSettings:
    """The tracking rules of the ``people`` config section."""
    return TrackSettings(gate_m=float(config.gate_m), birth_frames=int(config.birth_frames),
                         death_s=float(config.death_s), max_speed_mps=float(config.max_speed_mps),
                         join_along_m=float(config.join_along_m), join_across_m=float(config.join_across_m))


@dataclass(frozen=True)
class PersonBox:
    """Where a person is in the window's newest frame they were seen in (metres, the frame's frame_id).

    Attributes:
        centroid: (3,) float64 mean of the person's points.
        box_min, box_max: (3,) float64 corners of their axis-aligned box.
        num_points: foreground points of the person in that frame.
    """

    centroid: np.ndarray
    box_min: np.ndarray
    box_max: np.ndarray
    num_points: int

    @staticmethod
    def of(candidate: PersonCandidate) -> "PersonBox":
        return PersonBox(np.asarray(candidate.centroid, np.float64), np.asarray(candidate.box_min, np.float64),
                         np.asarray(candidate.box_max, np.float64), int(candidate.num_points))

    @staticmethod
    def union(boxes: "list[PersonBox]") -> "PersonBox":
        """The box of several people together (centroid: the mean of all their points)."""
        n = sum(b.num_points for b in boxes)
        centroid = sum(b.centroid * b.num_points for b in boxes) / max(n, 1)
        return PersonBox(np.asarray(centroid, np.float64), np.min([b.box_min for b in boxes], axis=0),
                         np.max([b.box_max for b in boxes], axis=0), int(n))


@dataclass(frozen=True)
class PersonWindow:
    """One track's window, due at a frame."""

    track_id: str
    window: Window
    box: PersonBox
    members: tuple[str, ...] = ()  # a pair's two track ids (() for one person)


@dataclass
class _Person:
    buffer: WindowBuffer
    box: PersonBox | None = None


@dataclass
class _Pending:
    """A tentative track's frames, kept until it is born (then they open its buffer) or dropped."""

    frames: list = field(default_factory=list)
    box: PersonBox | None = None


@dataclass(frozen=True)
class PeopleStep:
    """What one frame gave: the windows due, the tracker's frame, and the tracks that ended."""

    windows: list[PersonWindow]
    tracks: TrackFrame
    ended: tuple[str, ...]
    pairs_ended: tuple[tuple[str, str], ...] = ()  # (pair id, why: track_lost | pair_apart)


class PersonWindows:
    """Foreground frames -> per-person windows (see the module docstring).

    Args:
        config: the ``people`` section.
        window: the window settings of every track (the single-person path's).

    :attr:`frame_id` (set by the caller per frame) is the points' frame, given to every track's windows.
    """

    def __init__(self, config: PeopleConfig, window: WindowConfig) -> None:
        self.config = config
        # the motion rule (pauses, still people) is the single-person path's: no motion is measured per track
        self.window_config = dataclasses.replace(window, trim_motion=0.0)
        self.people = people_settings(config)
        self.tracker = PersonTracker(track_settings(config), self.people)
        self._persons: dict[str, _Person] = {}
        self._pending: dict[str, _Pending] = {}
        self.pairing = pair_settings(config) if config.pairs.enabled else None
        self._pairs: dict[str, _Person] = {}
        self._schedule = WindowSchedule(self.window_config)  # one tick for all (module docstring)
        self.frame_id = ""

    @property
    def track_ids(self) -> list[str]:
        """Confirmed tracks alive now."""
        return list(self._persons)

    @property
    def pair_ids(self) -> list[str]:
        """Pairs now (``people.pairs.enabled``)."""
        return list(self._pairs)

    def clear(self) -> tuple[str, ...]:
        """Forget every track and pair (stamp reset, stop); returns the confirmed ids that ended (people
        only: the pairs' segments end with their members')."""
        ended = tuple(self._persons)
        self.tracker.reset()
        self._persons.clear()
        self._pending.clear()
        self._pairs.clear()
        self._schedule.reset()
        return ended

    def candidates(self, points_m: np.ndarray, instance_ids: np.ndarray | None = None) -> list[PersonCandidate]:
        """The person candidates of one frame's foreground (by instance ids when given)."""
        if instance_ids is not None:
            return split_instance_mask(instance_ids, points_m, self.people)
        return split_people(points_m, self.people)

    def push(self, stamp_ns: int, points_m: np.ndarray, rgb: np.ndarray | None,
             store: Callable[[np.ndarray, int], np.ndarray], instance_ids: np.ndarray | None = None) -> PeopleStep:
        """One converted frame's foreground (``points_m`` (P, 3) metres; ``store`` makes model points of a
        person's part, :meth:`~vg4d_ros.pipeline.convert.FrameConverter.store`); returns the windows due."""
        stamp_ns = int(stamp_ns)
        frame = self.tracker.update(stamp_ns, points_m, self.candidates(points_m, instance_ids))
        self._schedule.count()
        tick = self._schedule.due(stamp_ns)
        ended = [t for t in frame.died if t in self._persons]
        for track_id in frame.died:
            self._persons.pop(track_id, None)
        for track_id in frame.dropped:
            self._pending.pop(track_id, None)
        windows: list[PersonWindow] = []
        for person in frame.tentative:
            pending = self._pending.setdefault(person.track_id, _Pending())
            pending.frames.append(Frame(stamp_ns, store(points_m[person.candidate.indices], stamp_ns), rgb))
            pending.box = PersonBox.of(person.candidate)
        for person in frame.confirmed:
            state = self._persons.get(person.track_id)
            if state is None:  # born now: its earlier frames open its buffer, as a stream's first frames do
                state = self._persons[person.track_id] = _Person(WindowBuffer(self.window_config))
                for early in self._pending.pop(person.track_id, _Pending()).frames:
                    state.buffer.push(early, due=_never)  # the past: no window of it now
            state.buffer.frame_id = self.frame_id
            state.box = PersonBox.of(person.candidate)
            window = state.buffer.push(Frame(stamp_ns, store(points_m[person.candidate.indices], stamp_ns), rgb),
                                       due=self._due(tick))
            if window is not None:
                windows.append(PersonWindow(person.track_id, window, state.box))
        for person in frame.coasting:  # occluded or a dropout: an empty frame (the person gate counts it)
            state = self._persons.get(person.track_id)
            if state is None:
                continue
            state.buffer.frame_id = self.frame_id
            window = state.buffer.push(Frame(stamp_ns, np.zeros((0, 3), np.float32), rgb),
                                       due=self._due(tick))
            if window is not None and state.box is not None:
                windows.append(PersonWindow(person.track_id, window, state.box))
        pairs_ended: list[tuple[str, str]] = []
        if self.pairing is not None:
            windows += self._pair_windows(stamp_ns, points_m, rgb, store, frame, pairs_ended, tick)
        if windows and tick:  # (a newcomer's first window between ticks moves no one's)
            self._schedule.fired(stamp_ns)
        elif not self._persons and not self._pairs:
            self._schedule.reset()  # nobody left: whoever comes next is windowed as a person alone
        return PeopleStep(windows, frame, tuple(ended), tuple(pairs_ended))

    @staticmethod
    def _due(tick: bool) -> Callable[[WindowSchedule, int], bool]:
        """When a track's or a pair's buffer forms a window (if it can): its first at once, later ones at
        the shared ticks at least half a hop after its own last (module docstring). ``own`` is the
        buffer's own schedule, which counts its frames and windows whoever decides."""
        return lambda own, stamp_ns: own.last_ns is None or (tick and own.due(stamp_ns, share=0.5))

    def _pair_windows(self, stamp_ns: int, points_m: np.ndarray, rgb: np.ndarray | None,
                      store: Callable[[np.ndarray, int], np.ndarray], frame: TrackFrame,
                      ended: list[tuple[str, str]], tick: bool) -> list[PersonWindow]:
        """Update the pairs (:func:`~vg4d_ros.pipeline.pairs.choose_pairs`) and push each pair's frame: the
        union of its members' points seen in this frame (none seen: an empty frame, which the person gate
        counts); returns the pair windows due. Ended pairs are appended to ``ended``."""
        seen = {p.track_id: p for p in frame.confirmed}
        positions = {p.track_id: p.position for p in (*frame.confirmed, *frame.coasting) if p.track_id in self._persons}
        now, gone = choose_pairs(positions, set(self._pairs), self.pairing)
        for pid, why in gone:
            self._pairs.pop(pid, None)
            ended.append((pid, why))
        windows: list[PersonWindow] = []
        for pid in now:
            state = self._pairs.get(pid)
            if state is None:
                state = self._pairs[pid] = _Person(WindowBuffer(self.window_config))
            members = pair_members(pid)
            visible = [seen[m].candidate for m in members if m in seen]
            if visible:
                rows = np.sort(np.concatenate([c.indices for c in visible]))
                points = store(points_m[rows], stamp_ns)
                state.box = PersonBox.union([PersonBox.of(c) for c in visible])
            else:
                points = np.zeros((0, 3), np.float32)
            state.buffer.frame_id = self.frame_id
            window = state.buffer.push(Frame(stamp_ns, points, rgb), due=self._due(tick))
            if window is not None and state.box is not None:
                windows.append(PersonWindow(pid, window, state.box, members))
        return windows


def _never(schedule: WindowSchedule, stamp_ns: int) -> bool:
    return False


def select_person(windows: list[tuple[str, PersonBox]], how: str, track_id: str = "") -> str | None:
    """Whom ``~/action`` and ``~/label`` describe among ``(track_id, box)``: the ``nearest`` (smallest
    centroid distance from the sensor origin), the ``largest`` (most points), or the given ``id``; None
    when there is nobody (or the given id is not among them)."""
    if not windows:
        return None
    if how == "id":
        return track_id if any(t == track_id for t, _ in windows) else None
    if how == "largest":
        return max(windows, key=lambda w: (w[1].num_points, -track_number(w[0])))[0]
    return min(windows, key=lambda w: (float(np.linalg.norm(w[1].centroid)), track_number(w[0])))[0]
