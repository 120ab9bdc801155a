"""People across frames: per-frame person candidates -> tracks with stable ids.

:class:`PersonTracker` takes each frame's candidates (:func:`vg4d_ros.pipeline.people.split_people` or
:func:`~vg4d_ros.pipeline.people.split_instance_mask`) in stamp order and says which person each one is.
A track is one person: an id (``p1``, ``p2``, ... in order of first sight, never reused within a
tracker's life), a position (the centroid of its latest candidate, metres) and a horizontal velocity.

Per frame, in this order:

1. Prediction: each track's position moves on at its velocity (constant velocity) to the frame's
   stamp. Distances are horizontal (perpendicular to ``up``): a person sitting down moves the centroid
   down, not away.
2. Merged people: when the predictions of two or more confirmed tracks fall inside one candidate's
   horizontal footprint (the box of its points' horizontal coordinates) the people touch (shoulder to
   shoulder, hugging, brushing past) and connectivity joined them; the candidate is cut by
   :func:`~vg4d_ros.pipeline.people.split_wide` seeded with those predictions, so each keeps its id.
   While merged, each person's part is the side of the cut nearest its prediction: two people keep
   their order across the cut; that is right for touching, hugging, walking side by side and passing
   at different depths (the cut turns as one passes in front), and it is what a depth camera can see
   (two bodies at one depth cannot pass through each other; a crossing is one passing in front, and the
   one behind is hidden or a separate component, see 4). A synthetic scene whose blobs pass through
   each other at one depth swaps their ids.
3. Association: cost = horizontal distance from prediction to candidate centroid, gated at
   ``gate_m + max_speed_mps * (time since the track's last match)`` (the longer a track has not been
   seen, the farther it may be from where it was predicted), optimal one-to-one assignment
   (``scipy.optimize.linear_sum_assignment``; among all assignments that use the most in-gate pairs,
   the cheapest). Confirmed tracks (seen now or coasting) are matched first, then tentative tracks
   against the candidates left, so a passing noise blob cannot take a known person's candidate.
   The price of the widening gate: a track whose person left the view keeps coasting with a gate of
   up to ``gate_m + max_speed_mps * death_s`` (4.35 m by default) until it dies, and a new person who
   enters within that of its prediction in that time takes its id. Lower ``death_s`` (or
   ``max_speed_mps``) where people come and go often and occlusions are short.
   3b. Pieces of one person: a candidate no confirmed track took joins the candidate of a confirmed
   track when their centroids are within ``join_along_m`` of each other along the line of sight (from
   the origin of the points' frame: the camera, for depth images and camera clouds) and within
   ``join_across_m`` across it (the nearest such candidate; with an instance mask only one of the same
   instance). A person bending towards the camera, kicking forward or swinging a golf club shows the
   camera surfaces farther apart in depth than ``voxel_m`` (the torso in front of the legs, a leg in
   front of the body): two components, each tall enough to be a person. Measured on MSR-Action3D (556
   single-person videos, ``python offline/msr_people_split.py``): 41 frames of 15 videos came out as
   two candidates; where depth parted them the pieces' centroids were 0.14-0.44 m apart along the line
   of sight and at most 0.18 m across it. Without this step 100 frames were not one whole track and 3
   pieces became tracks of their own; with it 1 frame (arms raised in "two hand wave", cut at the
   valley between them 0.31 m across). Two people side by side are at least a shoulder width (~0.45 m)
   apart across it (NTU's handshake clip: 0.74 m), so they stay apart. The price: someone standing
   right behind a tracked person, within those distances, is part of them until they step aside.
4. Life: a candidate no track takes starts a tentative track; ``birth_frames`` consecutive matched
   frames confirm it (a tentative track that misses one frame is dropped). A confirmed track that is
   not matched coasts on its prediction (occluded, or a short dropout) and dies when more than
   ``death_s`` of message time passes since its last match. A person who leaves and comes back after
   that is a new track with a new id, by design: with no appearance model, identity after a long
   absence would be a guess, and a recogniser's window must not mix two people's frames.
5. Update: a matched track's position becomes the candidate's centroid; its velocity is the measured
   one (``(centroid - last position) / elapsed``, horizontal) smoothed exponentially with
   ``velocity_alpha`` (the first measurement is taken as it is), and clamped to ``max_speed_mps``.

Stamps: ``update`` is called in stamp order; equal stamps are allowed (elapsed time 0: no velocity
update). A stamp earlier than the previous frame's (a bag looped, a clock jumped) or more than
``death_s`` after it (every track would have died anyway) resets the tracker: all tracks end (listed
in ``died`` / ``dropped`` with ``reset`` True) and the frame is processed as a first frame. Ids keep
counting up across resets. :meth:`PersonTracker.reset` does the same on demand.

How to feed it (per frame): foreground points ``P`` (metres, camera frame) -> ``cands = split_people(P,
people_settings)`` -> ``frame = tracker.update(stamp_ns, P, cands)``; then ``P[person.candidate.indices]``
is each confirmed person's cloud for that frame. The tracker may cut candidates (step 2), so use the
candidates in the returned frame, not the ones passed in. Call it for every frame, with no candidates
when nobody is in view, so tentative tracks are dropped and the dead are reported at that frame.
Cost: well under 1 ms per frame for a few people (the candidates' footprints are one pass over their
points).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from vg4d_ros.pipeline.people import (PeopleSettings, PersonCandidate, candidate_from_rows, horizontal_basis,
                                      split_wide)

# an out-of-gate pair's cost: larger than any sum of real distances (metres), so the assignment uses as
# many in-gate pairs as it can, and the out-of-gate pairs it is left with are discarded
_FORBIDDEN = 1.0e9


@dataclass(frozen=True)
class TrackSettings:
    """How people are followed (metres, seconds of message time).

    Attributes:
        gate_m: the farthest a candidate's centroid may be from a track's prediction (horizontal) for
            the track to take it, when the track was matched one frame ago.
        birth_frames: consecutive frames a new candidate must be seen in to become a confirmed track.
        death_s: a confirmed track not matched for longer than this dies.
        max_speed_mps: fastest a person moves: the gate widens by this per second since the track's last
            match, and velocities are clamped to it.
        velocity_alpha: weight of the newest measured velocity in the smoothed one (1 = no smoothing).
        join_along_m, join_across_m: a candidate no confirmed track takes, whose centroid is within
            ``join_along_m`` along the line of sight and ``join_across_m`` across it (horizontal) of the
            centroid of a confirmed track's candidate, is part of that person (step 3b of the module
            docstring); ``join_along_m`` 0 = never.
    """

    gate_m: float = 0.6
    birth_frames: int = 3
    death_s: float = 1.5
    max_speed_mps: float = 2.5
    velocity_alpha: float = 0.5
    join_along_m: float = 0.5
    join_across_m: float = 0.3

    def __post_init__(self) -> None:
        if not (math.isfinite(self.gate_m) and self.gate_m > 0):
            raise ValueError(f"TrackSettings.gate_m must be a finite distance > 0 metres, got {self.gate_m!r}")
        if isinstance(self.birth_frames, bool) or not isinstance(self.birth_frames, (int, np.integer)) \
                or self.birth_frames < 1:
            raise ValueError(f"TrackSettings.birth_frames must be an integer >= 1, got {self.birth_frames!r}")
        if not (math.isfinite(self.death_s) and self.death_s > 0):
            raise ValueError(f"TrackSettings.death_s must be finite and > 0 seconds, got {self.death_s!r}")
        if not (math.isfinite(self.max_speed_mps) and self.max_speed_mps >= 0):
            raise ValueError(f"TrackSettings.max_speed_mps must be finite and >= 0 m/s, got {self.max_speed_mps!r}")
        if not 0.0 < self.velocity_alpha <= 1.0:
            raise ValueError(f"TrackSettings.velocity_alpha must be in (0, 1], got {self.velocity_alpha!r}")
        if not (math.isfinite(self.join_along_m) and self.join_along_m >= 0):
            raise ValueError(f"TrackSettings.join_along_m must be finite and >= 0 metres (0: never), "
                             f"got {self.join_along_m!r}")
        if not (math.isfinite(self.join_across_m) and self.join_across_m >= 0):
            raise ValueError(f"TrackSettings.join_across_m must be finite and >= 0 metres, got {self.join_across_m!r}")


@dataclass(frozen=True, eq=False)
class TrackedPerson:
    """One track at one frame.

    Attributes:
        track_id: ``p<n>``, stable for the track's life.
        candidate: its candidate in this frame (None when coasting).
        position: (3,) float64 metres: the candidate's centroid, or the prediction when coasting.
        velocity: (3,) float64 m/s, horizontal.
        first_ns: stamp of the frame the track was first seen in; last_ns: of its latest match.
        frames: frames it was matched in.
        split: the candidate was cut out of a merged one (step 2 of the module docstring).
        pieces: how many of the frame's candidates make up ``candidate`` (step 3b: more than 1 when pieces
            of the person were joined to it).
    """

    track_id: str
    candidate: PersonCandidate | None
    position: np.ndarray
    velocity: np.ndarray
    first_ns: int
    last_ns: int
    frames: int
    split: bool = False
    pieces: int = 1


@dataclass(frozen=True)
class TrackFrame:
    """What the tracker made of one frame; each list ordered by id number.

    Attributes:
        stamp_ns: the frame's stamp.
        confirmed: confirmed tracks matched in this frame (each with its candidate).
        tentative: tracks not confirmed yet, matched in this frame (each with its candidate).
        coasting: confirmed tracks not matched in this frame and not dead (candidate None).
        born: ids confirmed at this frame (also in ``confirmed``).
        died: ids of confirmed tracks that ended at this frame (timeout or reset).
        dropped: ids of tentative tracks given up at this frame (missed a frame, or reset).
        reset: the tracker was reset at this frame (stamp went back, or a gap longer than ``death_s``).
    """

    stamp_ns: int
    confirmed: tuple[TrackedPerson, ...]
    tentative: tuple[TrackedPerson, ...]
    coasting: tuple[TrackedPerson, ...]
    born: tuple[str, ...] = ()
    died: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    reset: bool = False


def track_number(track_id: str) -> int:
    """``p12`` -> 12 (so p2 sorts before p10)."""
    return int(track_id[1:])


def _ordered(people) -> tuple[TrackedPerson, ...]:
    return tuple(sorted(people, key=lambda p: track_number(p.track_id)))


class _Track:
    """A track's mutable state (positions metres, velocity m/s, stamps ns)."""

    __slots__ = ("number", "position", "velocity", "first_ns", "last_ns", "frames", "confirmed")

    def __init__(self, number: int, position: np.ndarray, stamp_ns: int, confirmed: bool) -> None:
        self.number = number
        self.position = position
        self.velocity = np.zeros(3)
        self.first_ns = stamp_ns
        self.last_ns = stamp_ns
        self.frames = 1
        self.confirmed = confirmed

    @property
    def track_id(self) -> str:
        return f"p{self.number}"

    def predict(self, stamp_ns: int) -> np.ndarray:
        return self.position + self.velocity * ((stamp_ns - self.last_ns) * 1e-9)


class PersonTracker:
    """Person candidates per frame -> :class:`TrackFrame` s (see the module docstring)."""

    def __init__(self, settings: TrackSettings = TrackSettings(),
                 people_settings: PeopleSettings = PeopleSettings()) -> None:
        self.settings = settings
        self.people_settings = people_settings
        self._basis = horizontal_basis(people_settings.up)
        self._tracks: list[_Track] = []
        self._last_stamp: int | None = None
        self._next = 1  # the next track's number: never goes back, so an id is never reused

    @property
    def last_stamp_ns(self) -> int | None:
        """Stamp of the latest frame (None before the first and after a reset)."""
        return self._last_stamp

    def reset(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Forget every track: returns (ids of the confirmed tracks that end, ids of the tentative ones).
        Ids keep counting up."""
        died = tuple(t.track_id for t in self._tracks if t.confirmed)
        dropped = tuple(t.track_id for t in self._tracks if not t.confirmed)
        self._tracks = []
        self._last_stamp = None
        return died, dropped

    def _h(self, p: np.ndarray) -> np.ndarray:
        """Horizontal coordinates (..., 2) of points (..., 3)."""
        return p @ self._basis[:2].T

    def _horizontal(self, v: np.ndarray) -> np.ndarray:
        """The component of (3,) ``v`` perpendicular to up."""
        u = self._basis[2]
        return v - (v @ u) * u

    def update(self, stamp_ns: int, points_m, candidates: list[PersonCandidate]) -> TrackFrame:
        """One frame.

        Args:
            stamp_ns: the frame's header stamp (int ns).
            points_m: (P, 3) the frame's points, metres (the array the candidates index).
            candidates: this frame's person candidates (any order).

        Returns:
            The frame's :class:`TrackFrame`; its candidates may be parts of the given ones (merged people
            cut apart), so take the clouds from there.
        """
        if isinstance(stamp_ns, bool) or not isinstance(stamp_ns, (int, np.integer)):
            raise ValueError(f"stamp_ns must be an integer (ns), got {stamp_ns!r}")
        stamp_ns = int(stamp_ns)
        pts = np.asarray(points_m)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise ValueError(f"points_m must be (P, 3) metres, got shape {pts.shape}")
        candidates = list(candidates)
        for c in candidates:
            if c.indices.size and (c.indices.min() < 0 or c.indices.max() >= pts.shape[0]):
                raise ValueError(f"a candidate's indices are out of range for {pts.shape[0]} points")
        s = self.settings
        death_ns = int(round(s.death_s * 1e9))
        died: list[str] = []
        dropped: list[str] = []
        reset = False
        if self._last_stamp is not None and (stamp_ns < self._last_stamp or stamp_ns - self._last_stamp > death_ns):
            ended, gone = self.reset()
            died.extend(ended)
            dropped.extend(gone)
            reset = True
        self._last_stamp = stamp_ns

        confirmed = [t for t in self._tracks if t.confirmed]
        tentative = [t for t in self._tracks if not t.confirmed]
        cands, split = self._split_merged(pts, candidates, confirmed, stamp_ns)

        centres = np.array([self._h(c.centroid) for c in cands]).reshape(-1, 2)
        match_c = self._associate(confirmed, centres, stamp_ns, set())
        taken = set(match_c.values())
        cands, pieces = self._join_pieces(pts, cands, confirmed, match_c, taken, stamp_ns)
        match_t = self._associate(tentative, centres, stamp_ns, taken)
        taken |= set(match_t.values())

        born: list[str] = []
        seen: dict[int, tuple[_Track, int]] = {}  # track number -> (track, candidate index)
        for group, matches in ((confirmed, match_c), (tentative, match_t)):
            for i, j in matches.items():
                t = group[i]
                self._observe(t, cands[j].centroid, stamp_ns)
                if not t.confirmed and t.frames >= s.birth_frames:
                    t.confirmed = True
                    born.append(t.track_id)
                seen[t.number] = (t, j)
        for j in range(len(cands)):
            if j not in taken:
                t = _Track(self._next, np.asarray(cands[j].centroid, dtype=np.float64).copy(), stamp_ns,
                           confirmed=s.birth_frames <= 1)
                self._next += 1
                self._tracks.append(t)
                if t.confirmed:
                    born.append(t.track_id)
                seen[t.number] = (t, j)

        coasting: list[TrackedPerson] = []
        alive: list[_Track] = []
        for t in self._tracks:
            if t.number in seen:
                alive.append(t)
            elif not t.confirmed:
                dropped.append(t.track_id)
            elif stamp_ns - t.last_ns > death_ns:
                died.append(t.track_id)
            else:
                alive.append(t)
                coasting.append(self._report(t, None, t.predict(stamp_ns), False))
        self._tracks = alive

        now = [(t.confirmed, self._report(t, cands[j], t.position.copy(), split[j], pieces[j]))
               for t, j in seen.values()]
        return TrackFrame(
            stamp_ns=stamp_ns,
            confirmed=_ordered(p for ok, p in now if ok),
            tentative=_ordered(p for ok, p in now if not ok),
            coasting=_ordered(coasting),
            born=tuple(sorted(born, key=track_number)),
            died=tuple(sorted(died, key=track_number)),
            dropped=tuple(sorted(dropped, key=track_number)),
            reset=reset,
        )

    def _split_merged(self, pts: np.ndarray, cands: list[PersonCandidate], confirmed: list[_Track],
                      stamp_ns: int) -> tuple[list[PersonCandidate], list[bool]]:
        """Cut each candidate whose horizontal footprint holds two or more confirmed tracks' predictions
        (step 2 of the module docstring). Returns the candidates and, per candidate, whether it is a part."""
        split = [False] * len(cands)
        if len(confirmed) < 2 or not cands:
            return cands, split
        preds = np.array([t.predict(stamp_ns) for t in confirmed])  # (N, 3)
        ph = self._h(preds)  # (N, 2)
        lo, hi = [], []
        for c in cands:
            h = self._h(np.asarray(pts[c.indices], dtype=np.float64))
            lo.append([h[:, 0].min(), h[:, 1].min()])
            hi.append([h[:, 0].max(), h[:, 1].max()])
        lo, hi = np.array(lo), np.array(hi)  # (M, 2)
        inside = np.all((ph[:, None, :] >= lo[None]) & (ph[:, None, :] <= hi[None]), axis=2)  # (N, M)
        # a prediction inside two overlapping footprints seeds only the candidate whose centroid is nearest
        centres = np.array([self._h(c.centroid) for c in cands])
        dist = np.linalg.norm(ph[:, None, :] - centres[None], axis=2)
        owner = np.where(inside.any(axis=1), np.argmin(np.where(inside, dist, np.inf), axis=1), -1)
        out: list[PersonCandidate] = []
        out_split: list[bool] = []
        for j, c in enumerate(cands):
            seeds = preds[owner == j]
            parts = split_wide(pts, c, seeds, self.people_settings) if seeds.shape[0] >= 2 else [c]
            out.extend(parts)
            out_split.extend([len(parts) > 1] * len(parts))
        return out, out_split

    def _join_pieces(self, pts: np.ndarray, cands: list[PersonCandidate], confirmed: list[_Track],
                     match_c: dict[int, int], taken: set[int], stamp_ns: int
                     ) -> tuple[list[PersonCandidate], list[int]]:
        """Step 3b of the module docstring: each candidate no confirmed track took joins the candidate of a
        confirmed track when their centroids are within ``join_along_m`` of each other along the line of
        sight and ``join_across_m`` across it (horizontal; the nearest such candidate; same
        ``instance_id``). Adds the joined pieces to ``taken``; returns the candidates (a track's candidate
        rebuilt with its pieces, the list's order kept) and per candidate how many it holds."""
        s = self.settings
        pieces = [1] * len(cands)
        free = [j for j in range(len(cands)) if j not in taken]
        if s.join_along_m <= 0 or not match_c or not free:
            return cands, pieces
        owners = sorted(set(match_c.values()))  # candidates taken by confirmed tracks
        extra: dict[int, list[int]] = {}
        for j in free:
            cj = self._h(np.asarray(cands[j].centroid, dtype=np.float64))
            best, best_d = -1, math.inf
            for m in owners:
                if cands[m].instance_id != cands[j].instance_id:
                    continue
                cm = self._h(np.asarray(cands[m].centroid, dtype=np.float64))
                sight = cj + cm  # the camera is the origin: the line of sight to the pair, across the floor
                norm = float(np.linalg.norm(sight))
                sight = sight / norm if norm > 0 else np.array([0.0, 1.0])
                d = cj - cm
                along, across = abs(float(d @ sight)), abs(float(d[0] * sight[1] - d[1] * sight[0]))
                if along <= s.join_along_m and across <= s.join_across_m and along + across < best_d:
                    best, best_d = m, along + across
            if best >= 0:
                extra.setdefault(best, []).append(j)
        if not extra:
            return cands, pieces
        pts64 = np.asarray(pts, dtype=np.float64)
        out = list(cands)
        for m, js in extra.items():
            rows = np.sort(np.concatenate([cands[m].indices, *(cands[j].indices for j in js)]))
            out[m] = candidate_from_rows(pts64, rows, self._basis, cands[m].instance_id)
            pieces[m] = 1 + len(js)
            taken.update(js)
        return out, pieces

    def _associate(self, tracks: list[_Track], centres: np.ndarray, stamp_ns: int,
                   taken: set[int]) -> dict[int, int]:
        """Optimal gated assignment of ``tracks`` to the candidates not in ``taken``: {track index:
        candidate index}."""
        free = [j for j in range(centres.shape[0]) if j not in taken]
        if not tracks or not free:
            return {}
        s = self.settings
        preds = self._h(np.array([t.predict(stamp_ns) for t in tracks]))  # (N, 2)
        gates = np.array([s.gate_m + s.max_speed_mps * (stamp_ns - t.last_ns) * 1e-9 for t in tracks])
        d = np.linalg.norm(preds[:, None, :] - centres[free][None], axis=2)  # (N, F)
        ok = d <= gates[:, None]
        rows, cols = linear_sum_assignment(np.where(ok, d, _FORBIDDEN))
        return {int(r): free[int(c)] for r, c in zip(rows, cols) if ok[r, c]}

    def _observe(self, t: _Track, centroid: np.ndarray, stamp_ns: int) -> None:
        """A match: new position, velocity measured, smoothed and clamped (step 5)."""
        s = self.settings
        centroid = np.asarray(centroid, dtype=np.float64)
        dt = (stamp_ns - t.last_ns) * 1e-9
        if dt > 0:
            measured = self._horizontal(centroid - t.position) / dt
            v = measured if t.frames == 1 else s.velocity_alpha * measured + (1.0 - s.velocity_alpha) * t.velocity
            speed = float(np.linalg.norm(v))
            t.velocity = v * (s.max_speed_mps / speed) if speed > s.max_speed_mps else v
        t.position = centroid.copy()
        t.last_ns = stamp_ns
        t.frames += 1

    def _report(self, t: _Track, cand: PersonCandidate | None, position: np.ndarray, split: bool,
                pieces: int = 1) -> TrackedPerson:
        position = np.asarray(position, dtype=np.float64)
        velocity = t.velocity.copy()
        position.setflags(write=False)
        velocity.setflags(write=False)
        return TrackedPerson(t.track_id, cand, position, velocity, t.first_ns, t.last_ns, t.frames, split,
                             pieces if cand is not None else 0)
