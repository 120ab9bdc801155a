"""Bag reading (ROS 2 sqlite3 ``.db3`` and MCAP, ROS 1 ``.bag``) and writing (ROS 2) with rosbags, with
clear errors.

rosbags 0.11 facts this module is built on (checked against 0.11.9):

* ``AnyReader([Path(...)])`` opens a bag folder (``metadata.yaml`` + storage
  files) or a single ``.mcap`` / ``.db3`` file; a ``str`` path fails with an
  AttributeError, so every path goes through :class:`pathlib.Path` here.
* A truncated or empty MCAP and a half sqlite file raise ``AnyReaderError``
  when opened; a sqlite file cut near its end opens and then raises apsw's
  ``CorruptError`` (not wrapped) while iterating. Both become a
  :class:`BagError` naming the bag and how many messages were read.
* Random bytes inside a message may deserialise without complaint (no CRC):
  garbage that happens to decode is caught only by the message checks of
  :mod:`vg4d_ros.pipeline.decode`; garbage that does not decode is counted per topic.
* A ROS 1 ``.bag`` opens the same way; its messages deserialise by the definitions stored in it, with
  ROS 1 field names (``CameraInfo.K``, ``Header.seq``), which the decoders accept.
* vision_msgs is not built into rosbags: the writer uses
  :func:`vg4d_ros.typestore.ros_typestore`, and readers get the same store as
  their default so the output bags read back.

Functions / classes:

* :func:`open_bag` - context manager yielding an opened ``AnyReader``.
* :func:`bag_topics` - topic -> message type of an opened reader.
* :func:`read_messages` - (topic, log time ns, message) in recorded-time order.
* :class:`BagWriter` - write typed messages to a new bag in either storage.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from vg4d_ros.typestore import ros_typestore

STORAGES = ("sqlite3", "mcap")


class BagError(ValueError):
    """A bag that cannot be read (missing, truncated, corrupt, empty) or lacks what is needed."""


def _storage_plugin(storage: str):
    from rosbags.rosbag2 import StoragePlugin

    try:
        return {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}[storage]
    except KeyError:
        raise ValueError(f"unknown bag storage {storage!r}; choose from {list(STORAGES)}") from None


@contextlib.contextmanager
def open_bag(path: str | Path, typestore=None):
    """Open one bag (a folder or a single ``.db3`` / ``.mcap`` file, or a ROS 1 ``.bag`` file, whose
    message definitions travel in it); yields an ``AnyReader``.

    Raises:
        BagError: the path does not exist, or rosbags cannot open it (truncated,
            empty, not a bag), with rosbags' reason.
    """
    from rosbags.highlevel import AnyReader, AnyReaderError

    path = Path(path)
    if not path.exists():
        raise BagError(f"bag {path} does not exist")
    try:
        # the constructor already reads the storage format (a .txt file fails here, not in open())
        reader = AnyReader([path], default_typestore=typestore or ros_typestore())
        reader.open()
    except (AnyReaderError, OSError, ValueError, KeyError) as exc:
        raise BagError(f"cannot open bag {path}: {type(exc).__name__}: {exc} "
                       f"(truncated, empty or not a ROS 2 bag?)") from None
    try:
        yield reader
    finally:
        with contextlib.suppress(Exception):
            reader.close()


def bag_topics(reader) -> dict[str, str]:
    """topic -> message type (``pkg/msg/Type``) of every connection of an opened reader."""
    return {c.topic: c.msgtype for c in reader.connections}


def describe_topics(reader) -> str:
    """One line per topic: ``topic (type, N messages)``, for error messages."""
    counts: dict[str, int] = {}
    for c in reader.connections:
        counts[c.topic] = counts.get(c.topic, 0) + int(c.msgcount)
    topics = bag_topics(reader)
    if not topics:
        return "  (no topics)"
    return "\n".join(f"  {t} ({topics[t]}, {counts[t]} messages)" for t in sorted(topics))


@dataclass(frozen=True)
class BagMessage:
    """One message: ``msg`` is None when it could not be deserialised (``error`` says why)."""

    topic: str
    msgtype: str
    log_time_ns: int
    msg: Any
    error: str = ""


def read_messages(reader, topics: Sequence[str], *, path: str | Path = "bag") -> Iterator[BagMessage]:
    """Messages of ``topics`` in recorded-time (log time) order, deserialised.

    A message that does not deserialise is yielded with ``msg=None`` and the
    reason (the caller counts it); a storage error while iterating (a corrupt
    or cut sqlite file) raises :class:`BagError` naming how far it got.
    """
    wanted = set(topics)
    conns = [c for c in reader.connections if c.topic in wanted]
    if not conns:
        return
    count = 0
    it = reader.messages(connections=conns)
    while True:
        try:
            conn, log_time, raw = next(it)
        except StopIteration:
            return
        except Exception as exc:  # apsw.CorruptError and friends escape rosbags unwrapped
            raise BagError(f"bag {path} is corrupt or cut short after {count} messages: "
                           f"{type(exc).__name__}: {exc}") from None
        count += 1
        try:
            msg = reader.deserialize(raw, conn.msgtype)
        except Exception as exc:  # undecodable payload or unknown type: counted by the caller
            yield BagMessage(conn.topic, conn.msgtype, int(log_time), None, f"{type(exc).__name__}: {exc}"[:160])
            continue
        yield BagMessage(conn.topic, conn.msgtype, int(log_time), msg)


class BagWriter:
    """Write messages to a new ROS 2 bag (``path`` must not exist).

    Args:
        path: output folder.
        storage: "sqlite3" (``.db3``) or "mcap".
        typestore: defaults to :func:`ros_typestore` (vision_msgs registered).
        version: rosbag2 metadata version (8 = Humble, 9 = Jazzy; both read by Humble's rosbags).
    """

    def __init__(self, path: str | Path, storage: str = "mcap", *, typestore=None, version: int = 8) -> None:
        from rosbags.rosbag2 import Writer

        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"{self.path} exists; a bag is written to a new path")
        self.typestore = typestore or ros_typestore()
        self._writer = Writer(self.path, version=version, storage_plugin=_storage_plugin(storage))
        self._conns: dict[str, Any] = {}
        self.count = 0

    def __enter__(self) -> "BagWriter":
        self._writer.open()
        return self

    def __exit__(self, *exc) -> None:
        self._writer.close()

    def write(self, topic: str, msgtype: str, log_time_ns: int, msg: Any) -> None:
        """Serialise ``msg`` (a typestore dataclass of ``msgtype``) to CDR and write it."""
        self.write_raw(topic, msgtype, log_time_ns, self.typestore.serialize_cdr(msg, msgtype))

    def write_raw(self, topic: str, msgtype: str, log_time_ns: int, data: bytes, typestore=None) -> None:
        """Write already serialised CDR bytes (``typestore``: one that defines a type this writer's store lacks)."""
        conn = self._conns.get(topic)
        if conn is None:
            kwargs = {"typestore": typestore or self.typestore}
            conn = self._writer.add_connection(topic, msgtype, **kwargs)
            self._conns[topic] = conn
        elif conn.msgtype != msgtype:
            raise ValueError(f"topic {topic} already holds {conn.msgtype}, not {msgtype}")
        self._writer.write(conn, int(log_time_ns), data)
        self.count += 1


def header(typestore, stamp_ns: int, frame_id: str = ""):
    """A ``std_msgs/Header`` of the store for an int-ns stamp."""
    T = typestore.types
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec),
                                    frame_id=frame_id)

