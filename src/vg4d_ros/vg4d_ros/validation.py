"""One validator of the recogniser's configuration, for every program that runs it.

The rclpy node's configure step, ``vg4d recognize`` and ``vg4d replay`` all
call :func:`validate_recognizer_config`, so a setting is refused the same way
wherever it is given: one :class:`~vg4d_core.config.ConfigError` whose
single-line message names the field, the value and what is allowed, e.g.::

    window.points_per_frame=1000000 is out of range: allowed 0..65536 (0 = from the checkpoint)

Checks are cheap and need neither rclpy nor torch (the node calls this on
every parameter change). The dataclass readers (:mod:`vg4d_ros.config`)
already check types and unknown keys; this module checks ranges, the
relations between fields, topic names and score names.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vg4d_core.config import ConfigError

if TYPE_CHECKING:  # the config module calls this one: no import at run time
    from vg4d_ros.config import RecognizerConfig

# vg4d_core.runtime.fusion.SCORE_NAMES + FUSED (that module imports torch; a test keeps the two equal)
SCORE_NAMES: tuple[str, ...] = ("pc", "pc_text", "rgb", "rgb_text", "fused")
MAX_POINTS_PER_FRAME = 65536  # N beyond this only exhausts memory (a clip is T x N x 3 floats)
# no setting may make the recogniser hang or exhaust memory: the bounds below are far past any useful
# value and keep every per-frame / per-window cost and every buffer finite
MAX_INPUT_ELEMENTS = 7680 * 4320  # depth pixels / cloud points converted whole: an 8K image (33 M)
MAX_NUM_FRAMES = 512  # T: a clip is T x N x 3 floats (and T x rgb_size^2 x 3 bytes with colour)
MAX_WINDOW_VIEWS = 16  # clips scored per window: each costs one more clip of inference
MAX_BUFFER_FRAMES = 3600  # frames buffered per window: 2 min at 30 Hz (each holds a frame's foreground points)
MAX_WINDOW_S = 600.0  # a window of 10 min: an action is seconds long; int ns of it stays exact
MAX_PERIOD_S = 86400.0  # stamp jumps and gaps, timeouts, periods: a day (int(1e300 s * 1e9) would overflow)
MAX_QUEUE = 1000  # messages queued per input (sync, QoS history): each may be a 10 MB image
MAX_DOMAIN_ID = 232  # the largest DDS domain id whose ports fit the RTPS port mapping (ROS_DOMAIN_ID)

# one token of a ROS 2 name: alphanumerics and underscores, not starting with a digit
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _number(value: float) -> str:
    """A bound in words: whole numbers in full (33177600, not 3.31776e+07), others as ``:g``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Range:
    """The values a numeric setting may take.

    Attributes:
        lo, hi: inclusive bounds (None = unbounded on that side).
        lo_open: ``lo`` itself is excluded (``> lo``).
        integer: the value must be an int.
        note: what special values mean, e.g. "0 = from the checkpoint".
        also: one value allowed outside the bounds (e.g. -1 = "never").
    """

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    integer: bool = False
    note: str = ""
    also: float | None = None

    def describe(self) -> str:
        """The allowed values in words: ``0..65536``, ``> 0``, ``>= 1``."""
        if self.lo is not None and self.hi is not None:
            text = f"{_number(self.lo)}..{_number(self.hi)}"
        elif self.lo is not None:
            text = f"{'>' if self.lo_open else '>='} {_number(self.lo)}"
        else:
            text = f"<= {_number(self.hi)}"
        if self.also is not None:
            text += f" or {_number(self.also)}"
        return text + (f" ({self.note})" if self.note else "")

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a finite number of the right kind within the bounds."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.also is not None and value == self.also:
            return True
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return self.hi is None or value <= self.hi


def _count(lo: int = 1, note: str = "", hi: int | None = None) -> Range:
    return Range(lo, hi, integer=True, note=note)


# dotted field -> its range; every numeric setting of RecognizerConfig (relations are checked below)
RANGES: dict[str, Range] = {
    "sync.queue_size": _count(hi=MAX_QUEUE),
    "sync.slop_s": Range(0.0001, 60, note="seconds"),
    "foreground.min_depth": Range(0, note="metres; 0 disables the bound"),
    "foreground.max_depth": Range(0, note="metres; 0 disables the bound"),
    "window.window_s": Range(0, MAX_WINDOW_S, note="seconds; 0 = from the checkpoint"),
    "window.fallback_window_s": Range(0.001, MAX_WINDOW_S, note="seconds"),
    "window.num_frames": _count(0, "0 = from the checkpoint", MAX_NUM_FRAMES),
    "window.points_per_frame": _count(0, "0 = from the checkpoint", MAX_POINTS_PER_FRAME),
    "window.max_frames": _count(hi=MAX_BUFFER_FRAMES),
    "window.min_frames": _count(),
    "window.hop_frames": _count(),
    # 0.01 Hz: a window per 100 s of message time; 1000 Hz: one per ms (more than one per frame is moot)
    "window.rate_hz": Range(0.01, 1000, also=0, note="windows per second; 0 = a window every hop_frames"),
    "window.seed": _count(-1, "-1 = the checkpoint's evaluation seed"),
    "window.views": _count(0, "0 = the checkpoint's test views", MAX_WINDOW_VIEWS),
    "window.min_coverage": Range(0, 1, note="share of window_s the frames must span before the first window"),
    "events.alpha": Range(0, 1, lo_open=True, note="weight of the newest window; 1 = no smoothing"),
    "events.min_score": Range(0, 1, note="smoothed probability a label needs; below it: no segment"),
    "inference.top_k": _count(),
    "inference.threads": _count(0, "0 = torch's default", 1024),
    "inference.point_scale": Range(0, note="point units per metre; 0 = from the checkpoint"),
    "inference.point_quantum": Range(0, also=-1, note="0 = from the checkpoint, -1 = never round"),
    "output.diagnostics_period_s": Range(0.01, MAX_PERIOD_S, note="seconds; a shorter timer only spins"),
    "qos.sensor_depth": _count(hi=MAX_QUEUE),
    "qos.results_depth": _count(hi=MAX_QUEUE),
    "silence_timeout_s": Range(0.001, MAX_PERIOD_S, note="seconds"),
    "depth_unit_m": Range(0, 10.0, note="metres per raw depth unit; 0 = 16UC1 millimetres, 32FC1 metres"),
    "guards.min_points_per_frame": _count(0, "foreground points; 0 = any frame shows a person"),
    "guards.min_person_frames_fraction": Range(0, 1, note="share of a window's frames; 0 = no person check"),
    "guards.confidence_threshold": Range(0, 1, note="top-1 probability; 0 = off"),
    "guards.depth_only_after_frames": _count(),
    "guards.stamp_jump_back_s": Range(0.001, MAX_PERIOD_S, note="seconds"),
    "guards.stamp_gap_s": Range(0.001, MAX_PERIOD_S, note="seconds"),
    "guards.log_repeat_s": Range(0, note="seconds; 0 = log every repeat"),
    "people.voxel_m": Range(0.01, 1.0, note="metres"),
    "people.min_points": _count(1, "foreground points"),
    "people.min_height_m": Range(0, 3.0, note="metres"),
    "people.max_height_m": Range(0.1, 5.0, note="metres"),
    "people.max_width_m": Range(0.1, 10.0, note="metres"),
    "people.split_dip_m": Range(0.01, 10.0, note="metres; 10 = never split at the heads"),
    "people.split_ground_m": Range(0, 3.0, note="metres"),
    "people.attach_m": Range(0, 2.0, note="metres; 0 = pieces never join a person"),
    "people.gate_m": Range(0.01, 10.0, note="metres"),
    "people.birth_frames": _count(1, "frames", 100),
    "people.death_s": Range(0.01, MAX_PERIOD_S, note="seconds"),
    "people.max_speed_mps": Range(0, 20.0, note="metres per second"),
    "people.join_along_m": Range(0, 2.0, note="metres; 0 = pieces never join a tracked person"),
    "people.join_across_m": Range(0, 2.0, note="metres"),
    "motion.min_motion": Range(0, 1.0, note="share of the foreground points; 0 = off"),
    "motion.still_s": Range(0.01, MAX_PERIOD_S, note="seconds"),
    "motion.move_m": Range(0.001, 1.0, note="metres"),
    "motion.lag_s": Range(0.01, 10.0, note="seconds"),
    "people.pairs.max_distance_m": Range(0.1, 10.0, note="metres"),
    "people.pairs.release_m": Range(0.1, 10.0, note="metres; at least max_distance_m"),
    "input_limits.max_depth_pixels": _count(1024, "depth pixels converted whole; more are strided",
                                            MAX_INPUT_ELEMENTS),
    "input_limits.max_cloud_points": _count(1024, "cloud points converted whole; more are strided",
                                            MAX_INPUT_ELEMENTS),
}
TOPIC_FIELDS = ("topics.depth", "topics.camera_info", "topics.cloud", "topics.rgb", "topics.mask",
                "output.action", "output.label", "output.label_info", "output.events", "output.detections",
                "output.diagnostics", "output.foreground")
OPTIONAL_OUTPUTS = ("output.foreground", "output.events", "output.detections")  # "" = not published
DOMAIN_RANGE = _count(0, "the ROS_DOMAIN_ID", MAX_DOMAIN_ID)
FINITE = Range()  # any finite number (a crop corner's coordinate)


def _get(config: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        config = getattr(config, part)
    return config


def _refuse(field: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{field}={value!r} is out of range: allowed {allowed}")


def check_range(field: str, value: Any, allowed: Range) -> None:
    """Raise :class:`ConfigError` naming ``field``, ``value`` and ``allowed`` unless the value fits."""
    if not allowed.contains(value):
        raise _refuse(field, value, allowed.describe())


def topic_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid ROS 2 topic name, or None when it is.

    The rules of https://design.ros2.org/articles/topic_and_service_names.html:
    an optional leading ``/`` (absolute) or ``~/`` (the node's private
    namespace), then ``/``-separated tokens of ``[A-Za-z0-9_]`` not starting
    with a digit; no empty token (so no ``//`` and no trailing ``/``), no
    ``__``. Substitutions (``{node}``) are valid ROS but not expanded here,
    so they are refused.
    """
    if not isinstance(name, str) or not name:
        return "a topic name must not be empty"
    if "{" in name or "}" in name:
        return "substitutions ({...}) are not supported; write the name out"
    if "~" in name[1:] or (name.startswith("~") and not name.startswith("~/")):
        return "'~' may only start a name, followed by '/' (~/name)"
    body = name[2:] if name.startswith("~/") else name[1:] if name.startswith("/") else name
    if "__" in body:
        return "a name must not contain '__'"
    if name.endswith("/"):
        return "a name must not end with '/'"
    for token in body.split("/"):
        if not token:
            return "a name must not contain '//'"
        if not _TOKEN.fullmatch(token):
            return (f"token {token!r} must be letters, digits and '_' and must not start with a digit")
    return None


def check_topic(field: str, name: str) -> None:
    """Raise :class:`ConfigError` when ``name`` is not a valid ROS 2 topic name."""
    problem = topic_name_problem(name)
    if problem:
        raise ConfigError(f"{field}={name!r} is not a valid ROS 2 topic name: {problem}")


# one token of a TF frame id (REP-105 names: base_link, odom, camera_depth_optical_frame, robot1/base_link)
_FRAME_TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def frame_id_problem(name: str) -> str | None:
    """Why ``name`` is not a usable TF frame id, or None when it is.

    tf2 in ROS 2 refuses frame ids with a leading ``/`` (REP-105 names are
    relative: ``base_link``, ``camera_depth_optical_frame``); a prefixed id
    (``robot1/base_link``) is ``/``-separated tokens of letters, digits,
    ``_``, ``-`` and ``.``, none empty, with no spaces.
    """
    if not isinstance(name, str) or not name:
        return "a frame id must not be empty"
    if name.startswith("/"):
        return f"frame ids have no leading '/' (tf2 refuses it): write {name.lstrip('/')!r}"
    if name.endswith("/") or "//" in name:
        return "a frame id must not end with '/' or contain '//'"
    for token in name.split("/"):
        if not _FRAME_TOKEN.fullmatch(token):
            return f"token {token!r} must be letters, digits, '_', '-' and '.', starting with a letter, digit or '_'"
    return None


def check_frame_id(field: str, name: str) -> None:
    """Raise :class:`ConfigError` when ``name`` is not a usable TF frame id."""
    problem = frame_id_problem(name)
    if problem:
        raise ConfigError(f"{field}={name!r} is not a valid frame id: {problem}")


def check_domain(domain: Any) -> None:
    """Raise :class:`ConfigError` unless ``domain`` is a DDS domain id 0..232."""
    check_range("domain", domain, DOMAIN_RANGE)


def _check_scores(inference: Any) -> None:
    allowed = ", ".join(SCORE_NAMES)
    listed = inference.score_list()
    for name in listed or ():
        if name not in SCORE_NAMES:
            raise ConfigError(f"inference.scores={inference.scores!r} names an unknown score {name!r}: allowed "
                              f"'auto' or a comma-separated list of {allowed}")
    if listed is not None and not listed:
        raise ConfigError(f"inference.scores={inference.scores!r} names no score: allowed 'auto' or a "
                          f"comma-separated list of {allowed}")
    primary = inference.primary
    if primary != "auto" and primary not in SCORE_NAMES:
        raise ConfigError(f"inference.primary={primary!r} is not a score: allowed auto, {allowed}")
    if primary != "auto" and listed is not None and primary not in listed:
        raise ConfigError(f"inference.primary={primary!r} is not among inference.scores={inference.scores!r}: "
                          f"allowed auto or one of {', '.join(listed)}")


def _check_foreground(fg: Any) -> None:
    if fg.min_depth > 0 and fg.max_depth > 0 and not fg.min_depth < fg.max_depth:
        raise _refuse("foreground.min_depth", fg.min_depth,
                      f"below foreground.max_depth={fg.max_depth!r} (0 disables a bound)")
    for name in ("crop_min", "crop_max"):
        corner = getattr(fg, name)
        if len(corner) != 3 or not all(FINITE.contains(v) for v in corner):
            raise _refuse(f"foreground.{name}", corner, "[x, y, z] of finite numbers (metres)")
    for axis, lo, hi in zip("xyz", fg.crop_min, fg.crop_max):
        if not lo < hi:
            raise _refuse("foreground.crop_min", list(fg.crop_min),
                          f"below foreground.crop_max={list(fg.crop_max)!r} on every axis ({axis} is not)")
    # the floor-plane settings: ForegroundConfig's own checks (one place for those rules)
    fg.to_foreground(use_mask=False)


def validate_recognizer_config(config: RecognizerConfig, *, domain: int | None = None) -> None:
    """Check every setting of ``config`` (and the DDS ``domain`` when given).

    Raises:
        ConfigError: the first setting out of range, as one line naming the
            field, its value and the allowed values.
    """
    for field, allowed in RANGES.items():
        check_range(field, _get(config, field), allowed)
    w = config.window
    if w.min_frames > w.max_frames:
        raise _refuse("window.min_frames", w.min_frames, f"1..window.max_frames ({w.max_frames})")
    for field in TOPIC_FIELDS:
        name = _get(config, field)
        # an unused input is "" (ROS parameters cannot be None); outputs always have a name
        if name or (field.startswith("output.") and field not in OPTIONAL_OUTPUTS):
            check_topic(field, name)
    if config.input_frame:  # "" = use each frame in its own header.frame_id
        check_frame_id("input_frame", config.input_frame)
    _check_scores(config.inference)
    _check_foreground(config.foreground)
    pairs = config.people.pairs
    if pairs.release_m < pairs.max_distance_m:
        raise _refuse("people.pairs.release_m", pairs.release_m,
                      f">= people.pairs.max_distance_m ({pairs.max_distance_m}): a pair must not end where it forms")
    if domain is not None:
        check_domain(domain)
