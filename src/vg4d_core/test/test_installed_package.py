"""What `colcon test` checks in the vg4d_core package on a robot's workspace.

The project's full suite lives in the repository's top-level ``tests/``
(``bash tests/run.sh``); these are the quick checks of an installed package:
it imports, its programs answer, its shipped configs parse.
"""
from __future__ import annotations

import pytest

from vg4d_core import cli
from vg4d_core.cli import strip_ros_args
from vg4d_core.paths import config_dir


def test_cli_lists_its_subcommands(capsys):
    assert cli.main(["--help"]) == 0
    assert "train" in capsys.readouterr().out


def test_train_ignores_the_arguments_ros2_launch_appends():
    argv = ["--config", "train/msr_action3d_lite.yaml", "--ros-args", "-r", "__node:=vg4d_train", "--", "x=1"]
    assert strip_ros_args(argv) == ["--config", "train/msr_action3d_lite.yaml", "x=1"]


@pytest.mark.parametrize("group", ["model", "train"])
def test_shipped_configs_parse(group):
    import yaml

    files = sorted((config_dir() / group).glob("*.yaml"))
    assert files, f"no {group} configs under {config_dir()}"
    for f in files:
        assert isinstance(yaml.safe_load(f.read_text()), dict), f
