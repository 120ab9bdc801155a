"""Confusion-matrix figure (PNG) with matplotlib's non-interactive backend."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], path: str | Path,
                   title: str = "", normalize: bool = True) -> Path:
    """Write a (K, K) confusion matrix (rows true, columns predicted) as a PNG.

    With ``normalize`` each row is divided by its count, so the diagonal reads
    as per-class recall; rows of classes without videos stay 0. Cell numbers
    are drawn only when K <= 30 (beyond that they are unreadable).
    """
    import matplotlib

    matplotlib.use("Agg", force=True)  # no display on training machines
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=np.float64)
    k = cm.shape[0]
    if cm.ndim != 2 or cm.shape[1] != k:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    if len(class_names) != k:
        raise ValueError(f"class_names has {len(class_names)} names for a {k}x{k} matrix")
    shown = cm
    if normalize:
        rows = cm.sum(axis=1, keepdims=True)
        shown = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)

    size = min(4.0 + 0.28 * k, 40.0)
    fig, ax = plt.subplots(figsize=(size, size))
    try:
        im = ax.imshow(shown, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        fontsize = max(3, min(9, int(300 / max(k, 1))))
        ax.set_xticklabels(class_names, rotation=90, fontsize=fontsize)
        ax.set_yticklabels(class_names, fontsize=fontsize)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if title:
            ax.set_title(title)
        if k <= 30:
            for i in range(k):
                for j in range(k):
                    if cm[i, j]:
                        val = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                        ax.text(j, i, val, ha="center", va="center", fontsize=fontsize - 1,
                                color="white" if shown[i, j] > 0.5 * shown.max() else "black")
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
    return path
