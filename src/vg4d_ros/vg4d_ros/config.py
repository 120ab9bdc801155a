"""The recogniser's configuration: one dataclass, one YAML file, two readers.

``config/recognize.yaml`` is a ROS 2 parameters file, keyed ``/**`` so it
applies to the node under any name and namespace (``-r __node:=recog2``,
``-r __ns:=/robot1``)::

    /**:
      ros__parameters:
        input: depth
        topics: {depth: ..., camera_info: ..., ...}
        ...

The rclpy node reads it as its parameters file (nested keys become the
dotted parameter names ``topics.depth``, ``window.hop_frames`` ...), and
``vg4d recognize`` reads the same file with :func:`load_recognizer_config`
(strict: an unknown key is an error naming it). A plain file holding only
the ``ros__parameters`` mapping is accepted too.

Every value is representable as a ROS parameter (no ``None``, no empty
lists): "not set" is ``""`` for topics and ``0`` for values taken from the
checkpoint.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from vg4d_core.config import ConfigError, apply_overrides, from_dict, read_yaml, to_dict

from vg4d_ros.pipeline.foreground import ForegroundConfig
from vg4d_ros.pipeline.window import WindowConfig
from vg4d_ros.validation import validate_recognizer_config

NODE_NAME = "recognizer"


@dataclass
class TopicsConfig:
    """Input topics ("" = not used).

    Relative names, as ROS nodes subscribe: resolved in the node's namespace
    (``camera/depth/image_raw`` is ``/camera/depth/image_raw`` at the root,
    ``/robot1/camera/depth/image_raw`` under ``__ns:=/robot1``) and remappable
    (``-r camera/depth/image_raw:=/cam/depth``).
    """

    # sensor_msgs/Image 16UC1 (mm) or 32FC1 (m); input "depth". Image topics named as image_transport's
    # compressed sub-topics (.../compressedDepth, .../compressed) carry sensor_msgs/CompressedImage (decoded)
    depth: str = "camera/depth/image_raw"
    camera_info: str = "camera/depth/camera_info"  # sensor_msgs/CameraInfo of the depth camera
    cloud: str = "camera/depth/points"  # sensor_msgs/PointCloud2; input "cloud"
    rgb: str = ""  # optional sensor_msgs/Image colour stream
    mask: str = ""  # optional person mask aligned with the depth image (depth input only)


@dataclass
class SyncConfig:
    """Approximate-time pairing of depth/cloud with rgb and mask (message_filters semantics)."""

    queue_size: int = 10
    slop_s: float = 0.05

    def __post_init__(self) -> None:
        if self.queue_size < 1:
            raise ConfigError(f"sync.queue_size must be >= 1, got {self.queue_size}")
        if not self.slop_s > 0:
            raise ConfigError(f"sync.slop_s must be > 0 seconds, got {self.slop_s}")


@dataclass
class ForegroundSettings:
    """Which points are the actor (metres, sensor optical frame); 0 disables a depth bound.

    ``from_checkpoint``: a checkpoint trained from bags records the foreground its training cache was
    converted with; by default that one is used (the live input then matches the training input) and
    where these settings differ the recogniser says so at configure time. false: these settings are
    used, with a warning naming each difference.
    """

    # ROS parameters cannot be None or tuples: 0 disables a depth bound, the box has its own switch, and
    # every other default is ForegroundConfig's own (one place for each value)
    min_depth: float = ForegroundConfig.min_depth
    max_depth: float = ForegroundConfig.max_depth
    crop_enabled: bool = False
    crop_min: list[float] = field(default_factory=lambda: [-1.5, -1.5, 0.0])
    crop_max: list[float] = field(default_factory=lambda: [1.5, 1.5, 5.0])
    # dominant floor-plane removal (vg4d_ros.pipeline.foreground.fit_floor_plane); off: NTU-style masked input has no floor
    remove_floor: bool = ForegroundConfig.remove_floor
    floor_distance_m: float = ForegroundConfig.floor_distance_m
    floor_max_tilt_deg: float = ForegroundConfig.floor_max_tilt_deg
    floor_min_inliers: float = ForegroundConfig.floor_min_inliers
    floor_iterations: int = ForegroundConfig.floor_iterations
    floor_sample: int = ForegroundConfig.floor_sample
    floor_up: list[float] = field(default_factory=lambda: list(ForegroundConfig.floor_up))
    from_checkpoint: bool = True

    def conversion(self) -> dict:
        """The settings that shape the points (everything but ``from_checkpoint``), as an
        :class:`~vg4d_core.data.input_transform.InputTransform` records them."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "from_checkpoint"}

    def to_foreground(self, use_mask: bool) -> ForegroundConfig:
        try:
            return ForegroundConfig(
                min_depth=self.min_depth or None, max_depth=self.max_depth or None,
                crop_min=tuple(self.crop_min) if self.crop_enabled else None,
                crop_max=tuple(self.crop_max) if self.crop_enabled else None, use_mask=use_mask,
                remove_floor=self.remove_floor, floor_distance_m=self.floor_distance_m,
                floor_max_tilt_deg=self.floor_max_tilt_deg, floor_min_inliers=self.floor_min_inliers,
                floor_iterations=self.floor_iterations, floor_sample=self.floor_sample,
                floor_up=tuple(self.floor_up))
        except ValueError as exc:
            raise ConfigError(f"foreground: {exc}") from None


@dataclass
class WindowSettings:
    """Sliding windows (:class:`vg4d_ros.pipeline.window.WindowConfig` once resolved against the checkpoint's
    input transform); 0 means "from the checkpoint" where noted, other defaults are WindowConfig's own."""

    window_s: float = 0.0  # 0: the typical training-video duration the checkpoint records, else fallback_window_s
    fallback_window_s: float = WindowConfig.window_s
    num_frames: int = 0  # T; 0: the checkpoint's input transform
    points_per_frame: int = 0  # N; 0: the checkpoint's input transform
    max_frames: int = WindowConfig.max_frames
    min_frames: int = WindowConfig.min_frames
    hop_frames: int = WindowConfig.hop_frames
    rate_hz: float = WindowConfig.rate_hz
    seed: int = -1  # -1: the checkpoint's input transform (the evaluation seed)
    views: int = 3  # clips scored per window, averaged (0: the checkpoint's test views); 3: measured, MSR bags
    min_coverage: float = 0.75  # no window before the frames span this share of window_s


@dataclass
class InputLimits:
    """Input larger than this is reduced before conversion (:mod:`vg4d_ros.pipeline.convert`, :func:`vg4d_ros.pipeline.decode.raster_stride`).

    The model takes only ``points_per_frame`` points per frame, drawn uniformly from the foreground, so
    keeping every s-th pixel (or point) in both raster axes leaves what it sees the same in expectation while
    the per-message cost falls by ~s^2. Sizes at or below these limits are converted whole, bit-identical.
    """

    # depth pixels (H x W) converted whole: 1280 x 720, the largest depth mode of common depth cameras
    # (RealSense D4xx), so 512 x 424 (Kinect v2, NTU's training frames), 640 x 480 and 848 x 480 are never
    # touched; a 3840 x 2160 image is strided by 3 (1280 x 720)
    max_depth_pixels: int = 921_600
    # PointCloud2 points converted whole: VGA-class organised clouds (640 x 480, 848 x 480 = 407k) pass; a
    # 10 MB cloud of 12-byte points (~870k) is strided by 2 in both axes (by ceil(P / max) if unorganised)
    max_cloud_points: int = 500_000


@dataclass
class InferenceConfig:
    """The model and how it runs."""

    checkpoint: str = ""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: Literal["auto", "bf16", "off"] = "auto"
    scores: str = "auto"  # comma-separated score names (pc, pc_text, rgb, rgb_text, fused) or "auto"
    primary: str = "auto"  # the score that ranks top-k: "auto" = fused if present, else the first
    top_k: int = 5
    threads: int = 0  # torch intra-op threads; 0 leaves torch's default
    point_scale: float = 0.0  # point units per metre; 0: from the checkpoint's data convention (metres)
    # round points to this grid (point units) as the training cache stores them (int16 x quantum);
    # 0: from the checkpoint (1 mm for the cache-backed datasets ntu and bag, none otherwise); -1: never
    point_quantum: float = 0.0

    def score_list(self) -> list[str] | None:
        if self.scores.strip() in ("", "auto"):
            return None
        return [s.strip() for s in self.scores.split(",") if s.strip()]


@dataclass
class GuardSettings:
    """What the recogniser refuses to label, and how it reports faulty input (see :mod:`vg4d_ros.pipeline.recognizer`).

    Defaults are chosen so that a healthy camera watching a person never trips them.
    """

    # a person at 0.5-5 m covers hundreds of depth pixels even on a 160 x 120 sensor (thousands on a
    # Kinect); fewer foreground points than this are flying pixels, an edge or an empty room
    min_points_per_frame: int = 64
    # share of a window's frames that must show a person (>= min_points_per_frame): a person walking in
    # or out still gets labelled (empty frames are sampled from their neighbours, as in training), a
    # window that mostly shows nobody does not; 0 disables the person check
    min_person_frames_fraction: float = 0.5
    # top-1 probability of the primary score below which the label is withheld; 0 = off: a softmax
    # probability's scale depends on the class count and the score (60 NTU classes vs 4), so a useful
    # value is read off a checkpoint's validation scores, not guessed here
    confidence_threshold: float = 0.0
    # depth frames in a row without a colour partner before labelling goes on from depth alone
    # (30 = 1 s at 30 Hz: far beyond colour latency or a lower colour rate)
    depth_only_after_frames: int = 30
    # input stamps jumping back by at least this (bag loop, sim-time reset) restart the window buffer
    stamp_jump_back_s: float = 1.0
    # ... and so does a forward gap longer than max(this, the window length) (camera paused, time skip)
    stamp_gap_s: float = 5.0
    # a repeated warning (malformed message, stamp jump, no colour pair) is logged first at once, then at
    # most once per this many seconds per topic, with the count since the last line
    log_repeat_s: float = 10.0


@dataclass
class MotionConfig:
    """The "still" rule (:mod:`vg4d_ros.pipeline.motion`): a window whose person barely moves is not labelled.

    Off by default: some classes are nearly still (reading, typing); on when every class of the model is
    a motion (MSR-Action3D, gestures), it ends an action segment when the person stops (``ended_by: still``)
    instead of labelling the pause as some action.
    """

    # share of the foreground points that moved (median over the window's last still_s) below which a
    # window is not labelled; 0 = off
    min_motion: float = 0.0
    still_s: float = 0.5
    # with min_motion > 0: a window starts after the newest pause (still_s of frames below min_motion or
    # without a person), so the stillness or empty room before an action does not dilute its first windows
    trim: bool = True
    move_m: float = 0.06  # a point moved when farther than this from every point lag_s earlier (metres)
    lag_s: float = 0.2


@dataclass
class OutputConfig:
    """Output topics ("~/x" = in the node's namespace) and the diagnostics period."""

    action: str = "~/action"  # vision_msgs/Classification, top-k
    label: str = "~/label"  # std_msgs/String, top-1 class name
    label_info: str = "~/label_info"  # vision_msgs/LabelInfo, once, transient-local
    # vg4d_msgs/ActionEvent: an action segment started / ended (continuous recognition); "" = off
    events: str = "~/events"
    # vision_msgs/Detection3DArray per labelled tick with people.enabled: a box, top-k and track id per person
    detections: str = "~/detections"
    diagnostics: str = "/diagnostics"  # diagnostic_msgs/DiagnosticArray
    diagnostics_period_s: float = 1.0
    # sensor_msgs/PointCloud2 of what the model saw (the newest frame of each labelled window), e.g.
    # "~/foreground" to check the foreground selection in RViz; "" = off (it costs a message per label)
    foreground: str = ""


@dataclass
class EventsConfig:
    """Continuous recognition: smoothing of window scores and action events
    (:mod:`vg4d_ros.pipeline.events`)."""

    alpha: float = 0.6  # weight of the newest window in the smoothed scores (1 = no smoothing)
    min_score: float = 0.0  # smoothed probability a label needs to open / keep a segment ("none" below)


@dataclass
class PairsConfig:
    """Two-person actions (:mod:`vg4d_ros.pipeline.person_windows`): two tracks standing close are also
    scored together, the union of their points per frame, by a model trained on such clouds (NTU RGB+D's
    mutual actions are recorded as one masked depth of both people). Each person keeps their own window
    and label; the pair gets one more (track id ``p1+p2``).

    Distances are between the two people's centroids across the floor (the part along ``people.up``
    left out), metres.
    """

    enabled: bool = False
    # the pair model; "" = inference.checkpoint (one model trained on single and two-person classes, such
    # as NTU RGB+D 120). Another checkpoint must convert frames the same way (frames, points, units)
    checkpoint: str = ""
    max_distance_m: float = 1.2  # two people this close become a pair (arm's reach: ~0.7 m each)
    release_m: float = 1.6  # ... and stay one until farther apart than this (no flicker at the edge)
    # comma-separated class names the pair's label is chosen from (e.g. the mutual actions of an NTU-120
    # model: a pair of people who do not interact is otherwise given their nearest mutual look-alike);
    # "ntu_mutual" = NTU RGB+D's two-person actions (A50-A60, A106-A120) among them; "" = every class of the
    # pair model
    classes: str = ""

    def class_list(self) -> list[str]:
        return [c.strip() for c in self.classes.split(",") if c.strip()]


@dataclass
class PeopleConfig:
    """Several people at once (:mod:`vg4d_ros.pipeline.person_windows`): the foreground is split into
    person candidates (:mod:`vg4d_ros.pipeline.people`), tracked (:mod:`vg4d_ros.pipeline.tracks`), and
    each confirmed track gets its own window, label and events. Off: one cloud, one label (as before).

    Lengths in metres, times in seconds of message time; ``up`` in the input frame (optical: -y).
    """

    enabled: bool = False
    # "clusters": connected components of the foreground on a voxel grid; "instance_mask": the mask image
    # (topics.mask) holds instance ids (0 = background), one person per id
    source: Literal["clusters", "instance_mask"] = "clusters"
    voxel_m: float = 0.10  # people closer than about this merge into one component (then split, below)
    min_points: int = 64  # fewer foreground points is not a person
    min_height_m: float = 0.5  # extent along up: a sitting person still counts, a table top does not
    max_height_m: float = 2.3
    # a wider component holds several people and is split (people already tracked apart are cut between
    # their predictions at any width); 2.0 keeps a person with arms spread whole (arm span ~ height):
    # measured on MSR-Action3D composites (offline/msr_composite.py), 1.2 cut "two hand wave" in two
    max_width_m: float = 2.0
    # people closer than voxel_m (shoulder to shoulder) are parted at the valley between their heads when it
    # is this deep and both sides stand (reach the floor, have a trunk); 10: never
    split_dip_m: float = 0.15
    split_ground_m: float = 0.3
    # a piece that is no person (a hand held out, 0.15-0.3 m from the body in depth) within this of a person joins
    # them; 0 = never
    attach_m: float = 0.35
    up: list[float] = field(default_factory=lambda: [0.0, -1.0, 0.0])
    gate_m: float = 0.6  # a track takes a candidate within this of its prediction (widens while unseen)
    birth_frames: int = 3  # frames in a row before a candidate becomes a track
    death_s: float = 1.5  # a track unseen this long ends (its open action segment ends: track_lost)
    max_speed_mps: float = 2.5
    # a piece of a tracked person that the depth cut off (a torso bent towards the camera, a leg kicked
    # forward) joins them: centroids this close along the line of sight (0 = never) and across it
    join_along_m: float = 0.5
    join_across_m: float = 0.3
    # who ~/action and ~/label describe: the nearest person, the one with most points, or track `select_id`
    select: Literal["nearest", "largest", "id"] = "nearest"
    select_id: str = ""
    pairs: PairsConfig = field(default_factory=PairsConfig)


@dataclass
class QosSettings:
    """History depths (sensor: best-effort keep-last; results: reliable keep-last)."""

    sensor_depth: int = 5
    results_depth: int = 10


@dataclass
class RecognizerConfig:
    """Everything the recogniser reads (see ``config/recognize.yaml``)."""

    input: Literal["depth", "cloud"] = "depth"
    # the frame the points must be expressed in: the camera optical frame the model was trained in (x right,
    # y down, z forward), where the foreground settings apply. "" = use each frame in its own header.frame_id;
    # set, a cloud (or depth image) in another frame is moved into it with the latest /tf + /tf_static
    # transform (vg4d_ros.pipeline.transforms) before foreground selection, and results carry this frame_id
    input_frame: str = ""
    # metres per raw unit of the depth image, whatever its encoding; 0 = the ROS convention (REP 118): 16UC1
    # millimetres, 32FC1 metres. For drivers that publish otherwise (e.g. 16UC1 in 0.1 mm or 0.125 mm steps)
    depth_unit_m: float = 0.0
    topics: TopicsConfig = field(default_factory=TopicsConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    foreground: ForegroundSettings = field(default_factory=ForegroundSettings)
    window: WindowSettings = field(default_factory=WindowSettings)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    qos: QosSettings = field(default_factory=QosSettings)
    guards: GuardSettings = field(default_factory=GuardSettings)
    motion: MotionConfig = field(default_factory=MotionConfig)
    input_limits: InputLimits = field(default_factory=InputLimits)
    events: EventsConfig = field(default_factory=EventsConfig)
    people: PeopleConfig = field(default_factory=PeopleConfig)
    silence_timeout_s: float = 3.0

    def __post_init__(self) -> None:
        if self.input == "depth" and (not self.topics.depth or not self.topics.camera_info):
            raise ConfigError("input 'depth' needs topics.depth and topics.camera_info")
        if self.input == "cloud" and not self.topics.cloud:
            raise ConfigError("input 'cloud' needs topics.cloud")
        if self.input == "cloud" and self.topics.mask:
            raise ConfigError("topics.mask needs input 'depth' (a mask is aligned with the depth image's pixels)")
        if not self.silence_timeout_s > 0:
            raise ConfigError(f"silence_timeout_s must be > 0, got {self.silence_timeout_s}")
        if self.people.enabled and self.people.source == "instance_mask" and not self.topics.mask:
            raise ConfigError("people.source 'instance_mask' needs topics.mask (an instance-id image aligned with "
                              "the depth image)")
        if self.people.select == "id" and not self.people.select_id:
            raise ConfigError("people.select 'id' needs people.select_id (a track id such as p1)")

    def input_topics(self) -> dict[str, str]:
        """role -> topic of every input this configuration subscribes to."""
        if self.input == "depth":
            roles = {"depth": self.topics.depth, "camera_info": self.topics.camera_info}
        else:
            roles = {"cloud": self.topics.cloud}
        for role in ("rgb", "mask"):
            if getattr(self.topics, role):
                roles[role] = getattr(self.topics, role)
        return roles


# parameters every rclpy node has (rclpy declares them itself); a params file may set them for the
# node, and the rclpy-free readers accept and ignore them
ROS_NODE_PARAMETERS = ("use_sim_time",)


def unwrap_params(data: Mapping[str, Any], node_name: str = NODE_NAME) -> dict[str, Any]:
    """The ``ros__parameters`` mapping of a ROS params file (or the mapping itself if plain).

    The section is found under ``/**`` (what the shipped file uses: it applies
    to the node under any name and namespace), the node's name, or
    ``/<name>``. Parameters rclpy gives every node (``use_sim_time``) are
    dropped: they are not the recogniser's.
    """
    data = dict(data)
    params = None
    for key in ("/**", node_name, f"/{node_name}"):
        if isinstance(data.get(key), Mapping) and "ros__parameters" in data[key]:
            params = dict(data[key]["ros__parameters"] or {})
            break
    if params is None:
        params = dict(data["ros__parameters"] or {}) if "ros__parameters" in data else data
    return {k: v for k, v in params.items() if k not in ROS_NODE_PARAMETERS}


def load_recognizer_config(path: str | Path | None = None, overrides: Sequence[str] = (),
                           node_name: str = NODE_NAME, *, domain: int | None = None) -> RecognizerConfig:
    """Read ``path`` (ROS params layout or plain), apply ``a.b=value`` overrides, validate strictly.

    Every range is checked by :func:`~vg4d_ros.validation.validate_recognizer_config` (with the DDS
    ``domain`` when given): a bad setting is one :class:`ConfigError` line, whichever program reads it.
    """
    data = unwrap_params(read_yaml(path), node_name) if path is not None else {}
    data = apply_overrides(data, overrides)
    config = from_dict(RecognizerConfig, data, where=str(path) if path is not None else "recognizer")
    validate_recognizer_config(config, domain=domain)
    return config


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> ``{"a.b": value}`` (the ROS parameter names of a nested params file)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": value}`` -> nested mapping."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        node = out
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def parameter_defaults() -> dict[str, Any]:
    """Every ROS parameter of the node with its default (dotted names)."""
    return flatten(to_dict(RecognizerConfig()))
