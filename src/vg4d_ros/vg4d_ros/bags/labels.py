"""Ground truth of recorded bags: a labels file (YAML or CSV) or a label topic -> time segments.

A segment is ``[start, end] -> class name`` (both ends inclusive). Frames and
windows are matched by the *header stamp* of the depth / point-cloud message
(the stamp the recogniser labels its results with).

YAML labels file::

    clock: bag                  # default of every bag: "bag" or "stamp" (below)
    bags:
      session1:                 # the bag's folder name (or file name without .mcap / .db3)
        subject: alice          # optional: split by subject (``vg4d train`` with a bag dataset)
        segments:
          - [0.0, 2.5, wave]    # start, end, class name
          - {start: 3.0, end: 5.5, label: sit down}
      session2:
        clock: stamp
        segments:
          - [1712000000000000000, 1712000002500000000, wave]

CSV labels file (one segment a row, header required; ``subject`` and
``clock`` columns optional)::

    bag,start,end,label,subject,clock
    session1,0.0,2.5,wave,alice,bag
    session1,3.0,5.5,sit down,alice,bag

Clocks:

* ``bag`` - seconds (float) from the bag's start, i.e. the recording time of
  its first message (what ``ros2 bag info`` prints as "Start"); a segment
  becomes ``[start_ns + s * 1e9, ...]`` on the stamp axis. Right when the
  driver stamps messages with the time they are recorded (live cameras).
* ``stamp`` - absolute header stamps in integer nanoseconds (exact; use it
  for simulated time or re-stamped data).

A label topic (``std_msgs/String``) gives segments too
(:func:`segments_from_topic`): each run of equal non-empty strings is one
segment from its first message's recording time until just before the next
different message (the last one: until the end of the bag); an empty string
means "no label".
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import yaml

GROUND_TRUTH_TOPIC = "/vg4d/ground_truth"  # std_msgs/String label topic ntu2bag writes, replay and bag2cache read
CLOCKS = ("bag", "stamp")
ROS2_BAG_SUFFIXES = (".mcap", ".db3")  # storage files of a ROS 2 bag (a folder of them is ONE bag)
BAG_SUFFIXES = ROS2_BAG_SUFFIXES + (".bag",)  # and a ROS 1 bag, always one file


class LabelsError(ValueError):
    """A labels file that cannot be used; the message names the file, the bag and the entry."""


@dataclass(frozen=True)
class Segment:
    """``[start_ns, end_ns]`` (inclusive, header-stamp ns) -> ``label``."""

    start_ns: int
    end_ns: int
    label: str

    def contains(self, stamp_ns: int) -> bool:
        return self.start_ns <= stamp_ns <= self.end_ns


@dataclass(frozen=True)
class BagLabels:
    """The labels-file entry of one bag (times still in the entry's clock)."""

    bag: str
    clock: str
    segments: tuple[tuple[float | int, float | int, str], ...]
    subject: str = ""

    def resolve(self, bag_start_ns: int) -> list[Segment]:
        """Segments on the header-stamp axis (``bag_start_ns``: the bag's first recording time)."""
        out = []
        for start, end, label in self.segments:
            if self.clock == "bag":
                out.append(Segment(int(bag_start_ns + round(start * 1e9)), int(bag_start_ns + round(end * 1e9)),
                                   label))
            else:
                out.append(Segment(int(start), int(end), label))
        return out


@dataclass
class LabelsFile:
    """Every bag's entry of one labels file."""

    path: str
    bags: dict[str, BagLabels] = field(default_factory=dict)

    def for_bag(self, bag_path: str | Path) -> BagLabels | None:
        """The entry of a bag (by :func:`bag_key`), or None."""
        return self.bags.get(bag_key(bag_path))


def bag_key(path: str | Path) -> str:
    """The name a labels file uses for a bag: folder name, or file name without .mcap / .db3 / .bag."""
    name = Path(path).name
    for suffix in BAG_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def label_at(segments: Sequence[Segment], stamp_ns: int) -> str | None:
    """The label of the first segment containing ``stamp_ns``, or None."""
    for seg in segments:
        if seg.contains(stamp_ns):
            return seg.label
    return None


def _number(value, where: str, clock: str) -> float | int:
    if isinstance(value, bool):
        raise LabelsError(f"{where}: a time must be a number, got {value!r}")
    if clock == "stamp":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int) or value < 0:
            raise LabelsError(f"{where}: clock 'stamp' needs integer nanoseconds >= 0, got {value!r}")
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise LabelsError(f"{where}: clock 'bag' needs seconds from the bag start, got {value!r}") from None
    if not value >= 0:
        raise LabelsError(f"{where}: seconds from the bag start must be >= 0, got {value!r}")
    return value


def _entry(path: str, bag: str, clock: str, subject: str, segments: Iterable) -> BagLabels:
    if clock not in CLOCKS:
        raise LabelsError(f"{path}: bag {bag!r}: clock must be one of {list(CLOCKS)}, got {clock!r}")
    out = []
    for i, seg in enumerate(segments):
        where = f"{path}: bag {bag!r} segment {i}"
        if isinstance(seg, Mapping):
            unknown = set(seg) - {"start", "end", "label"}
            if unknown or not {"start", "end", "label"} <= set(seg):
                raise LabelsError(f"{where}: needs keys start, end, label (got {sorted(seg)})")
            start, end, label = seg["start"], seg["end"], seg["label"]
        elif isinstance(seg, (list, tuple)) and len(seg) == 3:
            start, end, label = seg
        else:
            raise LabelsError(f"{where}: expected [start, end, label] or {{start, end, label}}, got {seg!r}")
        start, end = _number(start, where, clock), _number(end, where, clock)
        if end < start:
            raise LabelsError(f"{where}: end {end} is before start {start}")
        if not isinstance(label, str) or not label.strip():
            raise LabelsError(f"{where}: label must be a non-empty class name, got {label!r}")
        out.append((start, end, label.strip()))
    out.sort(key=lambda s: s[0])
    for a, b in zip(out, out[1:]):
        if b[0] <= a[1]:
            raise LabelsError(f"{path}: bag {bag!r}: segments {a} and {b} overlap")
    return BagLabels(bag, clock, tuple(out), subject)


def load_labels(path: str | Path) -> LabelsFile:
    """Read a YAML (``.yaml``/``.yml``) or CSV (``.csv``) labels file (format: module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise LabelsError(f"labels file {path} does not exist")
    if path.suffix.lower() == ".csv":
        return _load_csv(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _load_yaml(path)
    raise LabelsError(f"{path}: a labels file must end in .yaml, .yml or .csv")


def _load_yaml(path: Path) -> LabelsFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LabelsError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("bags"), Mapping):
        raise LabelsError(f"{path}: expected a mapping with a 'bags' mapping (bag name -> entry)")
    unknown = set(data) - {"bags", "clock"}
    if unknown:
        raise LabelsError(f"{path}: unknown top-level keys {sorted(unknown)} (allowed: bags, clock)")
    default_clock = str(data.get("clock", "bag"))
    out = LabelsFile(str(path))
    for bag, entry in data["bags"].items():
        if not isinstance(entry, Mapping):
            raise LabelsError(f"{path}: bag {bag!r}: expected a mapping with 'segments'")
        unknown = set(entry) - {"segments", "subject", "clock"}
        if unknown:
            raise LabelsError(f"{path}: bag {bag!r}: unknown keys {sorted(unknown)} (allowed: segments, subject, clock)")
        out.bags[str(bag)] = _entry(str(path), str(bag), str(entry.get("clock", default_clock)),
                                    str(entry.get("subject", "") or ""), entry.get("segments") or [])
    return out


def _load_csv(path: Path) -> LabelsFile:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"bag", "start", "end", "label"} <= set(rows[0]):
        raise LabelsError(f"{path}: the header must name bag, start, end, label (optional subject, clock); "
                          f"got {list(rows[0])}")
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["bag"].strip(), []).append(row)
    out = LabelsFile(str(path))
    for bag, group in grouped.items():
        clocks = {(r.get("clock") or "bag").strip() for r in group}
        subjects = {(r.get("subject") or "").strip() for r in group}
        if len(clocks) > 1 or len(subjects) > 1:
            raise LabelsError(f"{path}: bag {bag!r}: rows disagree on clock {sorted(clocks)} or subject "
                              f"{sorted(subjects)}")
        segs = [(r["start"].strip(), r["end"].strip(), r["label"]) for r in group]
        out.bags[bag] = _entry(str(path), bag, clocks.pop(), subjects.pop(), segs)
    return out


def segments_from_topic(messages: Iterable[tuple[int, str]], end_ns: int | None = None) -> list[Segment]:
    """Runs of equal non-empty strings of a label topic -> segments.

    A label topic states what is happening now, so a label holds until the
    next message that differs (a change of label, or "" for none) - not only
    until its own last message, which would leave the time between two
    messages unlabelled whenever the topic is published more slowly than the
    camera or only on change. The last label has no such message: it holds
    until ``end_ns`` (the end of the recording), when given.

    Args:
        messages: (recording time ns, string) in time order.
        end_ns: where the last label ends (None: at its last message).
    """
    out: list[Segment] = []
    current: tuple[int, int, str] | None = None
    for t, text in messages:
        text = text.strip()
        if current is not None and text == current[2]:
            current = (current[0], t, text)
            continue
        if current is not None:
            out.append(Segment(current[0], max(current[1], t - 1), current[2]))  # until just before the change
        current = (t, t, text) if text else None
    if current is not None:
        out.append(Segment(current[0], max(current[1], end_ns if end_ns is not None else current[1]), current[2]))
    return out
