"""ROS 2 message types as cyclonedds IdlStructs (final extensibility: XCDR1).

These give DDS topics the type names and type information rmw_cyclonedds
uses; the payload itself is encoded by rosbags' numpy codec (see
:mod:`vg4d_ros.transports.dds.raw`), and the tests assert that both encoders produce
the same bytes. Field order and types follow the ROS 2 Humble / Jazzy .msg
definitions (``byte`` -> octet, ``bool`` -> boolean, fixed arrays ->
``array``, unbounded arrays -> ``sequence``). Final is the IdlStruct
default; appendable types would switch to XCDR2, which ROS readers reject.
"""
# no `from __future__ import annotations`: cyclonedds resolves the annotations itself

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, byte, float32, float64, int32, sequence, uint8, uint16, uint32

from vg4d_ros.transports.dds.names import ros_type_name


@dataclass
class Time(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32 = 0
    nanosec: uint32 = 0


@dataclass
class Header(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@dataclass
class String(IdlStruct, typename="std_msgs::msg::dds_::String_"):
    data: str = ""


@dataclass
class Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    encoding: str = ""
    is_bigendian: uint8 = 0
    step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)


@dataclass
class CompressedImage(IdlStruct, typename="sensor_msgs::msg::dds_::CompressedImage_"):
    header: Header = field(default_factory=Header)
    format: str = ""
    data: sequence[uint8] = field(default_factory=list)


@dataclass
class RegionOfInterest(IdlStruct, typename="sensor_msgs::msg::dds_::RegionOfInterest_"):
    x_offset: uint32 = 0
    y_offset: uint32 = 0
    height: uint32 = 0
    width: uint32 = 0
    do_rectify: bool = False


@dataclass
class CameraInfo(IdlStruct, typename="sensor_msgs::msg::dds_::CameraInfo_"):
    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    distortion_model: str = ""
    d: sequence[float64] = field(default_factory=list)
    k: array[float64, 9] = field(default_factory=lambda: [0.0] * 9)
    r: array[float64, 9] = field(default_factory=lambda: [0.0] * 9)
    p: array[float64, 12] = field(default_factory=lambda: [0.0] * 12)
    binning_x: uint32 = 0
    binning_y: uint32 = 0
    roi: RegionOfInterest = field(default_factory=RegionOfInterest)


@dataclass
class PointField(IdlStruct, typename="sensor_msgs::msg::dds_::PointField_"):
    name: str = ""
    offset: uint32 = 0
    datatype: uint8 = 0
    count: uint32 = 0


@dataclass
class PointCloud2(IdlStruct, typename="sensor_msgs::msg::dds_::PointCloud2_"):
    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    fields: sequence[PointField] = field(default_factory=list)
    is_bigendian: bool = False
    point_step: uint32 = 0
    row_step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)
    is_dense: bool = False


@dataclass
class ObjectHypothesis(IdlStruct, typename="vision_msgs::msg::dds_::ObjectHypothesis_"):
    class_id: str = ""
    score: float64 = 0.0


@dataclass
class Classification(IdlStruct, typename="vision_msgs::msg::dds_::Classification_"):
    header: Header = field(default_factory=Header)
    results: sequence[ObjectHypothesis] = field(default_factory=list)


@dataclass
class VisionClass(IdlStruct, typename="vision_msgs::msg::dds_::VisionClass_"):
    class_id: uint16 = 0
    class_name: str = ""


@dataclass
class LabelInfo(IdlStruct, typename="vision_msgs::msg::dds_::LabelInfo_"):
    header: Header = field(default_factory=Header)
    class_map: sequence[VisionClass] = field(default_factory=list)
    threshold: float32 = 0.0


@dataclass
class ActionEvent(IdlStruct, typename="vg4d_msgs::msg::dds_::ActionEvent_"):
    header: Header = field(default_factory=Header)
    state: str = ""
    label: str = ""
    class_id: uint16 = 0
    score: float64 = 0.0
    start: Time = field(default_factory=Time)
    end: Time = field(default_factory=Time)
    windows: uint32 = 0
    ended_by: str = ""
    track_id: str = ""


@dataclass
class KeyValue(IdlStruct, typename="diagnostic_msgs::msg::dds_::KeyValue_"):
    key: str = ""
    value: str = ""


@dataclass
class DiagnosticStatus(IdlStruct, typename="diagnostic_msgs::msg::dds_::DiagnosticStatus_"):
    level: byte = 0
    name: str = ""
    message: str = ""
    hardware_id: str = ""
    values: sequence[KeyValue] = field(default_factory=list)


@dataclass
class DiagnosticArray(IdlStruct, typename="diagnostic_msgs::msg::dds_::DiagnosticArray_"):
    header: Header = field(default_factory=Header)
    status: sequence[DiagnosticStatus] = field(default_factory=list)


@dataclass
class Vector3(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@dataclass
class Quaternion(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0
    w: float64 = 1.0


@dataclass
class Point(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@dataclass
class Pose(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@dataclass
class PoseWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::PoseWithCovariance_"):
    pose: Pose = field(default_factory=Pose)
    covariance: array[float64, 36] = field(default_factory=lambda: [0.0] * 36)


@dataclass
class ObjectHypothesisWithPose(IdlStruct, typename="vision_msgs::msg::dds_::ObjectHypothesisWithPose_"):
    hypothesis: ObjectHypothesis = field(default_factory=ObjectHypothesis)
    pose: PoseWithCovariance = field(default_factory=PoseWithCovariance)


@dataclass
class BoundingBox3D(IdlStruct, typename="vision_msgs::msg::dds_::BoundingBox3D_"):
    center: Pose = field(default_factory=Pose)
    size: Vector3 = field(default_factory=Vector3)


@dataclass
class Detection3D(IdlStruct, typename="vision_msgs::msg::dds_::Detection3D_"):
    header: Header = field(default_factory=Header)
    results: sequence[ObjectHypothesisWithPose] = field(default_factory=list)
    bbox: BoundingBox3D = field(default_factory=BoundingBox3D)
    id: str = ""


@dataclass
class Detection3DArray(IdlStruct, typename="vision_msgs::msg::dds_::Detection3DArray_"):
    header: Header = field(default_factory=Header)
    detections: sequence[Detection3D] = field(default_factory=list)


@dataclass
class Transform(IdlStruct, typename="geometry_msgs::msg::dds_::Transform_"):
    translation: Vector3 = field(default_factory=Vector3)
    rotation: Quaternion = field(default_factory=Quaternion)


@dataclass
class TransformStamped(IdlStruct, typename="geometry_msgs::msg::dds_::TransformStamped_"):
    header: Header = field(default_factory=Header)
    child_frame_id: str = ""
    transform: Transform = field(default_factory=Transform)


@dataclass
class TFMessage(IdlStruct, typename="tf2_msgs::msg::dds_::TFMessage_"):
    transforms: sequence[TransformStamped] = field(default_factory=list)


# ROS type name (rosbags spelling) -> IdlStruct
IDL_TYPES: dict[str, type[IdlStruct]] = {
    "builtin_interfaces/msg/Time": Time,
    "std_msgs/msg/Header": Header,
    "std_msgs/msg/String": String,
    "sensor_msgs/msg/Image": Image,
    "sensor_msgs/msg/CompressedImage": CompressedImage,
    "sensor_msgs/msg/RegionOfInterest": RegionOfInterest,
    "sensor_msgs/msg/CameraInfo": CameraInfo,
    "sensor_msgs/msg/PointField": PointField,
    "sensor_msgs/msg/PointCloud2": PointCloud2,
    "vision_msgs/msg/ObjectHypothesis": ObjectHypothesis,
    "vision_msgs/msg/Classification": Classification,
    "vision_msgs/msg/VisionClass": VisionClass,
    "vision_msgs/msg/LabelInfo": LabelInfo,
    "vg4d_msgs/msg/ActionEvent": ActionEvent,
    "diagnostic_msgs/msg/KeyValue": KeyValue,
    "diagnostic_msgs/msg/DiagnosticStatus": DiagnosticStatus,
    "diagnostic_msgs/msg/DiagnosticArray": DiagnosticArray,
    "geometry_msgs/msg/Vector3": Vector3,
    "geometry_msgs/msg/Quaternion": Quaternion,
    "geometry_msgs/msg/Point": Point,
    "geometry_msgs/msg/Pose": Pose,
    "geometry_msgs/msg/PoseWithCovariance": PoseWithCovariance,
    "vision_msgs/msg/ObjectHypothesisWithPose": ObjectHypothesisWithPose,
    "vision_msgs/msg/BoundingBox3D": BoundingBox3D,
    "vision_msgs/msg/Detection3D": Detection3D,
    "vision_msgs/msg/Detection3DArray": Detection3DArray,
    "geometry_msgs/msg/Transform": Transform,
    "geometry_msgs/msg/TransformStamped": TransformStamped,
    "tf2_msgs/msg/TFMessage": TFMessage,
}


def idl_type(msgtype: str) -> type[IdlStruct]:
    """The IdlStruct of a ROS type name (``pkg/msg/Type``)."""
    name = ros_type_name(msgtype)
    try:
        return IDL_TYPES[name]
    except KeyError:
        raise ValueError(f"no DDS type defined for {name!r}; known: {sorted(IDL_TYPES)}") from None
