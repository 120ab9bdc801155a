"""Missing real data or a changed dependency API skips locally and fails under CI."""
from __future__ import annotations

import pytest

from missing_data import skip_or_fail


@pytest.mark.parametrize("value, fails", [("true", True), ("1", True), ("yes", True), ("", False),
                                          ("false", False), ("0", False), (None, False)])
def test_skip_or_fail_follows_the_ci_variable(monkeypatch, value, fails):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    expected = pytest.fail.Exception if fails else pytest.skip.Exception
    with pytest.raises(expected, match="data not found at /x"):
        skip_or_fail("data not found at /x")
