"""Where this process sits in a multi-process job, and the few collectives
that scoring and training share (gather, sum, barrier, sharding).

Process-group set-up and data sampling for training live in
:mod:`vg4d_core.training.distributed`; everything here is a no-op in a
single process, so a ROS node or a benchmark uses the same scoring code as
``torchrun`` evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistEnv:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def barrier(env: DistEnv) -> None:
    if env.enabled:
        dist.barrier()


def all_gather_object(env: DistEnv, obj: Any) -> list[Any]:
    """Every rank's ``obj`` in rank order (a one-element list without DDP)."""
    if not env.enabled:
        return [obj]
    out: list[Any] = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out


def all_reduce_sum(env: DistEnv, values: list[float]) -> list[float]:
    """Element-wise sum of a short list of numbers over ranks (float64)."""
    if not env.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return t.cpu().tolist()


def shard(n: int, env: DistEnv) -> list[int]:
    """Indices of ``range(n)`` evaluated by this rank (strided, no padding)."""
    return list(range(env.rank, n, env.world_size))
