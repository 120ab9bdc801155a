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
