"""vg4d_ros: the ROS 2 layer (ament_python), thin over vg4d_core.

Installs this package's ``launch/`` and the recogniser's configs (kept with
the other configs in ``../vg4d_core/config``, the folder the repository's
top-level ``config`` links to) into ``share/vg4d_ros/``, where ``ros2 launch
vg4d_ros ...`` and the nodes find them; a workspace holding only ``src/``
builds completely. Node executables are added to ``lib/vg4d_ros`` as
data-file scripts (see vg4d_core's setup.py for why not console scripts).
"""
import os
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "vg4d_ros"
HERE = Path(__file__).resolve().parent
CONFIG = HERE.parent / "vg4d_core" / "config"


def tree(root: Path, dest_prefix: str):
    """data_files entries mirroring the folder ``root`` under ``dest_prefix`` (paths relative to HERE)."""
    entries: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            dest = Path(dest_prefix) / path.parent.relative_to(root)
            entries.setdefault(str(dest), []).append(os.path.relpath(path, HERE))
    return sorted(entries.items())


SCRIPTS = sorted(str(p.relative_to(HERE)) for p in (HERE / "scripts").glob("*") if p.is_file())

setup(
    name=PACKAGE,
    version="0.1.0",
    description="ROS 2 nodes for VG4D action recognition",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    python_requires=">=3.10",
    # rclpy / launch come from the ROS installation, never from pip
    # (the PyPI project called `launch` is an unrelated program).
    # exact pins: vg4d_ros.transports.dds.raw calls cyclonedds' internal C-layer
    # functions and feeds them rosbags' CDR bytes; both are tested at these versions
    install_requires=["vg4d_core", "numpy", "rosbags==0.11.9", "cyclonedds==11.0.1"],
    extras_require={"test": ["pytest>=8"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        *([(f"lib/{PACKAGE}", SCRIPTS)] if SCRIPTS else []),
        *tree(HERE / "launch", f"share/{PACKAGE}/launch"),
        *tree(CONFIG, f"share/{PACKAGE}/config"),
    ],
    zip_safe=False,
    license="Apache-2.0",
)
