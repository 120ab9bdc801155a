"""Late fusion of named score tables.

Every score table is a (B, K) array of class probabilities (softmax of one
head's logits): ``pc`` (4D classifier), ``pc_text`` (4D embedding vs class
texts), ``rgb`` (video classifier), ``rgb_text`` (video vs class texts).
The fused score is their weighted mean, ``sum_s w_s p_s / sum_s w_s``:
probabilities are on one scale whatever the head, unlike logits whose scale
depends on the head's temperature.

Weights are fitted on a validation split only (:func:`fit_fusion_weights`,
an exhaustive search over a grid on the simplex), never on the test set.
"""
from __future__ import annotations

import itertools
from typing import Mapping, Sequence

import numpy as np
import torch

SCORE_NAMES: tuple[str, ...] = ("pc", "pc_text", "rgb", "rgb_text")
FUSED = "fused"


def _check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    if not weights:
        raise ValueError("fusion needs at least one weighted score")
    out = {}
    for name, w in weights.items():
        w = float(w)
        if not np.isfinite(w) or w < 0:
            raise ValueError(f"fusion weight of {name!r} must be a finite number >= 0, got {w!r}")
        out[name] = w
    if sum(out.values()) <= 0:
        raise ValueError(f"fusion weights sum to 0: {out}")
    return out


def fuse(scores: Mapping[str, np.ndarray | torch.Tensor], weights: Mapping[str, float]):
    """Weighted mean of the tables named in ``weights`` (zero weights are skipped).

    Tables are (B, K) probabilities, numpy or torch (the result has the type of the first).
    """
    weights = {k: w for k, w in _check_weights(weights).items() if w > 0}
    missing = [k for k in weights if k not in scores]
    if missing:
        raise KeyError(f"fusion needs scores {missing}; available: {sorted(scores)}")
    total = sum(weights.values())
    out = None
    for name, w in weights.items():
        term = scores[name] * (w / total)
        out = term if out is None else out + term
    return out


def weight_grid(names: Sequence[str], step: float = 0.1) -> list[dict[str, float]]:
    """Every weight vector on the simplex over ``names`` with entries in multiples of ``step``,
    each score weighted > 0 (a subset is its own combination), in a fixed order."""
    n = round(1 / step)
    if abs(n * step - 1) > 1e-9 or n < 1:
        raise ValueError(f"step must divide 1, got {step}")
    grid = []
    for parts in itertools.product(range(1, n + 1), repeat=len(names)):
        if sum(parts) == n:
            grid.append({name: p / n for name, p in zip(names, parts)})
    return grid


# what fit_fusion_weights maximises, as the result files state it
FIT_OBJECTIVE = ("top-1 of the weighted mean of the probability tables on the validation videos, over every "
                 "weight vector on the simplex in steps of {step} (each score > 0); ties: higher mean "
                 "probability of the true class, then the most uniform weights, then grid order")


def fit_fusion_weights(val_scores: Mapping[str, np.ndarray], labels: np.ndarray, names: Sequence[str],
                       step: float = 0.1) -> dict[str, float]:
    """Weights over ``names`` maximising top-1 on a validation split.

    Ties go to the candidate with the higher mean probability of the true
    class, then to the most uniform weights, then to the grid order: the
    result depends on the validation data alone.
    """
    names = list(names)
    if len(names) == 1:
        return {names[0]: 1.0}
    labels = np.asarray(labels, dtype=np.int64)
    tables = {n: np.asarray(val_scores[n], dtype=np.float64) for n in names}
    best, best_key = None, None
    rows = np.arange(labels.shape[0])
    for w in weight_grid(names, step):
        fused = fuse(tables, w)
        acc = float((fused.argmax(axis=1) == labels).mean())
        true_p = float(fused[rows, labels].mean())
        spread = -float(np.var(list(w.values())))
        key = (round(acc, 12), round(true_p, 12), spread)
        if best_key is None or key > best_key:
            best, best_key = w, key
    return dict(best)
