"""The one validator of the recogniser's settings, and the one-line exit-2 errors of the programs using it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from vg4d_core.config import ConfigError
from vg4d_ros.config import RecognizerConfig, load_recognizer_config
from vg4d_ros.validation import RANGES, SCORE_NAMES, topic_name_problem, validate_recognizer_config

# (field named in the error, overrides that pass, overrides that fail): every rule, both sides of it
RULES = [
    ("input_limits.max_depth_pixels", ["input_limits.max_depth_pixels=1024"], ["input_limits.max_depth_pixels=0"]),
    ("input_limits.max_cloud_points", ["input_limits.max_cloud_points=33177600"],
     ["input_limits.max_cloud_points=33177601"]),
    ("depth_unit_m", ["depth_unit_m=0.0001"], ["depth_unit_m=-0.001"]),
    ("depth_unit_m", ["depth_unit_m=0"], ["depth_unit_m=.nan"]),
    ("window.window_s", ["window.window_s=0"], ["window.window_s=-1"]),
    ("window.window_s", ["window.window_s=2.5"], ["window.window_s=.inf"]),
    ("window.fallback_window_s", ["window.fallback_window_s=0.5"], ["window.fallback_window_s=0"]),
    ("window.num_frames", ["window.num_frames=0"], ["window.num_frames=-2"]),
    ("window.points_per_frame", ["window.points_per_frame=65536"], ["window.points_per_frame=1000000"]),
    ("window.points_per_frame", ["window.points_per_frame=0"], ["window.points_per_frame=-1"]),
    ("window.min_frames", ["window.min_frames=1"], ["window.min_frames=0"]),
    ("window.min_frames", ["window.min_frames=120", "window.max_frames=120"],
     ["window.min_frames=121", "window.max_frames=120"]),
    ("window.max_frames", ["window.max_frames=1", "window.min_frames=1"], ["window.max_frames=0"]),
    ("window.hop_frames", ["window.hop_frames=1"], ["window.hop_frames=0"]),
    ("window.rate_hz", ["window.rate_hz=0"], ["window.rate_hz=-5"]),
    ("window.seed", ["window.seed=-1"], ["window.seed=-2"]),
    ("window.views", ["window.views=0"], ["window.views=17"]),
    ("window.min_coverage", ["window.min_coverage=1"], ["window.min_coverage=1.5"]),
    ("events.alpha", ["events.alpha=1"], ["events.alpha=0"]),
    ("events.min_score", ["events.min_score=0"], ["events.min_score=-0.1"]),
    ("inference.threads", ["inference.threads=0"], ["inference.threads=-1"]),
    ("inference.top_k", ["inference.top_k=1"], ["inference.top_k=0"]),
    ("inference.point_scale", ["inference.point_scale=1000"], ["inference.point_scale=-1"]),
    ("inference.point_quantum", ["inference.point_quantum=-1"], ["inference.point_quantum=-0.5"]),
    ("inference.scores", ["inference.scores=pc,pc_text,fused"], ["inference.scores=pc,foo"]),
    ("inference.scores", ["inference.scores=auto"], ["inference.scores=' , '"]),
    ("inference.primary", ["inference.primary=rgb_text"], ["inference.primary=best"]),
    ("inference.primary", ["inference.scores=pc,rgb", "inference.primary=rgb"],
     ["inference.scores=pc,rgb", "inference.primary=fused"]),
    ("qos.sensor_depth", ["qos.sensor_depth=1"], ["qos.sensor_depth=0"]),
    ("qos.results_depth", ["qos.results_depth=1"], ["qos.results_depth=0"]),
    ("sync.queue_size", ["sync.queue_size=1"], ["sync.queue_size=0"]),
    ("sync.slop_s", ["sync.slop_s=0.01"], ["sync.slop_s=0"]),
    ("foreground.min_depth", ["foreground.min_depth=0.5", "foreground.max_depth=1"],
     ["foreground.min_depth=5", "foreground.max_depth=1"]),
    ("foreground.min_depth", ["foreground.min_depth=5", "foreground.max_depth=0"], ["foreground.min_depth=-1"]),
    ("foreground.max_depth", ["foreground.max_depth=0"], ["foreground.max_depth=.nan"]),
    ("foreground.crop_min", ["foreground.crop_min=[-1, -1, 0]"], ["foreground.crop_min=[0, -1, 9]"]),
    ("foreground.crop_min", ["foreground.crop_enabled=true"], ["foreground.crop_min=[0, 0]"]),
    ("foreground.crop_max", ["foreground.crop_max=[2, 2, 6]"], ["foreground.crop_max=[2, .nan, 6]"]),
    ("floor_sample", ["foreground.floor_sample=3"], ["foreground.floor_sample=2"]),
    ("output.diagnostics_period_s", ["output.diagnostics_period_s=0.1"], ["output.diagnostics_period_s=0"]),
    ("silence_timeout_s", ["silence_timeout_s=0.5"], ["silence_timeout_s=0"]),
    ("guards.min_person_frames_fraction", ["guards.min_person_frames_fraction=1"],
     ["guards.min_person_frames_fraction=1.5"]),
    ("guards.confidence_threshold", ["guards.confidence_threshold=0"], ["guards.confidence_threshold=-0.1"]),
    ("guards.depth_only_after_frames", ["guards.depth_only_after_frames=1"], ["guards.depth_only_after_frames=0"]),
    ("guards.stamp_jump_back_s", ["guards.stamp_jump_back_s=0.1"], ["guards.stamp_jump_back_s=0"]),
    ("guards.log_repeat_s", ["guards.log_repeat_s=0"], ["guards.log_repeat_s=-1"]),
    ("people.voxel_m", ["people.voxel_m=0.05"], ["people.voxel_m=0"]),
    ("people.min_points", ["people.min_points=1"], ["people.min_points=0"]),
    ("people.min_height_m", ["people.min_height_m=0"], ["people.min_height_m=-0.5"]),
    ("people.max_height_m", ["people.max_height_m=2.0"], ["people.max_height_m=0"]),
    ("people.max_width_m", ["people.max_width_m=2.0"], ["people.max_width_m=0.01"]),
    ("people.split_dip_m", ["people.split_dip_m=10"], ["people.split_dip_m=0"]),
    ("people.split_ground_m", ["people.split_ground_m=0"], ["people.split_ground_m=-0.1"]),
    ("people.attach_m", ["people.attach_m=0"], ["people.attach_m=-0.1"]),
    ("people.gate_m", ["people.gate_m=1.0"], ["people.gate_m=0"]),
    ("people.birth_frames", ["people.birth_frames=1"], ["people.birth_frames=0"]),
    ("people.death_s", ["people.death_s=0.5"], ["people.death_s=0"]),
    ("people.max_speed_mps", ["people.max_speed_mps=0"], ["people.max_speed_mps=-1"]),
    ("people.join_along_m", ["people.join_along_m=0"], ["people.join_along_m=-0.1"]),
    ("people.join_across_m", ["people.join_across_m=0.2"], ["people.join_across_m=3"]),
    ("motion.min_motion", ["motion.min_motion=0.05"], ["motion.min_motion=-0.1"]),
    ("motion.still_s", ["motion.still_s=0.5"], ["motion.still_s=0"]),
    ("motion.move_m", ["motion.move_m=0.06"], ["motion.move_m=0"]),
    ("motion.lag_s", ["motion.lag_s=0.2"], ["motion.lag_s=0"]),
    ("people.pairs.max_distance_m", ["people.pairs.max_distance_m=1.0"], ["people.pairs.max_distance_m=0"]),
    ("people.pairs.release_m", ["people.pairs.release_m=2.0"], ["people.pairs.release_m=20"]),
    ("people.pairs.release_m", ["people.pairs.release_m=1.2"], ["people.pairs.release_m=1.0"]),  # < max_distance_m
    ("topics.depth", ["topics.depth=/cam/depth_2/image"], ["topics.depth=/cam//depth"]),
    ("topics.depth", ["topics.depth=cam/depth"], ["topics.depth=/cam/2depth"]),
    ("topics.camera_info", ["topics.camera_info=~/info"], ["topics.camera_info=/cam/info/"]),
    ("topics.rgb", ["topics.rgb=/a_b/c"], ["topics.rgb=/a__b/c"]),
    ("topics.rgb", ["topics.rgb="], ["topics.rgb=/cam/{ns}/rgb"]),
    ("output.action", ["output.action=~/action"], ["output.action=~action"]),
    ("output.label", ["output.label=/robot/label"], ["output.label=/robot/~/label"]),
    ("output.diagnostics", ["output.diagnostics=/diagnostics"], ["output.diagnostics="]),
    ("input_frame", ["input_frame=camera_depth_optical_frame"], ["input_frame=/camera_depth_optical_frame"]),
    ("input_frame", ["input_frame=robot1/camera-2.optical"], ["input_frame=robot1//camera"]),
    ("input_frame", ["input_frame="], ["input_frame='camera optical'"]),
]


@pytest.mark.parametrize("field, good, bad", RULES, ids=[f"{f}:{' '.join(b)}" for f, _, b in RULES])
def test_every_rule_passes_a_good_value_and_names_the_field_of_a_bad_one(field, good, bad):
    load_recognizer_config(None, good)
    with pytest.raises(ConfigError) as info:
        load_recognizer_config(None, bad)
    message = str(info.value)
    assert field in message and "\n" not in message, message


def test_every_numeric_setting_has_a_rule_and_every_rule_a_test():
    from vg4d_core.config import to_dict
    from vg4d_ros.config import flatten

    numeric = {k for k, v in flatten(to_dict(RecognizerConfig())).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    covered = {"window.seed"} | {k for k in numeric if k.startswith("foreground.floor_")}  # floor: ForegroundConfig
    assert numeric - covered <= set(RANGES), sorted(numeric - covered - set(RANGES))
    tested = {f for f, _, _ in RULES}
    untested = {f for f in RANGES if f not in tested and f not in ("guards.min_points_per_frame",
                                                                      "guards.stamp_gap_s")}
    assert not untested, sorted(untested)


def test_the_message_names_value_and_allowed_range():
    with pytest.raises(ConfigError, match=r"^window\.points_per_frame=1000000 is out of range: allowed 0\.\.65536 "
                                          r"\(0 = from the checkpoint\)$"):
        load_recognizer_config(None, ["window.points_per_frame=1000000"])
    with pytest.raises(ConfigError, match="allowed 'auto' or a comma-separated list of pc, pc_text, rgb, "
                                          "rgb_text, fused"):
        load_recognizer_config(None, ["inference.scores=pc,foo"])


@pytest.mark.parametrize("domain, ok", [(0, True), (232, True), (233, False), (-1, False), (300, False)])
def test_dds_domain(domain, ok):
    config = RecognizerConfig()
    if ok:
        validate_recognizer_config(config, domain=domain)
    else:
        with pytest.raises(ConfigError, match=rf"^domain={domain} is out of range: allowed 0\.\.232"):
            validate_recognizer_config(config, domain=domain)


@pytest.mark.parametrize("name, problem", [
    ("/camera/depth", None), ("camera/depth", None), ("~/action", None), ("/_private/x1", None),
    ("", "empty"), ("/a//b", "'//'"), ("/a/", "end with '/'"), ("/a__b", "'__'"), ("~a", "'~'"),
    ("/a/~/b", "'~'"), ("/1a", "start with a digit"), ("/a-b", "letters, digits"), ("/{node}/x", "substitution"),
])
def test_ros2_topic_name_rules(name, problem):
    found = topic_name_problem(name)
    assert (found is None) if problem is None else (problem in found), found


def test_score_names_are_the_runtimes():
    from vg4d_core.runtime.fusion import FUSED, SCORE_NAMES as RUNTIME

    assert SCORE_NAMES == (*RUNTIME, FUSED)


def test_the_validator_needs_neither_torch_nor_rclpy():
    code = ("import sys; import vg4d_ros.validation, vg4d_ros.config; "
            "bad = [m for m in ('torch', 'rclpy') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


BAD_SETTINGS = [
    (["foreground.min_depth=5", "foreground.max_depth=1"], "foreground.min_depth=5.0"),
    (["qos.sensor_depth=0"], "qos.sensor_depth=0"),
    (["topics.depth=/cam//depth"], "topics.depth='/cam//depth'"),
    (["window.points_per_frame=1000000"], "window.points_per_frame=1000000"),
    (["inference.scores=pc,foo"], "inference.scores='pc,foo'"),
]


def _one_line_exit_2(argv, program, capsys, expected):
    from vg4d_core.cli import main as vg4d

    assert vg4d(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{program}: error: ") and expected in err and "\n" not in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("settings, expected", BAD_SETTINGS + [(["--domain", "300"], "domain=300")],
                         ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_recognize_refuses_bad_settings_in_one_line(tmp_path, capsys, settings, expected):
    _one_line_exit_2(["recognize", "--checkpoint", str(tmp_path / "never_read.pt"), *settings],
                     "vg4d recognize", capsys, expected)


def test_recognize_refuses_a_bad_ros_domain_id(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ROS_DOMAIN_ID", "robot")
    _one_line_exit_2(["recognize", "--checkpoint", str(tmp_path / "x.pt")], "vg4d recognize", capsys,
                     "ROS_DOMAIN_ID='robot'")


@pytest.mark.parametrize("settings, expected", BAD_SETTINGS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_replay_refuses_bad_settings_in_one_line(tmp_path, capsys, settings, expected):
    _one_line_exit_2(["replay", str(tmp_path / "session.mcap"), "--checkpoint", str(tmp_path / "never_read.pt"), "--out",
                      str(tmp_path / "out"), *settings], "vg4d replay", capsys, expected)
