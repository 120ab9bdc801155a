"""What a test does when something it needs is absent: skip locally, fail in CI.

Real data (``../shared/data``) or a dependency's expected API going missing
must not turn into a quiet skip on the machine that gates merges. With the
``CI`` environment variable set (``CI=true``, as CI services set it; ``0``,
``false`` and ``no`` count as unset) :func:`skip_or_fail` fails the test
with the same reason; elsewhere it skips.
"""
from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """pytest.skip(reason), or pytest.fail under CI (never returns)."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def import_ros(module: str):
    """Import a test module that needs ROS 2 (rclpy and the generated interface packages).

    Where they are missing the calling test module is skipped, with the import
    error as the reason; under CI the ImportError propagates and fails it.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if in_ci():
            raise
        pytest.skip(f"needs ROS 2 rclpy and the generated interfaces ({exc}); `bash tests/run.sh` installs them",
                    allow_module_level=True)
