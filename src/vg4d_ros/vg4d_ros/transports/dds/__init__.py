"""The ROS 2 wire protocol over cyclonedds without rclpy.

* :mod:`.names` - topic / type name mangling and the QoS profiles;
* :mod:`.idl` - ROS message types as final IdlStructs (type registration);
* :mod:`.raw` - serialised samples through the binding's C layer (pinned);
* :mod:`.endpoint` - :class:`DdsPublisher` / :class:`DdsSubscriber` of rosbags messages.
"""
from vg4d_ros.transports.dds.endpoint import DdsPublisher, DdsSubscriber, participant
from vg4d_ros.transports.dds.names import dds_topic_name, dds_type_name, latched_qos, qos_profile, results_qos, sensor_qos

__all__ = ["DdsPublisher", "DdsSubscriber", "participant", "dds_topic_name", "dds_type_name", "sensor_qos",
           "results_qos", "latched_qos", "qos_profile"]
