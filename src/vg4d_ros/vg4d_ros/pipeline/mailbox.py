"""A one-slot mailbox served by one worker thread: the newest item wins.

The recogniser posts each formed window here from the callback thread; the worker runs inference on
whatever is in the slot. When inference falls behind, a new item replaces the pending one (the caller
counts the drop), so latency stays bounded by one inference and results describe the present.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Generic, TypeVar

Item = TypeVar("Item")


class Mailbox(Generic[Item]):
    """Args:
        handle: called on the worker thread with each item taken from the slot.
        name: the worker thread's name.
        on_start: called once on the worker thread before the first item (per-thread settings, e.g.
            torch's OpenMP thread count).
    """

    def __init__(self, handle: Callable[[Item], None], *, name: str = "vg4d-worker",
                 on_start: Callable[[], None] | None = None) -> None:
        self._handle = handle
        self._name = name
        self._on_start = on_start
        self._slot: Item | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = False
        self.busy = False  # an item is being handled now

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def pending(self) -> bool:
        """An item waits in the slot."""
        return self._slot is not None

    def start(self) -> None:
        """Start the worker (idempotent)."""
        if self.alive:
            return
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the worker after the item in progress; a pending item is dropped."""
        with self._cond:
            self._stop = True
            self._slot = None
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._thread = None

    def post(self, item: Item, merge: Callable[[Item, Item], Item] | None = None) -> bool:
        """Put ``item`` in the slot; True when a pending (older) item was there. ``merge(pending, item)``
        makes the slot's new content from both (e.g. the newest window of each person), else ``item``
        replaces the pending one."""
        with self._cond:
            replaced = self._slot is not None
            self._slot = merge(self._slot, item) if replaced and merge is not None else item
            self._cond.notify_all()
        return replaced

    def discard(self) -> bool:
        """Drop the pending item (benchmarks that time callbacks alone); True if there was one."""
        with self._cond:
            had, self._slot = self._slot is not None, None
        return had

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until nothing is pending or in progress; True if idle in time."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._slot is not None or self.busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _run(self) -> None:
        if self._on_start is not None:
            self._on_start()
        while True:
            with self._cond:
                while self._slot is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                item, self._slot = self._slot, None
                self.busy = True
            try:
                self._handle(item)
            finally:
                with self._cond:
                    self.busy = False
                    self._cond.notify_all()
