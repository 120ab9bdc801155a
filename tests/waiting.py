"""Wait for an event a subprocess produces, without claiming anything about speed.

:func:`wait_for` polls until ``event()`` is true. The subprocess exiting
first is reported with its stderr; the only time bound is a hang guard
(:data:`HANG_GUARD_S`, far beyond any healthy run on a loaded machine),
whose failure message says the process looks hung, not slow.
"""
from __future__ import annotations

import subprocess
import time
from typing import Callable

HANG_GUARD_S = 1800.0


def wait_for(event: Callable[[], bool], proc: subprocess.Popen, what: str, *, exit_ok: bool = False,
             poll_s: float = 0.01, guard_s: float = HANG_GUARD_S) -> bool:
    """Block until ``event()``; returns False if ``proc`` exited first and ``exit_ok`` allows it."""
    start = time.monotonic()
    while not event():
        if proc.poll() is not None:
            if exit_ok:
                return event()
            err = proc.stderr.read() if proc.stderr else b""
            err = err.decode(errors="replace") if isinstance(err, bytes) else err
            raise AssertionError(f"the process exited ({proc.returncode}) before {what}: {err[-2000:]}")
        if time.monotonic() - start > guard_s:
            raise AssertionError(f"no {what} and the process still runs after {guard_s:.0f} s: it looks hung")
        time.sleep(poll_s)
    return True
