"""BatchNorm + ReLU + max over neighbours, fused: ``max_k ReLU(BN(h))`` without the full-size temporaries.

BatchNorm is a per-channel affine map ``y = a (h - mean) + b`` with
``a = weight / sqrt(var + eps)``, and ReLU is non-decreasing, so

    max_k ReLU(a (h_k - mean) + b) = ReLU(a (sel - mean) + b),
    sel = max_k h_k where a >= 0, min_k h_k where a < 0,

exactly (rounding is monotone too). The forward pass therefore reads the
(P, k, C) input a few times (statistics, max, min) and writes only (P, C)
results; the backward pass writes the input gradient once: BatchNorm's
batch-statistics terms are dense but affine in ``h`` (one fused
multiply-add), and the pooled gradient lands on one neighbour per output
(one scatter). The unfused chain materialises the normalised and rectified
tensors and reads them again in both directions.

Ties between neighbours send the whole gradient to one of them (like
``torch.max(dim)``), where ``amax`` would split it.
"""
from __future__ import annotations

import torch
from torch import nn

from .sync_batchnorm import all_reduce_grad_sums, global_moments, is_synchronised, update_running_stats


class _BNReLUMax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, weight, bias, running_mean, running_var, eps, sync):
        # h (P, k, C); running_mean/var (C,) or None: normalise with the batch statistics;
        # sync: None (this process's statistics) or (process_group,): the group's global statistics
        batch_stats = running_mean is None
        count = h.shape[0] * h.shape[1]
        if batch_stats and sync is not None:
            mean, var, count = global_moments(h.reshape(-1, h.shape[-1]), sync[0])
        else:
            mean, var = _batch_stats(h) if batch_stats else (running_mean, running_var)
        invstd = torch.rsqrt(var + eps)
        scale = weight * invstd
        h_max, i_max = h.max(dim=1)
        h_min, i_min = h.min(dim=1)
        pos = scale >= 0
        sel = torch.where(pos, h_max, h_min)  # (P, C): the neighbour each output comes from
        idx = torch.where(pos, i_max, i_min)
        out = ((sel - mean) * scale + bias).clamp_min(0)
        ctx.save_for_backward(h, weight, mean, invstd, sel, idx, out)
        ctx.batch_stats, ctx.count, ctx.sync = batch_stats, count, sync
        count_t = torch.tensor(count, dtype=torch.int64)
        ctx.mark_non_differentiable(mean, var, count_t)
        return out, mean, var, count_t

    @staticmethod
    def backward(ctx, grad_out, _grad_mean, _grad_var, _grad_count):
        h, weight, mean, invstd, sel, idx, out = ctx.saved_tensors
        p, k, _ = h.shape
        g = grad_out * (out > 0)  # through the ReLU, (P, C)
        d_bias = g.sum(0)
        d_weight = (g * (sel - mean) * invstd).sum(0)
        scale = weight * invstd
        if ctx.batch_stats:
            # d h = a (onehot(g) - d_bias / n - xhat * d_weight / n): the dense part is affine in h
            # synchronised: the two sums run over the global batch (as torch's SyncBatchNorm
            # all-reduces sum_dy and sum_dy_xmu); the parameter gradients stay local for DDP
            n = ctx.count
            sum_b, sum_w = d_bias, d_weight
            if ctx.sync is not None:
                sums = all_reduce_grad_sums(torch.stack([d_bias, d_weight]), ctx.sync[0])
                sum_b, sum_w = sums[0], sums[1]
            beta = -(scale / n) * invstd * sum_w
            alpha = -(scale / n) * sum_b - beta * mean
            grad_h = torch.addcmul(alpha, h, beta)
        else:  # running statistics are constants
            grad_h = torch.zeros_like(h)
        grad_h.scatter_add_(1, idx.unsqueeze(1), (g * scale).unsqueeze(1).to(grad_h.dtype))
        return grad_h, d_weight, d_bias, None, None, None, None


def _batch_stats(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of h (..., C)."""
    flat = h.reshape(-1, h.shape[-1])
    if flat.is_cuda:
        var, mean = torch.var_mean(flat, dim=0, correction=0)  # one Welford kernel
        return mean, var
    # on CPU var_mean over the leading dim is several times slower than two plain sums
    mean = flat.sum(0) / flat.shape[0]
    return mean, (flat - mean).square_().sum(0) / flat.shape[0]


def _forward_only(h: torch.Tensor, bn: nn.BatchNorm1d, batch_stats: bool, sync):
    """No autograd: the same result from amax/amin, which need no indices."""
    count = h.shape[0] * h.shape[1]
    if batch_stats and sync is not None:
        mean, var, count = global_moments(h.reshape(-1, h.shape[-1]), sync[0])
    else:
        mean, var = _batch_stats(h) if batch_stats else (bn.running_mean, bn.running_var)
    scale = bn.weight * torch.rsqrt(var + bn.eps)
    sel = torch.where(scale >= 0, h.amax(dim=1), h.amin(dim=1))
    return ((sel - mean) * scale + bn.bias).clamp_min(0), mean, var, count


def bn_relu_max(h: torch.Tensor, bn: nn.BatchNorm1d) -> torch.Tensor:
    """``ReLU(bn(h)).max(dim=1)`` for h (P, k, C) -> (P, C), with ``bn``'s train/eval semantics.

    In training mode the batch statistics over all P*k entries normalise and
    the running statistics are updated as :class:`torch.nn.BatchNorm1d` does.
    When ``bn`` is a synchronised BatchNorm (:class:`~vg4d_core.models.sync_batchnorm.SyncBatchNorm`
    or torch's) in a group of several processes, the statistics (and the
    backward pass's two per-channel sums) are those of the whole group's batch.
    """
    if h.dim() != 3 or h.shape[-1] != bn.num_features:
        raise ValueError(f"h must have shape (P, k, {bn.num_features}), got {tuple(h.shape)}")
    if not bn.affine:
        raise ValueError("bn_relu_max needs an affine BatchNorm (weight and bias)")
    batch_stats = bn.training or not bn.track_running_stats
    sync = (bn.process_group,) if batch_stats and is_synchronised(bn) else None
    n = h.shape[0] * h.shape[1]
    if batch_stats and sync is None and n < 2:
        raise ValueError(f"BatchNorm in training needs more than one value per channel, got h {tuple(h.shape)}")
    if torch.is_grad_enabled() and (h.requires_grad or bn.weight.requires_grad):
        running = (None, None) if batch_stats else (bn.running_mean, bn.running_var)
        out, mean, var, count = _BNReLUMax.apply(h, bn.weight, bn.bias, *running, bn.eps, sync)
        count = int(count)
    else:
        with torch.no_grad():
            out, mean, var, count = _forward_only(h, bn, batch_stats, sync)
    if batch_stats and count < 2:
        raise ValueError(f"BatchNorm in training needs more than one value per channel over all processes, "
                         f"got {count}")
    if bn.training and bn.track_running_stats:
        update_running_stats(bn, mean, var, count)  # unbiased with the (global) count
    return out
