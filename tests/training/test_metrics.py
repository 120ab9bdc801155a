"""Evaluation metrics on hand-made score tables (answers worked out by hand)."""
import json

import numpy as np
import pytest

from vg4d_core.runtime.metrics import (confusion_matrix, per_class_accuracy, summarize, topk_accuracy,
                                          video_level)
from vg4d_core.evaluation.plot import plot_confusion

# 5 videos, 4 classes. Ranking per row (best first):
#   v0: 0 1 2 3  label 0 -> top1 hit
#   v1: 2 1 0 3  label 1 -> top1 miss, top2 hit
#   v2: 3 2 1 0  label 2 -> top1 miss, top2 hit
#   v3: 3 0 1 2  label 3 -> top1 hit
#   v4: 0 3 2 1  label 1 -> miss up to top3, top4 hit
SCORES = np.array([
    [0.9, 0.5, 0.3, 0.1],
    [0.2, 0.3, 0.4, 0.1],
    [0.0, 0.1, 0.2, 0.7],
    [0.3, 0.2, 0.1, 0.4],
    [0.6, 0.1, 0.2, 0.3],
])
LABELS = np.array([0, 1, 2, 3, 1])


def test_topk_by_hand():
    assert topk_accuracy(SCORES, LABELS, 1) == pytest.approx(40.0)
    assert topk_accuracy(SCORES, LABELS, 2) == pytest.approx(80.0)
    assert topk_accuracy(SCORES, LABELS, 3) == pytest.approx(80.0)
    assert topk_accuracy(SCORES, LABELS, 4) == pytest.approx(100.0)
    # k larger than the class count counts everything
    assert topk_accuracy(SCORES, LABELS, 5) == pytest.approx(100.0)


def test_ties_go_to_the_lower_class():
    scores = np.zeros((2, 3))
    assert topk_accuracy(scores, np.array([0, 1]), 1) == pytest.approx(50.0)


def test_confusion_and_per_class_by_hand():
    cm = confusion_matrix(SCORES, LABELS)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 0] = 1  # v0
    expected[1, 2] = 1  # v1 predicted 2
    expected[2, 3] = 1  # v2 predicted 3
    expected[3, 3] = 1  # v3
    expected[1, 0] = 1  # v4 predicted 0
    np.testing.assert_array_equal(cm, expected)
    np.testing.assert_allclose(per_class_accuracy(cm), [100.0, 0.0, 0.0, 100.0])


def test_class_without_videos_is_nan_not_zero():
    cm = confusion_matrix(np.array([[1.0, 0.0, 0.0]]), np.array([0]))
    acc = per_class_accuracy(cm)
    assert acc[0] == 100.0 and np.isnan(acc[1]) and np.isnan(acc[2])


def test_summarize_keys_and_json():
    out = summarize(SCORES, LABELS, ["a", "b", "c", "d"])
    assert out["top1"] == pytest.approx(40.0) and out["top5"] == pytest.approx(100.0)
    assert out["per_class"]["b"] == {"accuracy": 0.0, "correct": 0, "support": 2}
    assert out["per_class"]["a"]["accuracy"] == 100.0
    assert out["mean_class_accuracy"] == pytest.approx(50.0)
    assert out["num_videos"] == 5
    assert out["confusion"][1] == [1, 0, 1, 0]
    json.dumps(out)  # plain types only


def test_video_level_means_clip_scores():
    clip = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([0, 0, 1, 1])
    scores, vlabels, ids = video_level(clip, labels, ["x", "x", "y", "y"])
    assert ids == ["x", "y"]
    np.testing.assert_allclose(scores, [[0.55, 0.45], [0.45, 0.55]])
    np.testing.assert_array_equal(vlabels, [0, 1])
    # per clip 3/4 right (clip 1 of x is wrong); per video both right
    assert topk_accuracy(clip, labels, 1) == pytest.approx(50.0)
    assert topk_accuracy(scores, vlabels, 1) == pytest.approx(100.0)


def test_video_level_order_independent_grouping():
    clip = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    scores, _, ids = video_level(clip, np.array([1, 0, 1]), ["b", "a", "b"])
    assert ids == ["b", "a"]
    np.testing.assert_allclose(scores, [[0.5, 0.5], [0.0, 1.0]])


def test_bad_input_errors():
    with pytest.raises(ValueError, match="labels must lie in"):
        topk_accuracy(SCORES, np.array([0, 1, 2, 4, 0]))
    with pytest.raises(ValueError, match=r"\(V, K\)"):
        topk_accuracy(SCORES[0], LABELS)
    with pytest.raises(TypeError, match="integers"):
        topk_accuracy(SCORES, LABELS.astype(float))
    with pytest.raises(ValueError, match="k must be"):
        topk_accuracy(SCORES, LABELS, 0)
    with pytest.raises(ValueError, match="disagree"):
        video_level(np.ones((2, 2)), np.array([0, 1]), ["v", "v"])
    with pytest.raises(ValueError, match="class_names"):
        summarize(SCORES, LABELS, ["a"])
    with pytest.raises(ValueError, match="NaN"):
        topk_accuracy(np.full((1, 2), np.nan), np.array([0]))


def test_confusion_png(tmp_path):
    cm = confusion_matrix(SCORES, LABELS)
    path = plot_confusion(cm, ["a", "b", "c", "d"], tmp_path / "cm.png", title="hand-made")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="class_names"):
        plot_confusion(cm, ["a"], tmp_path / "x.png")
