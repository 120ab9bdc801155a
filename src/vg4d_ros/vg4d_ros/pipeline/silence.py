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

* ``invalid`` - a latched input (below) received messages, none usable.

Latched inputs (default: ``camera_info``) are satisfied by ONE valid
message: some drivers publish the camera info once, transient-local, and
the recogniser keeps the intrinsics, so it is ``ok`` from then on and never
``stopped``. Whether a message was valid comes from the ``valid`` hook (the
recogniser's :meth:`~vg4d_ros.pipeline.recognizer.Recognizer.input_valid`).

``camera_info`` silent while ``depth`` is ``ok`` gets its own message: the
depth cannot be turned into points. A ``silent`` input's message compares
each publisher's offered QoS (and type, when the transport reports it) with
what this node requests and says which side to change. A change of state is
logged once; :meth:`TopicWatch.check` returns the states for diagnostics.

Time comes from an injected ``clock`` (seconds, monotonic), so tests run on
a fake clock.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

OK, WAITING, NO_PUBLISHER, SILENT, STOPPED, UNKNOWN, INVALID = (
    "ok", "waiting", "no_publisher", "silent", "stopped", "unknown_publishers", "invalid")

# QoS policies whose mismatch stops delivery: (offered by the publisher, requested by the subscriber) that
# are incompatible, per policy; the values are the words of PublisherInfo.qos ("best_effort, volatile, ...")
INCOMPATIBLE = {"reliability": ("best_effort", "reliable"), "durability": ("volatile", "transient_local")}


@dataclass(frozen=True)
class PublisherInfo:
    """One publisher of a topic as the transport describes it.

    ``qos``: e.g. "best_effort, volatile, keep_last 5"; ``type``: its message type ("" = not reported),
    ``sensor_msgs/msg/Image`` or the DDS name ``sensor_msgs::msg::dds_::Image_``.
    """

    node: str = ""
    qos: str = "unknown"
    type: str = ""


def ros_type_name(name: str) -> str:
    """``sensor_msgs::msg::dds_::Image_`` (DDS) or ``sensor_msgs/msg/Image`` -> ``sensor_msgs/msg/Image``."""
    parts = [p for p in name.replace("::", "/").split("/") if p and p != "dds_"]
    if parts and name.endswith("_") and "::" in name:
        parts[-1] = parts[-1][:-1]
    return "/".join(parts)


def qos_words(qos: str) -> set[str]:
    """The policy values named in a QoS description ("best_effort, volatile, keep_last 5" -> {best_effort, ...})."""
    return {part.strip().split(" ")[0] for part in qos.split(",") if part.strip()}


def qos_mismatch(offered: str, requested: str, publisher: str) -> list[str]:
    """What to change so that ``publisher`` (offering ``offered``) delivers to a reader requesting
    ``requested``: one phrase per incompatible policy, [] when compatible or unknown."""
    have, want = qos_words(offered), qos_words(requested)
    fixes = []
    for policy, (weak, strong) in INCOMPATIBLE.items():
        if weak in have and strong in want:
            fixes.append(f"incompatible {policy}: subscribe {weak} or make {publisher} publish {strong}")
    return fixes


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
        latched: roles satisfied by one valid message (they need not repeat).
        valid: ``role -> bool``: whether a usable message of that role arrived (default: any message).
        requested: role -> the QoS this node subscribes with, worded as :attr:`PublisherInfo.qos`
            (e.g. "best_effort, volatile, keep_last 5"); names the side to change when nothing arrives.
        types: role -> the message type this node subscribes (``sensor_msgs/msg/Image``).
    """

    def __init__(self, topics: Mapping[str, str], timeout_s: float, *, publishers_of: PublishersOf | None = None,
                 log: Callable[[str, str], None] | None = None, clock: Callable[[], float] = time.monotonic,
                 latched: Sequence[str] = ("camera_info",), valid: Callable[[str], bool] | None = None,
                 requested: Mapping[str, str] | None = None, types: Mapping[str, str] | None = None) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self.topics = dict(topics)
        self.timeout_s = float(timeout_s)
        self.publishers_of = publishers_of or (lambda topic: None)
        self.log = log or (lambda level, text: None)
        self.clock = clock
        self.latched = frozenset(latched)
        self.valid = valid or (lambda role: True)
        self.requested = dict(requested or {})
        self.types = dict(types or {})
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
        if role in self.latched and count:
            if self.valid(role):
                return TopicState(role, topic, OK, f"{topic}: received ({count}); one is enough, it need not "
                                  "repeat", count=count)
            return TopicState(role, topic, INVALID, f"{topic}: {count} message(s), none usable (see the "
                              "malformed counters)", count=count)
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
        head = f"{topic}: {len(pubs)} publisher(s) but nothing delivered in {silent_for}"
        return TopicState(role, topic, SILENT, f"{head} - {self._why_silent(role, pubs)}", pubs, count)

    def _why_silent(self, role: str, pubs: Sequence[PublisherInfo]) -> str:
        """Which side offers / requests what, and what to change (or the offered QoS when nothing is known)."""
        requested, wanted = self.requested.get(role, ""), self.types.get(role, "")
        causes = []
        for p in pubs:
            who = p.node or "?"
            if wanted and p.type and ros_type_name(p.type) != ros_type_name(wanted):
                causes.append(f"publisher {who} offers type {ros_type_name(p.type)}; this node subscribes "
                              f"{ros_type_name(wanted)}: publish that type or remap the topic")
            fixes = qos_mismatch(p.qos, requested, who) if requested else []
            if fixes:
                causes.append(f"publisher {who} offers {p.qos}; this node requests {requested}: {'; '.join(fixes)}")
        if causes:
            return "; ".join(causes)
        offered = "; ".join(f"{p.node or '?'} offers {p.qos}" for p in pubs)
        if requested:
            return (f"the QoS is compatible (this node requests {requested}; {offered}): check the message type, "
                    "ROS_DOMAIN_ID and the network")
        return f"QoS or type mismatch? ({offered})"

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
