"""Multi-process training under torchrun: environment, process group, data sharding.

The same recipe runs on one process or many: torchrun sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR``/``MASTER_PORT``, and
:func:`init_distributed` joins the group (NCCL on CUDA, gloo on CPU). Data is
split by :class:`GlobalBatchSampler`: every process draws the same global
permutation and takes its own slice of each global batch, so N processes
together see exactly the batches one process would, and DDP's gradient mean
equals the single-process gradient (modulo BatchNorm statistics, which are
per process unless SyncBatchNorm is on). Only rank 0 writes files.
"""
from __future__ import annotations

import datetime
import os
from typing import Iterator

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from vg4d_core.runtime.distributed import DistEnv


def env_from_torchrun() -> DistEnv:
    """Read torchrun's variables; a plain ``python`` launch is rank 0 of 1."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError as exc:
        raise ValueError(f"bad torchrun environment (RANK/WORLD_SIZE/LOCAL_RANK): {exc}") from None
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"bad torchrun environment: RANK={rank}, WORLD_SIZE={world}")
    return DistEnv(rank=rank, world_size=world, local_rank=local)


def init_distributed(device_type: str, timeout_s: float = 1800.0) -> DistEnv:
    """Join the process group when launched by torchrun with more than one process.

    ``device_type`` "cuda" uses NCCL and binds this process to GPU
    ``LOCAL_RANK``; "cpu" uses gloo.
    """
    env = env_from_torchrun()
    if not env.enabled or (dist.is_available() and dist.is_initialized()):
        return env
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    if device_type == "cuda":
        torch.cuda.set_device(env.local_rank)
    backend = "nccl" if device_type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))
    return env


def shutdown(synchronize: bool = False) -> None:
    """Leave the process group.

    ``synchronize=True`` (after a run every rank finished) first waits for all
    ranks: a gloo peer that tears its connections down while another rank
    still uses them can make that rank abort at exit ("terminate called
    without an active exception"), failing a run that had succeeded. On an
    error path pass False: the other ranks may never arrive.
    """
    if dist.is_available() and dist.is_initialized():
        try:
            if synchronize:
                dist.barrier()
        finally:
            dist.destroy_process_group()


class GlobalBatchSampler(Sampler[list[int]]):
    """Yields this rank's share of each global batch of a seeded permutation.

    Epoch ``e`` shuffles ``range(n)`` with a generator seeded by
    ``seed + e`` (the same on every rank), cuts it into global batches of
    ``global_batch`` indices, dropping the incomplete tail (so every step has
    the same size everywhere), and yields indices
    ``[rank * b, (rank + 1) * b)`` of each, with ``b = global_batch / world``.
    Call :meth:`set_epoch` before each epoch.
    """

    def __init__(self, n: int, global_batch: int, env: DistEnv = DistEnv(), seed: int = 0,
                 shuffle: bool = True) -> None:
        if global_batch % env.world_size:
            raise ValueError(f"batch_size {global_batch} is not divisible by the number of processes "
                             f"{env.world_size}")
        if n < global_batch:
            raise ValueError(f"dataset of {n} samples is smaller than one global batch of {global_batch}")
        self.n, self.global_batch, self.env = n, global_batch, env
        self.seed, self.shuffle, self.epoch = seed, shuffle, 0
        self.local_batch = global_batch // env.world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n // self.global_batch

    def __iter__(self) -> Iterator[list[int]]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        lo = self.env.rank * self.local_batch
        for b in range(len(self)):
            start = b * self.global_batch + lo
            yield order[start:start + self.local_batch]
