"""Benchmark timing. Provenance and JSON output: :mod:`vg4d_core.provenance`."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch


def synchronize(device: torch.device | str | None = None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], Any], *, device: torch.device | str = "cpu", warmup: int = 2,
              repeats: int = 10, min_time_s: float = 0.0) -> dict[str, float]:
    """Median / min / mean wall time of ``fn()`` in milliseconds.

    ``warmup`` calls are discarded (JIT compilation, allocator warm-up). At
    least ``repeats`` timed calls run, more until ``min_time_s`` elapsed.
    """
    for _ in range(warmup):
        fn()
    synchronize(device)
    times: list[float] = []
    start_all = time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - start_all) < min_time_s:
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append((time.perf_counter() - t0) * 1e3)
        if len(times) >= 10 * max(repeats, 1):
            break
    return {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "mean_ms": statistics.fmean(times),
        "runs": len(times),
    }
