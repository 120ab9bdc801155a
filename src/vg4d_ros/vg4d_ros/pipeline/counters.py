"""Bounded bookkeeping of the recogniser: latency percentiles and rate-limited repeated warnings."""
from __future__ import annotations

import random
from collections import Counter
from typing import Callable

import numpy as np

Log = Callable[[str, str], None]  # (level "info" | "warn" | "error", text)


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


