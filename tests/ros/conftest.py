"""Fixtures of the ROS-layer tests (no rclpy anywhere)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # dds_helpers


@pytest.fixture(scope="session")
def typestore():
    from vg4d_ros.typestore import ros_typestore
    return ros_typestore()
