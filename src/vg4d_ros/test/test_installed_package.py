"""What `colcon test` checks in the vg4d_ros package on a robot's workspace.

The project's full suite lives in the repository's top-level ``tests/``
(``bash tests/run.sh``); these are the quick checks of an installed package:
the shipped params file loads, the node module imports, its launch file compiles.
"""
from __future__ import annotations

import py_compile
from pathlib import Path

from vg4d_core.paths import config_dir
from vg4d_ros.config import RecognizerConfig, load_recognizer_config, parameter_defaults


def test_shipped_params_file_loads_and_sets_every_parameter():
    import yaml

    path = config_dir() / "recognize.yaml"
    assert isinstance(load_recognizer_config(path), RecognizerConfig)
    (section,) = yaml.safe_load(path.read_text()).values()
    assert section["ros__parameters"]


def test_node_module_imports_and_declares_parameters():
    import vg4d_ros.transports.rclpy_node as node

    assert callable(node.main) and "inference.checkpoint" in parameter_defaults()


def test_launch_files_compile(tmp_path):
    here = Path(__file__).resolve().parents[1]
    launch = sorted(here.glob("launch/*.launch.py")) or sorted(here.parents[1].glob("launch/*.launch.py"))
    assert launch
    for f in launch:
        py_compile.compile(str(f), cfile=str(tmp_path / "x.pyc"), doraise=True)
