"""SGD with momentum (or AdamW) and the per-step warmup + cosine learning-rate schedule."""
from __future__ import annotations

import math

import torch
from torch import nn

from vg4d_core.training.config import OptimizerConfig, ScheduleConfig


def lr_at(step: int, *, total_steps: int, warmup_steps: int, base_lr: float, min_lr: float = 0.0,
          warmup_start_factor: float = 0.0) -> float:
    """Learning rate for optimizer step ``step`` (0-based) of ``total_steps``.

    Linear warmup from ``warmup_start_factor * base_lr`` to ``base_lr`` over
    ``warmup_steps``, then half a cosine from ``base_lr`` down to ``min_lr``,
    reached at the last step. Steps past the end stay at ``min_lr``.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if not 0 <= warmup_steps <= total_steps:
        raise ValueError(f"warmup_steps must be in [0, {total_steps}], got {warmup_steps}")
    if step < warmup_steps:
        frac = step / warmup_steps
        return base_lr * (warmup_start_factor + (1.0 - warmup_start_factor) * frac)
    decay_steps = total_steps - warmup_steps
    if decay_steps <= 1:
        return base_lr if step == warmup_steps else min_lr
    t = min((step - warmup_steps) / (decay_steps - 1), 1.0)  # 0 -> 1 over the decay phase
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * t))


def build_optimizer(model: nn.Module, cfg: OptimizerConfig) -> torch.optim.Optimizer:
    """SGD (or AdamW, ``cfg.name``) over the trainable parameters only, in two groups: matrices and
    kernels (ndim >= 2) get weight decay; biases and norm scales (ndim < 2) do
    not, unless ``cfg.decay_bias_and_norm`` (decaying a BatchNorm scale toward
    0 only fights the normalisation)."""
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 or cfg.decay_bias_and_norm else no_decay).append(p)
    if not decay and not no_decay:
        raise ValueError("the model has no trainable parameters")
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)


def build_scheduler(optimizer: torch.optim.Optimizer, opt_cfg: OptimizerConfig, cfg: ScheduleConfig,
                    steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step LambdaLR following :func:`lr_at`; call ``.step()`` after every optimizer step."""
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch} "
                         "(training set smaller than one global batch?)")
    total = cfg.epochs * steps_per_epoch
    warmup = min(int(round(cfg.warmup_epochs * steps_per_epoch)), total)
    base = opt_cfg.lr

    def factor(step: int) -> float:
        return lr_at(step, total_steps=total, warmup_steps=warmup, base_lr=base, min_lr=cfg.min_lr,
                     warmup_start_factor=cfg.warmup_start_factor) / base

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
