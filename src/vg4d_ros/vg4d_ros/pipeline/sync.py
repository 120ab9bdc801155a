"""Message synchronisation by stamp (no rclpy, no message_filters).

:class:`ApproximateTimeSynchronizer` reproduces the Python
``message_filters.ApproximateTimeSynchronizer`` of ROS 2 (Humble and Jazzy
ship the same code), so a node built on it pairs messages exactly as users
of message_filters expect:

* each input keeps a dict ``stamp -> message``; a repeated stamp overwrites
  the earlier message (keeping its place in the dict's order);
* when an input holds more than ``queue_size`` messages its smallest stamp is
  evicted - this happens before matching, so the new message itself can be
  the one evicted (an old, late message);
* on each arrival, for every *other* input the stamps with
  ``|s - new| <= slop`` are listed closest first (ties in dict order); the
  candidate sets are tried in ``itertools.product`` order (first input
  varies slowest) and the first with ``max - min < slop`` (strict) is
  emitted and its messages removed from their queues. Only sets containing
  the newest message are tried: first fit, not the optimal match.

Stamps are int nanoseconds; ``slop_ns`` is the int nanoseconds that
``rclpy.duration.Duration(seconds=slop)`` holds (``int(slop * 1e9)``).

:class:`PassThrough` is the single-input mode (point cloud or depth only):
every message is emitted at once.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Synced:
    """One emitted set: ``msgs[i]`` came from input ``i`` with stamp ``stamps[i]`` (ns)."""

    stamps: tuple[int, ...]
    msgs: tuple[Any, ...]

    @property
    def stamp(self) -> int:
        """The set's stamp: that of input 0 (the depth / point-cloud stream by convention)."""
        return self.stamps[0]


def _check_stamp(stamp_ns: int) -> int:
    if isinstance(stamp_ns, bool) or not isinstance(stamp_ns, (int, np.integer)):
        raise TypeError(f"stamps are int nanoseconds, got {stamp_ns!r}")
    return int(stamp_ns)


class ApproximateTimeSynchronizer:
    """message_filters' approximate-time policy over ``num_inputs`` inputs.

    Args:
        num_inputs: number of input streams (>= 2; use :class:`PassThrough` for one).
        queue_size: messages kept per input (>= 1).
        slop_ns: tolerance in nanoseconds (>= 0; 0 never matches, as in message_filters).
    """

    def __init__(self, num_inputs: int, queue_size: int, slop_ns: int) -> None:
        if not isinstance(num_inputs, int) or num_inputs < 2:
            raise ValueError(f"num_inputs must be an int >= 2 (PassThrough for one input), got {num_inputs!r}")
        if not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError(f"queue_size must be a positive int, got {queue_size!r}")
        if isinstance(slop_ns, bool) or not isinstance(slop_ns, int) or slop_ns < 0:
            raise ValueError(f"slop_ns must be a non-negative int (nanoseconds), got {slop_ns!r}")
        self.queue_size = queue_size
        self.slop_ns = slop_ns
        self.queues: list[dict[int, Any]] = [{} for _ in range(num_inputs)]

    @property
    def num_inputs(self) -> int:
        return len(self.queues)

    def add(self, index: int, stamp_ns: int, msg: Any) -> Synced | None:
        """A message arrived on input ``index``; return the set it completes, if any."""
        if not 0 <= index < len(self.queues):
            raise IndexError(f"input index {index} out of range for {len(self.queues)} inputs")
        stamp = _check_stamp(stamp_ns)
        mine = self.queues[index]
        mine[stamp] = msg
        while len(mine) > self.queue_size:
            del mine[min(mine)]
        candidates = []
        for j, queue in enumerate(self.queues):
            if j == index:
                continue
            near = [(s, abs(s - stamp)) for s in queue if abs(s - stamp) <= self.slop_ns]
            if not near:
                return None
            near.sort(key=lambda x: x[1])  # stable: ties keep dict order
            candidates.append([s for s, _ in near])
        for combo in itertools.product(*candidates):
            stamps = list(combo)
            stamps.insert(index, stamp)
            if max(stamps) - min(stamps) < self.slop_ns and all(s in q for q, s in zip(self.queues, stamps)):
                msgs = tuple(q.pop(s) for q, s in zip(self.queues, stamps))
                return Synced(tuple(stamps), msgs)
        return None

    def clear(self, index: int | None = None) -> None:
        """Drop every queued message (e.g. after the clock jumped back in a bag replay), or only those
        of input ``index`` (e.g. an input whose clock changed: its old, larger stamps would otherwise
        stay while every new message is the smallest stamp and evicted at once)."""
        for q in self.queues if index is None else [self.queues[index]]:
            q.clear()


class PassThrough:
    """Single-input "synchroniser": every message is its own set."""

    num_inputs = 1

    def add(self, index: int, stamp_ns: int, msg: Any) -> Synced:
        if index != 0:
            raise IndexError(f"PassThrough has one input (0), got index {index}")
        return Synced((_check_stamp(stamp_ns),), (msg,))

    def clear(self, index: int | None = None) -> None:
        pass
