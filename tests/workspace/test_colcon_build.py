"""Build the ROS 2 workspace with colcon (no ROS needed) and check that the
executables and share files sit where `ros2 run` / `ros2 launch` look."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

colcon = pytest.importorskip("colcon_core", reason="colcon-common-extensions not installed")


@pytest.fixture(scope="module")
def install_space(colcon_install: Path) -> Path:
    return colcon_install


def _site_packages(prefix: Path) -> Path:
    found = sorted(prefix.glob("lib/python3*/site-packages"))
    assert found, f"no site-packages under {prefix}"
    return found[0]


def test_packages_registered_in_ament_index(install_space: Path):
    for pkg in ("vg4d_core", "vg4d_ros"):
        prefix = install_space / pkg
        assert (prefix / "share/ament_index/resource_index/packages" / pkg).is_file()
        assert (prefix / "share" / pkg / "package.xml").is_file()


def test_train_executable_where_ros2_run_looks(install_space: Path):
    exe = install_space / "vg4d_core/lib/vg4d_core/train"
    assert exe.is_file(), "ros2 run vg4d_core train would not find lib/vg4d_core/train"
    assert os.access(exe, os.X_OK), f"{exe} is not executable"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(_site_packages(install_space / "vg4d_core")), env.get("PYTHONPATH", "")])
    # Run it the way ros2 run does: exec the file (its shebang picks python3);
    # use this interpreter explicitly so the test does not depend on PATH.
    proc = subprocess.run([sys.executable, str(exe), "--help"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "--config" in proc.stdout
    probe = subprocess.run([sys.executable, "-c", "import vg4d_core; print(vg4d_core.__file__)"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert str(install_space) in probe.stdout, "the installed package was not the one imported"


def test_launch_and_config_installed_in_share(install_space: Path, repo_root: Path):
    share = install_space / "vg4d_ros/share/vg4d_ros"
    launch_files = sorted(p.name for p in (repo_root / "launch").glob("*.launch.py"))
    assert launch_files, "no launch files in the repository"
    for name in launch_files:
        assert (share / "launch" / name).is_file(), f"launch/{name} not installed"
    configs = sorted(p.relative_to(repo_root / "config") for p in (repo_root / "config").rglob("*.yaml"))
    assert configs, "no YAML configs in the repository"
    for rel in configs:
        assert (share / "config" / rel).is_file(), f"config/{rel} not installed in share/vg4d_ros"
        assert (install_space / "vg4d_core/share/vg4d_core/config" / rel).is_file()


def test_build_leaves_source_tree_clean(colcon_build: dict):
    if colcon_build["before"] is None:
        pytest.skip("not a git checkout")
    new = sorted(colcon_build["after"] - colcon_build["before"])
    assert not new, f"colcon build wrote into the source tree: {new}"


def test_colcon_test_runs_the_packages_tests(colcon_build: dict, tmp_path: Path):
    """`colcon test` on a robot's workspace runs each package's own checks (it used to run none)."""
    install = colcon_build["install"]
    base = install.parent
    skip = [] if colcon_build["messages_built"] else ["--packages-skip", "vg4d_msgs"]
    test = subprocess.run([sys.executable, "-m", "colcon", "--log-base", str(tmp_path / "log"), "test",
                           "--base-paths", str(base / "src"),
                           "--build-base", str(base / "build"), "--install-base", str(install), *skip],
                          cwd=base, capture_output=True, text=True, timeout=600)
    assert test.returncode == 0, test.stdout + test.stderr
    result = subprocess.run([sys.executable, "-m", "colcon", "test-result", "--test-result-base",
                             str(base / "build"), "--all"], capture_output=True, text=True, timeout=120)
    summary = result.stdout.strip().splitlines()[-1]
    counts = {k: int(v) for v, k in (part.split() for part in summary.removeprefix("Summary: ").split(", "))}
    assert counts["tests"] >= 6 and counts["errors"] == 0 and counts["failures"] == 0, result.stdout


def test_message_package_builds_and_matches_the_typestore(colcon_build: dict):
    """src/vg4d_msgs (ament_cmake + rosidl) builds in a robot's workspace; its generated Python message
    has the fields the rclpy-free transports and replay serialise (vg4d_ros.typestore)."""
    if not colcon_build["messages_built"]:
        pytest.skip("ament_cmake / rosidl not installed in this interpreter's prefix (VG4D_ROS=0)")
    install = colcon_build["install"] / "vg4d_msgs"
    assert (install / "share/vg4d_msgs/msg/ActionEvent.msg").is_file()
    assert (install / "share/ament_index/resource_index/rosidl_interfaces/vg4d_msgs").is_file()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_site_packages(install)), env.get("PYTHONPATH", "")])
    probe = subprocess.run(
        [sys.executable, "-c", "import json, vg4d_msgs.msg as m; e = m.ActionEvent(); "
         "print(json.dumps([m.__file__, e.get_fields_and_field_types(), m.ActionEvent.STARTED, m.ActionEvent.ENDED]))"],
        capture_output=True, text=True, env=env, timeout=120)
    assert probe.returncode == 0, probe.stderr
    import json

    from vg4d_ros.typestore import ros_typestore

    where, fields, started, ended = json.loads(probe.stdout)
    assert str(install) in where, "the workspace's vg4d_msgs was not the one imported"
    assert (started, ended) == ("started", "ended")
    ours = ros_typestore().fielddefs["vg4d_msgs/msg/ActionEvent"][1]
    assert list(fields) == [name for name, _ in ours]
