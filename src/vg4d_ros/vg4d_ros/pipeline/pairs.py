"""Two-person actions: which tracks stand close enough to be scored together, and their ids.

A handshake, a hug or a push is one action of two people. Datasets that have such classes (NTU RGB+D's
"mutual actions") record them as one cloud of both people, and a model trained on them expects that
cloud; one person's half of a handshake is an arm held out. With ``people.pairs.enabled`` every pair of
confirmed tracks that stand close (:func:`choose_pairs`) is scored on the union of both people's points
per frame (:class:`~vg4d_ros.pipeline.person_windows.PersonWindows`), besides each person alone.

Rules (distances between centroids across the floor: the component along ``up`` left out, metres):

* a pair forms when two unpaired tracks are within ``max_distance_m``; each track is in at most one
  pair, the closest first (a crowd gives disjoint pairs, never a chain);
* it lasts while both tracks live and are within ``release_m`` (>= ``max_distance_m``: people who lean
  back mid-handshake stay a pair);
* it ends (``pair_apart``) when they are farther apart, or (``track_lost``) when a member's track ends.

A pair's id is its members' ids joined by ``+`` in id order (``p1+p3``), stable for the pair's life.
A coasting member (unseen this frame) keeps the pair at its predicted position, as its track is kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAIR_SEP = "+"
PAIR_APART, TRACK_LOST = "pair_apart", "track_lost"


@dataclass(frozen=True)
class PairSettings:
    """Attributes:
        max_distance_m: two tracks this close (centroids across the floor) become a pair.
        release_m: a pair ends when its members are farther apart than this (>= max_distance_m).
        up: (3,) the "up" direction of the input frame (its component of the distance is left out).
    """

    max_distance_m: float = 1.2
    release_m: float = 1.6
    up: tuple[float, float, float] = (0.0, -1.0, 0.0)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.max_distance_m) and self.max_distance_m > 0):
            raise ValueError(f"pairs.max_distance_m must be > 0 m, got {self.max_distance_m!r}")
        if not (np.isfinite(self.release_m) and self.release_m >= self.max_distance_m):
            raise ValueError(f"pairs.release_m must be >= max_distance_m ({self.max_distance_m}), got "
                             f"{self.release_m!r}")
        if not np.linalg.norm(np.asarray(self.up, np.float64)) > 0:
            raise ValueError(f"up must be a non-zero vector, got {self.up!r}")


def member_numbers(track_id: str) -> tuple[int, ...]:
    """``p3`` -> (3,), ``p1+p3`` -> (1, 3): a sort key that orders people before the pairs they start."""
    return tuple(int(part[1:]) for part in track_id.split(PAIR_SEP))


def is_pair(track_id: str) -> bool:
    """Whether ``track_id`` names a pair (``p1+p3``) rather than one person."""
    return PAIR_SEP in track_id


def pair_id(a: str, b: str) -> str:
    """The id of the pair of tracks ``a`` and ``b`` (members in id order)."""
    first, second = sorted((a, b), key=member_numbers)
    return f"{first}{PAIR_SEP}{second}"


def pair_members(track_id: str) -> tuple[str, ...]:
    """``p1+p3`` -> ("p1", "p3")."""
    return tuple(track_id.split(PAIR_SEP))


def floor_distance(a: np.ndarray, b: np.ndarray, up) -> float:
    """Distance between two (3,) points with the component along ``up`` removed (metres)."""
    u = np.asarray(up, np.float64)
    u = u / np.linalg.norm(u)
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return float(np.linalg.norm(d - np.dot(d, u) * u))


def choose_pairs(positions: dict[str, np.ndarray], current: set[str], settings: PairSettings
                 ) -> tuple[list[str], list[tuple[str, str]]]:
    """The pairs after one frame.

    Args:
        positions: track id -> (3,) position (metres) of every confirmed track alive at this frame.
        current: ids of the pairs before this frame.

    Returns:
        (pairs now, in id order; [(pair id, why)] of the pairs that ended, why ``track_lost`` or
        ``pair_apart``).
    """
    kept: list[str] = []
    ended: list[tuple[str, str]] = []
    for pid in sorted(current, key=member_numbers):
        a, b = pair_members(pid)
        if a not in positions or b not in positions:
            ended.append((pid, TRACK_LOST))
        elif floor_distance(positions[a], positions[b], settings.up) > settings.release_m:
            ended.append((pid, PAIR_APART))
        else:
            kept.append(pid)
    taken = {m for pid in kept for m in pair_members(pid)}
    free = sorted((t for t in positions if t not in taken), key=member_numbers)
    close = sorted(((floor_distance(positions[a], positions[b], settings.up), i, j)
                    for i, a in enumerate(free) for j, b in enumerate(free) if i < j))
    for distance, i, j in close:
        if distance > settings.max_distance_m:
            break
        a, b = free[i], free[j]
        if a in taken or b in taken:
            continue
        taken.update((a, b))
        kept.append(pair_id(a, b))
    return sorted(kept, key=member_numbers), ended
