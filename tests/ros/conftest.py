"""Fixtures of the ROS-layer tests (no rclpy anywhere)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def typestore():
    from vg4d_ros.typestore import ros_typestore
    return ros_typestore()
