"""ROS 2 publishers and subscribers over cyclonedds, without rclpy.

Messages are rosbags message objects (``typestore.types[...]`` dataclasses,
numpy payloads); they travel as rosbags CDR bytes through
:mod:`vg4d_ros.transports.dds.raw`, so a 600 KB image costs one numpy copy each way
instead of the binding's per-element Python encoder.

A ROS 2 node on the same domain (``ROS_DOMAIN_ID``) with rmw_cyclonedds (or
any interoperable RMW) sees these topics as ordinary ROS topics.
"""
from __future__ import annotations

from typing import Any

from cyclonedds.core import ReadCondition, WaitSet, InstanceState, SampleState, ViewState
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from vg4d_ros.transports.dds.idl import idl_type
from vg4d_ros.transports.dds.names import dds_topic_name, qos_profile, ros_type_name
from vg4d_ros.transports.dds.raw import take_raw, write_raw
from vg4d_ros.typestore import ros_typestore


def _qos(qos):
    return qos_profile(qos) if isinstance(qos, str) else qos


class _Endpoint:
    def __init__(self, participant: DomainParticipant, topic: str, msgtype: str, typestore) -> None:
        self.msgtype = ros_type_name(msgtype)
        self.ros_topic = topic
        self.typestore = typestore if typestore is not None else ros_typestore()
        if self.msgtype not in self.typestore.types:
            raise ValueError(f"type store has no {self.msgtype!r}")
        self.participant = participant
        self.topic = Topic(participant, dds_topic_name(topic), idl_type(self.msgtype))


class DdsPublisher(_Endpoint):
    """Publish rosbags messages on a ROS 2 topic.

    Args:
        participant: a ``cyclonedds.domain.DomainParticipant`` (its domain id
            is the ROS_DOMAIN_ID).
        topic: ROS topic name, e.g. ``/vg4d/action``.
        msgtype: ROS type name, e.g. ``vision_msgs/msg/Classification``.
        qos: a cyclonedds ``Qos`` or a profile name ("sensor", "results", "latched").
        typestore: rosbags type store (default :func:`ros_typestore`).
    """

    def __init__(self, participant: DomainParticipant, topic: str, msgtype: str, qos: Any = "results",
                 typestore=None) -> None:
        super().__init__(participant, topic, msgtype, typestore)
        self.writer = DataWriter(participant, self.topic, _qos(qos))

    def serialize(self, msg: Any) -> bytes:
        """The CDR bytes (encapsulation header + XCDR1 body) of a message of this topic's type."""
        return self.typestore.serialize_cdr(msg, self.msgtype).tobytes()

    def publish(self, msg: Any, timestamp_ns: int | None = None) -> None:
        """Publish one message (``timestamp_ns``: DDS source timestamp, default now)."""
        write_raw(self.writer, self.serialize(msg), timestamp_ns)

    def publish_raw(self, payload: bytes, timestamp_ns: int | None = None) -> None:
        """Publish already serialised CDR bytes (e.g. straight from a bag)."""
        write_raw(self.writer, payload, timestamp_ns)

    def matched(self) -> int:
        """Number of matched subscriptions."""
        return len(self.writer.get_matched_subscriptions())


class DdsSubscriber(_Endpoint):
    """Receive rosbags messages from a ROS 2 topic (poll with :meth:`take`, block with :meth:`wait`).

    Args: as :class:`DdsPublisher`; the default QoS is the sensor profile
    (best-effort matches both best-effort and reliable publishers).
    """

    def __init__(self, participant: DomainParticipant, topic: str, msgtype: str, qos: Any = "sensor",
                 typestore=None) -> None:
        super().__init__(participant, topic, msgtype, typestore)
        self.reader = DataReader(participant, self.topic, _qos(qos))
        self._condition = ReadCondition(self.reader, SampleState.Any | ViewState.Any | InstanceState.Alive)
        self._waitset = WaitSet(participant)
        self._waitset.attach(self._condition)

    def take_raw(self, max_samples: int = 32) -> list[bytes]:
        """Up to ``max_samples`` serialised samples, oldest first, removed from the reader."""
        return [data for data, _ in take_raw(self.reader, max_samples)]

    def take(self, max_samples: int = 32) -> list[Any]:
        """Up to ``max_samples`` messages (rosbags objects; payloads are numpy views of the sample)."""
        return [self.typestore.deserialize_cdr(data, self.msgtype) for data in self.take_raw(max_samples)]

    def wait(self, timeout_s: float) -> bool:
        """Block until a sample is available or ``timeout_s`` passed; True if one is."""
        return self._waitset.wait(duration(seconds=timeout_s)) > 0


def participant(domain_id: int) -> DomainParticipant:
    """A DDS participant on ``domain_id`` (0..232, the ROS_DOMAIN_ID)."""
    if isinstance(domain_id, bool) or not isinstance(domain_id, int) or not 0 <= domain_id <= 232:
        raise ValueError(f"domain_id must be an int in [0, 232], got {domain_id!r}")
    return DomainParticipant(domain_id)
