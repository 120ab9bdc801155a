"""Per-person ground truth of multi-person bags: ``vision_msgs/Detection3DArray`` -> frames and label segments.

The topic (:data:`PEOPLE_TRUTH_TOPIC`, written by ``vg4d people2bag``) holds one
``vision_msgs/msg/Detection3DArray`` per depth frame, with the depth image's header (stamp and
frame_id). Its conventions:

* one ``Detection3D`` per person *seen* in that frame (at least a minimum number of visible pixels;
  ``vg4d people2bag`` records the minimum in its manifest), in the order of the scene's actors; a person
  hidden behind another or outside the view has none;
* ``id``: the person's id, stable over the recording ("a0", "a1", ...);
* ``bbox``: the axis-aligned box of the person's visible points (its pixels back-projected with the
  depth image and its camera info) - ``center.position`` its centre and ``size`` its extent along x,
  y, z (metres, the header's frame: camera optical, x right, y down, z forward); orientation identity;
* ``results``: one ``ObjectHypothesisWithPose`` while the person performs an action, none while idle.
  Its ``hypothesis.class_id`` is the class NAME (e.g. "wave plain board"), score 1.0 - ground truth
  names the class, whereas the recogniser's own ``vision_msgs`` output uses class index strings
  resolved through ``~/label_info``; ``pose.pose.position`` is the centroid (mean) of the visible
  points, orientation identity, covariance all zero (not estimated).

:func:`read_people_truth` reads the topic into :class:`PeopleTruth` (per frame: one
:class:`PersonTruth` per detection); :func:`actor_segments` turns it into per-person label segments
(:class:`~vg4d_ros.bags.labels.Segment`, inclusive header-stamp ns).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vg4d_ros.bags.bagio import BagError, bag_topics, describe_topics, open_bag, read_messages
from vg4d_ros.bags.labels import Segment
from vg4d_ros.pipeline.decode import stamp_ns

PEOPLE_TRUTH_TOPIC = "/vg4d/ground_truth/people"
PEOPLE_TRUTH_TYPE = "vision_msgs/msg/Detection3DArray"


@dataclass(frozen=True)
class PersonTruth:
    """One person in one frame: ``label`` "" when idle; ``centroid`` None when idle (the detection has
    no result to carry it); box centre and size (3,) metres in the header's frame."""

    stamp_ns: int
    actor_id: str
    label: str
    centroid: tuple[float, float, float] | None
    box_center: tuple[float, float, float]
    box_size: tuple[float, float, float]

    @property
    def box_min(self) -> np.ndarray:
        """(3,) float64 metres: the box's lower corner."""
        return np.asarray(self.box_center) - np.asarray(self.box_size) / 2.0

    @property
    def box_max(self) -> np.ndarray:
        """(3,) float64 metres: the box's upper corner."""
        return np.asarray(self.box_center) + np.asarray(self.box_size) / 2.0


@dataclass
class PeopleTruth:
    """The ground truth topic of one bag: ``frames`` = [(header stamp ns, [PersonTruth, ...]), ...] in
    recorded order (one entry per message, possibly with no person); ``frame_id`` of the headers."""

    bag: str
    topic: str
    frames: list[tuple[int, list[PersonTruth]]] = field(default_factory=list)
    frame_id: str = ""

    def actors(self) -> list[str]:
        """Every person id, in order of first appearance."""
        seen: dict[str, None] = {}
        for _, people in self.frames:
            for p in people:
                seen.setdefault(p.actor_id, None)
        return list(seen)

    def of(self, actor_id: str) -> list[PersonTruth]:
        """One person's entries, in frame order (frames where it is not seen are skipped)."""
        return [p for _, people in self.frames for p in people if p.actor_id == actor_id]


def _vec(v) -> tuple[float, float, float]:
    return float(v.x), float(v.y), float(v.z)


def _person(stamp: int, det, where: str) -> PersonTruth:
    results = list(det.results)
    if len(results) > 1:
        raise BagError(f"{where}: person {det.id!r} has {len(results)} results; ground truth has at most one")
    label = str(results[0].hypothesis.class_id) if results else ""
    if results and not label:
        raise BagError(f"{where}: person {det.id!r} has a result with an empty class_id")
    centroid = _vec(results[0].pose.pose.position) if results else None
    return PersonTruth(stamp_ns=stamp, actor_id=str(det.id), label=label, centroid=centroid,
                       box_center=_vec(det.bbox.center.position), box_size=_vec(det.bbox.size))


def read_people_truth(bag: str | Path, topic: str = PEOPLE_TRUTH_TOPIC) -> PeopleTruth:
    """Read the per-person ground truth topic of ``bag`` (conventions: module docstring).

    Raises:
        BagError (a ValueError): the bag cannot be opened, lacks ``topic`` (the message lists the
            topics it has), holds another message type on it, or has a message that does not
            deserialise or breaks the conventions (an empty or duplicate person id in a frame, more
            than one result) - each naming the bag and the topic.
    """
    bag = Path(bag)
    out = PeopleTruth(bag=str(bag), topic=topic)
    with open_bag(bag) as reader:
        topics = bag_topics(reader)
        if topic not in topics:
            raise BagError(f"bag {bag} has no per-person ground truth topic {topic} ({PEOPLE_TRUTH_TYPE}); "
                           f"its topics:\n{describe_topics(reader)}")
        if topics[topic] != PEOPLE_TRUTH_TYPE:
            raise BagError(f"bag {bag}: topic {topic} holds {topics[topic]}, not {PEOPLE_TRUTH_TYPE} "
                           f"(per-person ground truth)")
        for i, m in enumerate(read_messages(reader, [topic], path=bag)):
            where = f"bag {bag} topic {topic} message {i}"
            if m.msg is None:
                raise BagError(f"{where}: does not deserialise as {PEOPLE_TRUTH_TYPE}: {m.error}")
            stamp = stamp_ns(m.msg)
            out.frame_id = out.frame_id or str(m.msg.header.frame_id)
            people = [_person(stamp, det, where) for det in m.msg.detections]
            ids = [p.actor_id for p in people]
            if any(not a for a in ids) or len(set(ids)) != len(ids):
                raise BagError(f"{where}: person ids must be non-empty and unique per frame, got {ids}")
            out.frames.append((stamp, people))
    return out


def actor_segments(truth: PeopleTruth, *, bridge_unseen: bool = True) -> dict[str, list[Segment]]:
    """Per person: its label segments ``[start_ns, end_ns]`` (inclusive header stamps of the first and
    last frame with the label; idle frames are in none).

    A segment ends at the person's next frame with another label (idle included). Frames where the
    person is not seen (hidden, outside the view): with ``bridge_unseen`` a segment runs on across them
    when the person reappears with the same label (the action went on out of sight); without, a
    segment ends at the last frame the person is seen.
    """
    out: dict[str, list[Segment]] = {a: [] for a in truth.actors()}
    current: dict[str, list] = {}  # actor -> [start, end, label] of the open segment
    for stamp, people in truth.frames:
        seen = {p.actor_id: p for p in people}
        for actor in list(current):
            if actor not in seen and not bridge_unseen:
                out[actor].append(Segment(*current.pop(actor)))
        for actor, p in seen.items():
            open_ = current.get(actor)
            if open_ is not None and open_[2] == p.label:
                open_[1] = stamp
                continue
            if open_ is not None:
                out[actor].append(Segment(*current.pop(actor)))
            if p.label:
                current[actor] = [stamp, stamp, p.label]
    for actor, open_ in current.items():
        out[actor].append(Segment(*open_))
    for segs in out.values():
        segs.sort(key=lambda s: s.start_ns)
    return out
