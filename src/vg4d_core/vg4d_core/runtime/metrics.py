"""Classification metrics on a video-level score table.

Pure functions on NumPy arrays, no model or data loading: ``scores`` is a
``(V, K)`` float table (one row per video, one column per class; any
monotonic score works: logits, probabilities, log-probabilities) and
``labels`` a ``(V,)`` integer array of true classes in ``[0, K)``.
Accuracies are returned as percentages (0..100), as papers report them.

Clip-to-video pooling (a video's score is the mean of its clips' scores, the
protocol of the 4D point-cloud literature) is :func:`video_level`.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

BEST_ON_TEST_NOTE = ("selected on the TEST set (best epoch); not a valid estimate of accuracy - "
                     "reported only for comparison with papers that report it")


def _check_table(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    if scores.ndim != 2:
        raise ValueError(f"scores must be a (V, K) table, got shape {scores.shape}")
    if labels.ndim != 1 or labels.shape[0] != scores.shape[0]:
        raise ValueError(f"labels must have shape ({scores.shape[0]},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    if scores.shape[0] == 0:
        raise ValueError("scores is empty: no videos to evaluate")
    k = scores.shape[1]
    bad = (labels < 0) | (labels >= k)
    if bad.any():
        raise ValueError(f"labels must lie in [0, {k}), got {labels[bad][:5].tolist()}")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values")
    return scores, labels.astype(np.int64)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Percentage of rows whose true class is among the ``k`` highest scores.

    Ties are broken towards the lower class index (stable sort), so a row of
    equal scores counts as predicting classes ``0..k-1``.
    """
    scores, labels = _check_table(scores, labels)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = min(int(k), scores.shape[1])
    # stable argsort of -scores: equal scores keep class order
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # (V, k)
    hit = (top == labels[:, None]).any(axis=1)
    return float(100.0 * hit.mean())


def predictions(scores: np.ndarray) -> np.ndarray:
    """(V, K) scores -> (V,) predicted class (first maximum on ties)."""
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be a (V, K) table, got shape {scores.shape}")
    return scores.argmax(axis=1)


def confusion_matrix(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(K, K) int64 counts; row = true class, column = predicted class."""
    scores, labels = _check_table(scores, labels)
    k = scores.shape[1]
    pred = predictions(scores)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """(K, K) confusion matrix -> (K,) recall per class in percent; NaN for a
    class with no video (it cannot be scored, and 0 would be a lie)."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    support = cm.sum(axis=1).astype(np.float64)
    correct = np.diag(cm).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, 100.0 * correct / np.maximum(support, 1), np.nan)


def video_level(clip_scores: np.ndarray, clip_labels: np.ndarray,
                videos: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Pool clip rows into video rows by the mean of their scores.

    clip_scores (C, K), clip_labels (C,), videos: C video ids ->
    (V, K) mean scores, (V,) labels, the V ids in order of first appearance.
    All clips of one video must carry the same label.
    """
    clip_scores, clip_labels = _check_table(clip_scores, clip_labels)
    videos = list(videos)
    if len(videos) != clip_scores.shape[0]:
        raise ValueError(f"videos has {len(videos)} ids for {clip_scores.shape[0]} clips")
    ids: dict[str, int] = {}
    rows = np.empty(len(videos), dtype=np.int64)
    for i, v in enumerate(videos):
        rows[i] = ids.setdefault(v, len(ids))
    n = len(ids)
    sums = np.zeros((n, clip_scores.shape[1]), dtype=np.float64)
    np.add.at(sums, rows, clip_scores.astype(np.float64))
    counts = np.bincount(rows, minlength=n).astype(np.float64)
    labels = np.full(n, -1, dtype=np.int64)
    labels[rows] = clip_labels
    # every clip's label must equal its video's (the last write above)
    if (labels[rows] != clip_labels).any():
        bad = sorted({videos[i] for i in np.nonzero(labels[rows] != clip_labels)[0]})
        raise ValueError(f"clips of one video disagree on the label: {bad[:5]}")
    return sums / counts[:, None], labels, list(ids)


def summarize(scores: np.ndarray, labels: np.ndarray, class_names: Sequence[str] | None = None,
              topk: Sequence[int] = (1, 5)) -> dict[str, Any]:
    """All metrics of one (V, K) table as a JSON-ready dict.

    Keys: ``top1``, ``top5`` (percent), ``mean_class_accuracy`` (percent, over
    classes present), ``per_class`` (name -> {accuracy, correct, support}),
    ``confusion`` (K x K nested lists, rows true, columns predicted),
    ``class_names``, ``num_videos``.
    """
    scores, labels = _check_table(scores, labels)
    k = scores.shape[1]
    if class_names is None:
        class_names = [str(i) for i in range(k)]
    class_names = list(class_names)
    if len(class_names) != k:
        raise ValueError(f"class_names has {len(class_names)} names for {k} score columns")
    cm = confusion_matrix(scores, labels)
    acc = per_class_accuracy(cm)
    out: dict[str, Any] = {f"top{t}": topk_accuracy(scores, labels, t) for t in topk}
    present = ~np.isnan(acc)
    out["mean_class_accuracy"] = float(acc[present].mean())
    out["num_videos"] = int(scores.shape[0])
    out["per_class"] = {
        name: {
            "accuracy": None if np.isnan(a) else float(a),
            "correct": int(cm[i, i]),
            "support": int(cm[i].sum()),
        }
        for i, (name, a) in enumerate(zip(class_names, acc))
    }
    out["class_names"] = class_names
    out["confusion"] = cm.tolist()
    return out


def run_summary(history: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Headline = the last epoch's test metrics; best-on-test only as a labelled extra."""
    evaluated = [r for r in history if "test_top1" in r]
    out: dict[str, Any] = {"epochs": len(history)}
    if not evaluated:
        return out
    last = evaluated[-1]
    out["headline"] = {"selection": "final epoch", "epoch": last["epoch"], "top1": last["test_top1"],
                       "top5": last.get("test_top5")}
    best = max(evaluated, key=lambda r: (r["test_top1"], -r["epoch"]))
    out["best_on_test"] = {"epoch": best["epoch"], "top1": best["test_top1"], "note": BEST_ON_TEST_NOTE}
    return out
