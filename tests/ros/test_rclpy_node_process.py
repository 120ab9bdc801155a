"""The installed ``recognizer`` executable in its own process, as ``ros2 run`` starts it.

The workspace is built with colcon (as on a robot), the node runs from the
install space with the shipped params file, a namespace, a new name and a
remapped input, and the test process drives it over the lifecycle services
and stops it with a signal.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from missing_data import import_ros

rx = import_ros("rclpy_helpers")  # rclpy + vision_msgs: skipped without them, a failure under CI

import rclpy  # noqa: E402

import recognizer_helpers as rh  # noqa: E402

pytestmark = pytest.mark.rclpy


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return rh.tiny_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt")


def _site_packages(prefix: Path) -> str:
    return str(sorted(prefix.glob("lib/python3*/site-packages"))[0])


def start_node(install: Path, domain: int, ros_home: Path, *ros_args: str) -> subprocess.Popen:
    """``install/vg4d_ros/lib/vg4d_ros/recognizer --ros-args ...`` with the install space on the path."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_HOME=str(ros_home), ROS_PYTHON_CHECK_FIELDS="1",
               PYTHONPATH=os.pathsep.join([_site_packages(install / "vg4d_ros"),
                                           _site_packages(install / "vg4d_core"), os.environ.get("PYTHONPATH", "")]))
    env.pop("NUMBA_CACHE_DIR", None)
    exe = install / "vg4d_ros" / "lib" / "vg4d_ros" / "recognizer"
    return subprocess.Popen([sys.executable, str(exe), "--ros-args", *ros_args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextlib.contextmanager
def driving(ctx, proc: subprocess.Popen, target: str):
    """A driver of ``target`` spinning while the body runs; afterwards the driver is gone and the node
    process has ended (killed only if the body left it running)."""
    driver = rx.Driver(ctx, target)
    spin = rx.Spinner(ctx, driver.node)
    try:
        yield driver
    finally:
        spin.close()
        driver.node.destroy_node()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture
def context_and_domain():
    domain = rx.next_domain()
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=domain)
    yield ctx, domain
    rclpy.try_shutdown(context=ctx)


def params_file(install: Path, tmp_path: Path, **changes) -> Path:
    """The shipped params file with ``changes`` (dotted keys) applied; its top key stays as shipped."""
    shipped = install / "vg4d_ros" / "share" / "vg4d_ros" / "config" / "recognize.yaml"
    data = yaml.safe_load(shipped.read_text())
    (section,) = data.values()
    for key, value in changes.items():
        node = section["ros__parameters"]
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    out = tmp_path / "recognize.yaml"
    out.write_text(yaml.safe_dump(data))
    return out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_installed_node_namespaced_renamed_remapped_then_stopped_by_a_signal(
        colcon_install, checkpoint, context_and_domain, tmp_path, sig):
    ctx, domain = context_and_domain
    # the shipped file keyed /** applies under a namespace and another name; top_k proves it did
    params = params_file(colcon_install, tmp_path, **{
        "inference.checkpoint": str(checkpoint), "inference.device": "cpu", "inference.top_k": 2,
        "window.min_frames": 6, "window.hop_frames": 6, "window.window_s": 0.5, "window.min_coverage": 0.0})
    proc = start_node(colcon_install, domain, tmp_path / "ros_home", "--params-file", str(params),
                      "-r", "__ns:=/robot1", "-r", "__node:=recog2", "-r", "camera/depth/image_raw:=/cam/depth")
    with driving(ctx, proc, "/robot1/recog2") as driver:
        assert driver.transition("configure"), proc.stderr.read() if proc.poll() is not None else ""
        assert driver.transition("activate")
        driver.stream(rx.depth_16uc1, "/cam/depth", info_topic="/robot1/camera/depth/camera_info")
        rx.wait_until(lambda: driver.count("action") >= 2 or proc.poll() is not None, "actions from the process")
        assert proc.poll() is None, proc.stderr.read()
        assert all(len(m.results) == 2 for m in driver.messages("action"))
        assert driver.count("label_info") == 1
        # numba compiled the kernels at configure into $ROS_HOME/vg4d/numba (writable), not into the package
        assert any((tmp_path / "ros_home" / "vg4d" / "numba").rglob("*.nbi"))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=rx.HANG_GUARD_S)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Exception" not in err, err


def test_installed_node_reports_a_bad_checkpoint_and_keeps_serving(colcon_install, context_and_domain, tmp_path):
    ctx, domain = context_and_domain
    bad = tmp_path / "empty.pt"
    bad.write_bytes(b"")
    proc = start_node(colcon_install, domain, tmp_path / "ros_home", "-p", f"inference.checkpoint:={bad}")
    with driving(ctx, proc, "/recognizer") as driver:
        assert driver.transition("configure") is False
        rx.wait_until(lambda: "configure failed" in driver.log_text(), "the reason on /rosout")
        assert str(bad) in driver.log_text()
        assert driver.state() == "unconfigured" and proc.poll() is None  # still there, ready for a fix
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=rx.HANG_GUARD_S)
    assert proc.returncode == 0
