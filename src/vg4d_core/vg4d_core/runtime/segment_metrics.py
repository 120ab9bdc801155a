"""Stream metrics of temporal action segmentation, on per-frame label sequences.

The definitions of the temporal action segmentation literature (Lea et al., CVPR 2017, "Temporal
Convolutional Networks for Action Segmentation and Detection"; the MS-TCN evaluation):

* segments: maximal runs of one label in a frame sequence; the background label (``""``: no action,
  an idle gap, nothing recognised) makes no segment;
* F1@k (k = 0.10, 0.25, 0.50): a predicted segment is a true positive when its IoU with a ground-truth
  segment of the same label, not matched before, is at least k (each ground-truth segment matches at
  most once, greedily by best IoU in prediction order); precision over predicted segments, recall over
  ground-truth segments, F1 their harmonic mean (0..1);
* edit score: 100 x (1 - Levenshtein distance between the predicted and ground-truth segment label
  sequences / the longer one's length);
* frame accuracy: percent of frames whose predicted label (background included) equals the truth.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

BACKGROUND = ""


def segments_of(labels: Sequence[str], background: str = BACKGROUND) -> list[tuple[str, int, int]]:
    """Runs of equal labels -> ``[(label, first, last)]`` (frame indices, inclusive), background left out."""
    out: list[tuple[str, int, int]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] != background:
                out.append((labels[start], start, i - 1))
            start = i
    return out


def f1_at(predicted: Sequence[str], truth: Sequence[str], overlap: float) -> float:
    """F1 (0..1) of predicted segments against the truth at IoU threshold ``overlap``."""
    if len(predicted) != len(truth):
        raise ValueError(f"predicted has {len(predicted)} frames, truth {len(truth)}")
    pred, gt = segments_of(predicted), segments_of(truth)
    if not pred and not gt:
        return 1.0
    used = np.zeros(len(gt), dtype=bool)
    tp = 0
    for label, s, e in pred:
        best, best_j = 0.0, -1
        for j, (gl, gs, ge) in enumerate(gt):
            if gl != label or used[j]:
                continue
            inter = max(0, min(e, ge) - max(s, gs) + 1)
            union = max(e, ge) - min(s, gs) + 1
            iou = inter / union
            if iou > best:
                best, best_j = iou, j
        if best_j >= 0 and best >= overlap:
            used[best_j] = True
            tp += 1
    precision = tp / len(pred) if pred else 0.0
    recall = tp / len(gt) if gt else 0.0
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def edit_score(predicted: Sequence[str], truth: Sequence[str]) -> float:
    """Segmental edit score, 0..100 (100 = the same sequence of segment labels)."""
    a = [s[0] for s in segments_of(predicted)]
    b = [s[0] for s in segments_of(truth)]
    if not a and not b:
        return 100.0
    d = np.zeros((len(a) + 1, len(b) + 1), dtype=np.int64)
    d[:, 0] = np.arange(len(a) + 1)
    d[0, :] = np.arange(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
    return 100.0 * (1.0 - d[len(a), len(b)] / max(len(a), len(b)))


def frame_accuracy(predicted: Sequence[str], truth: Sequence[str]) -> float:
    """Percent of frames with the true label (background included)."""
    if len(predicted) != len(truth):
        raise ValueError(f"predicted has {len(predicted)} frames, truth {len(truth)}")
    if not truth:
        raise ValueError("no frames")
    return 100.0 * float(np.mean([p == t for p, t in zip(predicted, truth)]))


def stream_metrics(predicted: Sequence[str], truth: Sequence[str]) -> dict[str, float]:
    """``f1_at_10``, ``f1_at_25``, ``f1_at_50`` (0..1), ``edit`` and ``frame_accuracy`` (percent)."""
    return {"f1_at_10": f1_at(predicted, truth, 0.10), "f1_at_25": f1_at(predicted, truth, 0.25),
            "f1_at_50": f1_at(predicted, truth, 0.50), "edit": edit_score(predicted, truth),
            "frame_accuracy": frame_accuracy(predicted, truth)}
