"""Shared pytest fixtures and marker handling for the vg4d test suite.

* ``cuda`` tests are skipped when no CUDA device is visible.
* ``shared_data`` points at the real recordings beside the project
  (``$VG4D_SHARED_DATA``, default ``<repo>/../shared/data``); tests that need
  them skip with a reason naming the path when it is absent, and fail
  instead under ``CI`` (see ``missing_data.py``).
* ``rclpy`` tests need ROS 2's rclpy and the generated vision_msgs (both put
  into the venv by ``scripts/setup_env.sh``); without them they skip with the
  import error as reason, and fail instead under ``CI`` (same policy).
  ``ROS_PYTHON_CHECK_FIELDS=1`` is set for the whole test process (and so for
  its subprocesses) before anything imports a message module, so that a wrong
  field type raises instead of being silently converted; DDS discovery is kept
  on this machine (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` unless set).
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from missing_data import skip_or_fail

# Jazzy's generated message classes read these when first imported.
os.environ["ROS_PYTHON_CHECK_FIELDS"] = "1"
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def pytest_report_header(config):
    """Free disk where the tests write (tmp_path), so that a run on a full disk says so up front."""
    import shutil
    import tempfile
    where = Path(tempfile.gettempdir())
    free_gb = shutil.disk_usage(where).free / 1e9
    line = f"vg4d: {free_gb:.1f} GB free at {where} (the suite writes some 0.3 GB there)"
    if free_gb < 1.0:
        line += " - LOW: tests that write files will fail with 'No space left on device'"
    return line


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _cuda_available():
        return
    skip_cuda = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip_cuda)


@functools.cache
def _rclpy_missing() -> str | None:
    """Why rclpy + vision_msgs + vg4d_msgs cannot be used here, or None when they can."""
    try:
        import rclpy  # noqa: F401
        from vg4d_msgs.msg import ActionEvent  # noqa: F401
        from vision_msgs.msg import Classification  # noqa: F401
    except Exception as exc:  # ImportError, or a shared library that does not load
        return (f"needs ROS 2 rclpy + the generated vision_msgs and vg4d_msgs (scripts/setup_env.sh installs "
                f"them): "
                f"{type(exc).__name__}: {exc}")
    return None


def pytest_runtest_setup(item):
    if item.get_closest_marker("rclpy") is not None and (reason := _rclpy_missing()):
        skip_or_fail(reason)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real data (MSR-Action3D, NTU sample); skips if missing."""
    root = Path(os.environ.get("VG4D_SHARED_DATA", DEFAULT_SHARED_DATA))
    if not root.is_dir():
        skip_or_fail(f"real data not found at {root} (set VG4D_SHARED_DATA)")
    return root


def _source_tree_state(repo_root: Path) -> set[str] | None:
    """Untracked and ignored entries under src/ (None outside a git checkout)."""
    proc = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all", "src"],
                          cwd=repo_root, capture_output=True, text=True)
    return set(proc.stdout.splitlines()) if proc.returncode == 0 else None


@pytest.fixture(scope="session")
def colcon_build(tmp_path_factory) -> dict:
    """The workspace built once per session with colcon (no ROS needed), as on a robot.

    Returns ``{"install": install space, "before" / "after": untracked files under src/ around the build}``.
    """
    import shutil

    pytest.importorskip("colcon_core", reason="colcon-common-extensions not installed")
    work = tmp_path_factory.mktemp("colcon")
    before = _source_tree_state(REPO_ROOT)
    # a workspace holding a copy of src/ only, as a robot's workspace does: whatever the packages
    # install must come from inside their own folders
    shutil.copytree(REPO_ROOT / "src", work / "src", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache"))
    cmd = [sys.executable, "-m", "colcon", "--log-base", str(work / "log"), "build",
           "--base-paths", str(work / "src"),
           "--build-base", str(work / "build"), "--install-base", str(work / "install")]
    env, cmake_args = _ament_cmake_environment()
    if env is None:  # no ROS 2 build tools in this interpreter's prefix: the message package cannot build
        cmd += ["--packages-skip", "vg4d_msgs"]
    else:
        cmd += ["--cmake-args", *cmake_args]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, f"colcon build failed:\n{proc.stdout}\n{proc.stderr}"
    return {"install": work / "install", "before": before, "after": _source_tree_state(REPO_ROOT),
            "messages_built": env is not None}


def _ament_cmake_environment() -> tuple[dict | None, list[str]]:
    """The environment and CMake arguments that build an ament_cmake interface package (src/vg4d_msgs)
    against the ROS 2 Jazzy wheels of this interpreter's prefix, as ``source /opt/ros/jazzy/setup.bash``
    does on a robot; ``(None, [])`` where ament_cmake is not installed (VG4D_ROS=0)."""
    import sysconfig

    prefix = Path(sys.prefix)
    if not (prefix / "share/ament_cmake/cmake").is_dir():
        return None, []
    import numpy

    env = dict(os.environ)
    env["AMENT_PREFIX_PATH"] = str(prefix)
    env["CMAKE_PREFIX_PATH"] = str(prefix)
    env["PATH"] = f"{prefix / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    args = [f"-DPython3_EXECUTABLE={sys.executable}", f"-DPYTHON_EXECUTABLE={sys.executable}", "-DBUILD_TESTING=OFF",
            f"-DCMAKE_PROJECT_INCLUDE={REPO_ROOT / 'scripts/ros_interfaces/vg4d_fixup.cmake'}",
            f"-DVG4D_PYTHON_INCLUDE_DIR={sysconfig.get_paths()['include']}",
            f"-DVG4D_NUMPY_INCLUDE_DIR={numpy.get_include()}"]
    return env, args


@pytest.fixture(scope="session")
def colcon_install(colcon_build: dict) -> Path:
    """The colcon install space (``<install>/vg4d_ros/lib/vg4d_ros/recognizer`` ...)."""
    return colcon_build["install"]
