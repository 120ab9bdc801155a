"""The rclpy node and its launch file: compile here, run where ROS 2 is installed."""
from __future__ import annotations

import ast
import importlib.util
import py_compile
import re
from pathlib import Path

import pytest

from vg4d_ros.config import NODE_NAME, RecognizerConfig, load_recognizer_config, parameter_defaults, unflatten

REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "launch" / "recognize.launch.py"
NODE = REPO / "src" / "vg4d_ros" / "vg4d_ros" / "transports" / "rclpy_node.py"
SCRIPT = REPO / "src" / "vg4d_ros" / "scripts" / "recognizer"


@pytest.mark.parametrize("path", [LAUNCH, NODE, SCRIPT], ids=["launch", "node", "script"])
def test_compiles(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "x.pyc"), doraise=True)


def launch_module():
    spec = importlib.util.spec_from_file_location("recognize_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # launch / launch_ros are imported only inside generate_launch_description
    return module


def test_launch_arguments_set_node_parameters():
    module = launch_module()
    params = parameter_defaults()
    assert set(module.ARGUMENT_PARAMETERS) == {"checkpoint", "device", "depth", "camera_info", "cloud", "rgb", "mask"}
    for arg, param in module.ARGUMENT_PARAMETERS.items():
        assert param in params, f"launch argument {arg} sets unknown parameter {param}"
    assert module.NODE_NAME == NODE_NAME


def test_params_file_is_the_node_section_and_round_trips_through_parameter_names():
    import yaml
    data = yaml.safe_load((REPO / "config" / "recognize.yaml").read_text())
    # keyed /** so it applies to the node under any name and namespace (-r __node:=..., -r __ns:=...)
    assert list(data) == ["/**"] and list(data["/**"]) == ["ros__parameters"]
    from vg4d_ros.config import flatten
    flat = flatten(data["/**"]["ros__parameters"])
    assert set(flat) == set(parameter_defaults())  # every parameter documented in the file, no extra ones
    from vg4d_core.config import from_dict
    assert from_dict(RecognizerConfig, unflatten(flat)) == load_recognizer_config(REPO / "config" / "recognize.yaml")


def test_every_parameter_has_a_comment_in_the_params_file():
    lines = (REPO / "config" / "recognize.yaml").read_text().splitlines()
    for line in lines:
        m = re.match(r"^\s+([a-z_]+):\s+\S", line)
        if m and not line.strip().startswith("#"):
            assert "#" in line, f"undocumented parameter line: {line!r}"


def test_node_only_wires(tmp_path):
    """The node module holds no conversion / windowing logic: it imports the core for that."""
    tree = ast.parse(NODE.read_text())
    names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert not names & {"pointcloud2_to_xyz", "depth_image_to_points", "sample_clip", "select_foreground"}
    assert "RecognizerNode" in names


@pytest.mark.parametrize("key", ["/**", NODE_NAME, f"/{NODE_NAME}"])
def test_the_rclpy_free_readers_take_a_node_params_file_with_use_sim_time(tmp_path, key):
    """A params file written for the node (any section key, use_sim_time set) also configures
    `vg4d recognize` and `vg4d replay`; use_sim_time is the node's, not the recogniser's."""
    import yaml
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({key: {"ros__parameters": {"use_sim_time": True, "inference": {"top_k": 3}}}}))
    assert load_recognizer_config(path).inference.top_k == 3


def test_autostart_activates_only_after_the_start_up_configure():
    """The launch file's activate handler matches configuring -> inactive only: a manual deactivate
    (active -> deactivating -> inactive) must not be undone by it."""
    tree = ast.parse(LAUNCH.read_text())
    handlers = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "OnStateTransition"]
    assert len(handlers) == 1
    kw = {k.arg: ast.literal_eval(k.value) for k in handlers[0].keywords if isinstance(k.value, ast.Constant)}
    assert kw == {"start_state": "configuring", "goal_state": "inactive"}
