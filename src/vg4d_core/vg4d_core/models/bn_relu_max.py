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


class _BNReLUMax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, weight, bias, running_mean, running_var, eps):
        # h (P, k, C); running_mean/var (C,) or None: normalise with the batch statistics
        batch_stats = running_mean is None
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
        ctx.batch_stats = batch_stats
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    def backward(ctx, grad_out, _grad_mean, _grad_var):
        h, weight, mean, invstd, sel, idx, out = ctx.saved_tensors
        p, k, _ = h.shape
        g = grad_out * (out > 0)  # through the ReLU, (P, C)
        d_bias = g.sum(0)
        d_weight = (g * (sel - mean) * invstd).sum(0)
        scale = weight * invstd
        if ctx.batch_stats:
            # d h = a (onehot(g) - d_bias / n - xhat * d_weight / n): the dense part is affine in h
            n = p * k
            beta = -(scale / n) * invstd * d_weight
            alpha = -(scale / n) * d_bias - beta * mean
            grad_h = torch.addcmul(alpha, h, beta)
        else:  # running statistics are constants
            grad_h = torch.zeros_like(h)
        grad_h.scatter_add_(1, idx.unsqueeze(1), (g * scale).unsqueeze(1).to(grad_h.dtype))
        return grad_h, d_weight, d_bias, None, None, None


def _batch_stats(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of h (..., C)."""
    flat = h.reshape(-1, h.shape[-1])
    if flat.is_cuda:
        var, mean = torch.var_mean(flat, dim=0, correction=0)  # one Welford kernel
        return mean, var
    # on CPU var_mean over the leading dim is several times slower than two plain sums
    mean = flat.sum(0) / flat.shape[0]
    return mean, (flat - mean).square_().sum(0) / flat.shape[0]


def _forward_only(h: torch.Tensor, bn: nn.BatchNorm1d, batch_stats: bool):
    """No autograd: the same result from amax/amin, which need no indices."""
    mean, var = _batch_stats(h) if batch_stats else (bn.running_mean, bn.running_var)
    scale = bn.weight * torch.rsqrt(var + bn.eps)
    sel = torch.where(scale >= 0, h.amax(dim=1), h.amin(dim=1))
    return ((sel - mean) * scale + bn.bias).clamp_min(0), mean, var


def bn_relu_max(h: torch.Tensor, bn: nn.BatchNorm1d) -> torch.Tensor:
    """``ReLU(bn(h)).max(dim=1)`` for h (P, k, C) -> (P, C), with ``bn``'s train/eval semantics.

    In training mode the batch statistics over all P*k entries normalise and
    the running statistics are updated as :class:`torch.nn.BatchNorm1d` does.
    """
    if h.dim() != 3 or h.shape[-1] != bn.num_features:
        raise ValueError(f"h must have shape (P, k, {bn.num_features}), got {tuple(h.shape)}")
    if not bn.affine:
        raise ValueError("bn_relu_max needs an affine BatchNorm (weight and bias)")
    batch_stats = bn.training or not bn.track_running_stats
    n = h.shape[0] * h.shape[1]
    if batch_stats and n < 2:
        raise ValueError(f"BatchNorm in training needs more than one value per channel, got h {tuple(h.shape)}")
    if torch.is_grad_enabled() and (h.requires_grad or bn.weight.requires_grad):
        running = (None, None) if batch_stats else (bn.running_mean, bn.running_var)
        out, mean, var = _BNReLUMax.apply(h, bn.weight, bn.bias, *running, bn.eps)
    else:
        with torch.no_grad():
            out, mean, var = _forward_only(h, bn, batch_stats)
    if bn.training and bn.track_running_stats:
        with torch.no_grad():
            bn.num_batches_tracked.add_(1)
            momentum = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
            bn.running_mean.lerp_(mean.to(bn.running_mean.dtype), momentum)
            bn.running_var.lerp_((var * (n / (n - 1))).to(bn.running_var.dtype), momentum)
    return out
