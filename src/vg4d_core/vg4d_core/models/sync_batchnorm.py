"""BatchNorm whose training statistics are those of the global batch across processes.

Under data parallelism every process sees ``b`` clips of a global batch of
``W * b``. Plain BatchNorm normalises each process's slice with that slice's
statistics; :class:`SyncBatchNorm` all-reduces the per-channel count, sum
and sum of squares so that every process normalises with, and tracks, the
statistics of the whole batch, and its backward all-reduces the two
per-channel gradient sums that the statistics feed (as
:class:`torch.nn.SyncBatchNorm` does). Unlike torch's module it works on
CPU tensors (gloo) as well as CUDA (NCCL), so CPU multi-process training is
synchronised too, and the fused BatchNorm + ReLU + max
(:mod:`vg4d_core.models.bn_relu_max`) calls the same :func:`global_moments`
when its layer is a :class:`SyncBatchNorm`.

Numerics: each process computes its slice's mean and centred sum of squares
in the input dtype (two passes, no cancellation), then the three per-channel
sums ``n``, ``n * mean`` and ``M2 + n * mean**2`` are all-reduced in float64,
so recombining them loses nothing measurable.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def sync_world_size(process_group=None) -> int:
    """Number of processes statistics are reduced over (1 without an initialised group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return 1
    return dist.get_world_size(process_group)


def _local_moments(flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """flat (R, C) -> per-channel mean (C,) and centred sum of squares (C,), in flat's dtype."""
    if flat.shape[0] == 0:
        zeros = flat.new_zeros(flat.shape[1])
        return zeros, zeros.clone()
    if flat.is_cuda:  # one Welford kernel, no (R, C) temporary
        var, mean = torch.var_mean(flat, dim=0, correction=0)
        return mean, var * flat.shape[0]
    # on CPU var_mean over the leading dim is several times slower than two plain sums
    mean = flat.sum(0) / flat.shape[0]
    return mean, (flat - mean).square_().sum(0)


def global_moments(flat: torch.Tensor, process_group=None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Mean (C,), biased variance (C,) and row count of ``flat`` (R, C) over all processes.

    No autograd (the callers differentiate through it themselves). With one
    process this is the local statistics. Every process of the group must
    call it with the same C.
    """
    mean, m2 = _local_moments(flat.detach())
    rows = flat.shape[0]
    if sync_world_size(process_group) == 1:
        if rows == 0:
            raise ValueError("BatchNorm statistics of an empty batch")
        return mean, m2 / rows, rows
    c = flat.shape[1]
    stats = torch.empty(2 * c + 1, dtype=torch.float64, device=flat.device)  # [sum, sum of squares, count]
    mean64 = mean.double()
    stats[:c] = mean64 * rows
    stats[c:2 * c] = m2.double() + rows * mean64.square()
    stats[2 * c] = rows
    dist.all_reduce(stats, group=process_group)
    total = int(round(stats[2 * c].item()))
    if total == 0:
        raise ValueError("BatchNorm statistics of an empty global batch")
    g_mean = stats[:c] / total
    g_var = (stats[c:2 * c] / total - g_mean.square()).clamp_min_(0)
    return g_mean.to(flat.dtype), g_var.to(flat.dtype), total


def all_reduce_grad_sums(sums: torch.Tensor, process_group=None) -> torch.Tensor:
    """Sum per-channel gradient sums (any shape) over the group, in place where possible; returns them."""
    if sync_world_size(process_group) > 1:
        dist.all_reduce(sums, group=process_group)
    return sums


class _GlobalMoments(torch.autograd.Function):
    """(R, C) -> global mean (C,), biased var (C,) differentiable w.r.t. the local rows, and the global row count."""

    @staticmethod
    def forward(ctx, flat, process_group):
        mean, var, total = global_moments(flat, process_group)
        ctx.save_for_backward(flat, mean)
        ctx.total, ctx.process_group = total, process_group
        count = torch.tensor(total, dtype=torch.int64)
        ctx.mark_non_differentiable(count)
        return mean, var, count

    @staticmethod
    def backward(ctx, grad_mean, grad_var, _grad_count):
        flat, mean = ctx.saved_tensors
        # Every process's loss depends on every process's rows through the
        # statistics: sum the two per-channel gradients over the group first.
        grads = torch.stack([grad_mean, grad_var])  # (2, C)
        all_reduce_grad_sums(grads, ctx.process_group)
        # d mean / d x = 1/N; d var / d x = 2 (x - mean) / N (the mean's own dependence cancels)
        grad = grads[0] / ctx.total + (flat - mean) * (2.0 * grads[1] / ctx.total)
        return grad, None


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C) or (N, C, *) inputs with statistics over every process of ``process_group``.

    In eval mode (with running statistics) it is plain BatchNorm. In
    training mode without an initialised group of more than one process it
    is plain BatchNorm too (``F.batch_norm``), so a converted model runs
    unchanged in a single process. Running variance is unbiased with the
    global count, as torch's SyncBatchNorm keeps it.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"SyncBatchNorm expects (N, C) or (N, C, *) input, got shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        if x.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm({self.num_features}) got {x.shape[1]} channels, shape {tuple(x.shape)}")
        batch_stats = self.training or not self.track_running_stats
        if not batch_stats or sync_world_size(self.process_group) == 1:
            return super().forward(x)
        # channels last, flattened: (R, C), R = N * prod(spatial)
        moved = x.movedim(1, -1)
        flat = moved.reshape(-1, self.num_features)
        if flat.dtype in (torch.float16, torch.bfloat16):  # statistics in float32, as cuDNN's BatchNorm keeps them
            flat = flat.float()
        mean, var, total = _GlobalMoments.apply(flat, self.process_group)
        total = int(total.item())
        if total < 2:
            raise ValueError(f"BatchNorm in training needs more than one value per channel over all processes, "
                             f"got {total}")
        y = (flat - mean) * torch.rsqrt(var + self.eps)
        if self.affine:
            y = y * self.weight + self.bias
        if self.training and self.track_running_stats:
            update_running_stats(self, mean, var, total)
        return y.to(x.dtype).reshape(moved.shape).movedim(-1, 1)


def update_running_stats(bn: _BatchNorm, mean: torch.Tensor, var: torch.Tensor, total: int) -> None:
    """Fold batch statistics (biased ``var`` over ``total`` rows) into bn's running buffers, as torch does."""
    with torch.no_grad():
        bn.num_batches_tracked.add_(1)
        momentum = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        bn.running_mean.lerp_(mean.detach().to(bn.running_mean.dtype), momentum)
        unbiased = var.detach() * (total / (total - 1))
        bn.running_var.lerp_(unbiased.to(bn.running_var.dtype), momentum)


def is_synchronised(bn: nn.Module) -> bool:
    """Whether ``bn`` asks for global statistics and more than one process is there to share them."""
    return isinstance(bn, (SyncBatchNorm, nn.SyncBatchNorm)) and sync_world_size(bn.process_group) > 1


def convert_sync_batchnorm(model: nn.Module, process_group=None) -> nn.Module:
    """Replace every BatchNorm (1d/2d/3d, torch's SyncBatchNorm) in ``model`` by :class:`SyncBatchNorm`.

    Parameters, buffers, ``requires_grad`` and train/eval mode carry over;
    the returned module is ``model`` itself unless ``model`` is a BatchNorm.
    Modules that are already :class:`SyncBatchNorm` get ``process_group``.
    """
    if isinstance(model, SyncBatchNorm):
        model.process_group = process_group
        return model
    if isinstance(model, _BatchNorm):
        new = SyncBatchNorm(model.num_features, model.eps, model.momentum, model.affine,
                            model.track_running_stats, process_group)
        if model.affine:
            with torch.no_grad():
                new.weight = model.weight
                new.bias = model.bias
        if model.track_running_stats:
            new.running_mean = model.running_mean
            new.running_var = model.running_var
            new.num_batches_tracked = model.num_batches_tracked
        new.train(model.training)
        return new
    for name, child in model.named_children():
        converted = convert_sync_batchnorm(child, process_group)
        if converted is not child:
            setattr(model, name, converted)
    return model
