"""Silent inputs are named, not waited on.

The commonest failure of a ROS perception node is a callback that never
runs: nobody publishes the topic, or a publisher's QoS does not match, or a
depth stream arrives without its camera_info. :class:`TopicWatch` is told
of every message per input role and, from ``timeout_s`` after activation,
classifies each input:

* ``ok`` - a message within the last ``timeout_s``;
* ``waiting`` - activated less than ``timeout_s`` ago and nothing yet;
* ``no_publisher`` - nothing arrived and the transport sees no publisher;
* ``silent`` - publishers exist (their offered QoS is reported when the
  transport tells it) but nothing was delivered: a QoS or type mismatch;
* ``stopped`` - messages came, then none for ``timeout_s``;
* ``unknown_publishers`` - nothing arrived and the transport cannot list publishers.

``camera_info`` silent while ``depth`` is ``ok`` gets its own message: the
depth cannot be turned into points. A change of state is logged once;
:meth:`TopicWatch.check` returns the states for diagnostics.

Time comes from an injected ``clock`` (seconds, monotonic), so tests run on
a fake clock.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

OK, WAITING, NO_PUBLISHER, SILENT, STOPPED, UNKNOWN = (
    "ok", "waiting", "no_publisher", "silent", "stopped", "unknown_publishers")


@dataclass(frozen=True)
class PublisherInfo:
    """One publisher of a topic as the transport describes it (``qos``: e.g. "best_effort, volatile, keep_last 5")."""

    node: str = ""
    qos: str = "unknown"


@dataclass
class TopicState:
    """State of one input (see the module docstring); ``message`` says it for a human."""

    role: str
    topic: str
    state: str
    message: str
    publishers: list[PublisherInfo] = field(default_factory=list)
    count: int = 0


# topic -> publishers, or None when the transport cannot tell
PublishersOf = Callable[[str], "Sequence[PublisherInfo] | None"]


class TopicWatch:
    """Tracks arrivals per input role and names the silent ones.

    Args:
        topics: role -> topic name, e.g. ``{"depth": "/camera/depth", "camera_info": ...}``.
        timeout_s: silence after which an input is reported (> 0).
        publishers_of: the transport's publisher list of a topic (None = unknown).
        log: called with (level "warn" | "info", text) on every change of state.
        clock: monotonic seconds.
    """

    def __init__(self, topics: Mapping[str, str], timeout_s: float, *, publishers_of: PublishersOf | None = None,
                 log: Callable[[str, str], None] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self.topics = dict(topics)
        self.timeout_s = float(timeout_s)
        self.publishers_of = publishers_of or (lambda topic: None)
        self.log = log or (lambda level, text: None)
        self.clock = clock
        self._active_since: float | None = None
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {r: 0 for r in self.topics}
        self._reported: dict[str, str] = {}

    def activate(self) -> None:
        """Start (or restart) the watch: silence is measured from now."""
        self._active_since = self.clock()
        self._last.clear()
        self._reported.clear()

    def deactivate(self) -> None:
        self._active_since = None

    def on_message(self, role: str) -> None:
        """A message of ``role`` arrived (whatever its content)."""
        if role in self._count:
            self._count[role] += 1
            self._last[role] = self.clock()

    def _classify(self, role: str, topic: str, now: float) -> TopicState:
        count = self._count[role]
        last = self._last.get(role)
        if last is not None and now - last <= self.timeout_s:
            return TopicState(role, topic, OK, f"{topic}: receiving", count=count)
        if self._active_since is None or now - self._active_since < self.timeout_s:
            return TopicState(role, topic, WAITING, f"{topic}: waiting for the first message", count=count)
        if last is not None:
            return TopicState(role, topic, STOPPED, f"{topic}: no message for {now - last:.1f} s "
                              f"(had {count})", count=count)
        pubs = self.publishers_of(topic)
        silent_for = f"{now - self._active_since:.1f} s"
        if pubs is None:
            return TopicState(role, topic, UNKNOWN, f"{topic}: nothing received in {silent_for} "
                              "(publishers: unknown)", count=count)
        pubs = list(pubs)
        if not pubs:
            return TopicState(role, topic, NO_PUBLISHER, f"{topic}: no publisher in {silent_for}", count=count)
        offered = "; ".join(f"{p.node or '?'} offers {p.qos}" for p in pubs)
        return TopicState(role, topic, SILENT, f"{topic}: {len(pubs)} publisher(s) but nothing delivered in "
                          f"{silent_for} - QoS or type mismatch? ({offered})", pubs, count)

    def check(self) -> list[TopicState]:
        """States of all inputs now; logs each change of state once."""
        now = self.clock()
        states = {r: self._classify(r, t, now) for r, t in self.topics.items()}
        ci, depth = states.get("camera_info"), states.get("depth")
        if ci is not None and depth is not None and depth.state == OK and ci.state not in (OK, WAITING):
            ci.message = (f"depth arrives on {depth.topic} but no camera_info on {ci.topic}: depth images cannot "
                          f"be converted to points ({ci.message})")
        for role, st in states.items():
            if self._reported.get(role) != st.state:
                if st.state not in (WAITING,) and not (st.state == OK and role not in self._reported):
                    self.log("info" if st.state == OK else "warn", st.message)
                self._reported[role] = st.state
        return list(states.values())
