"""Temporal action segmentation metrics against hand-computed values."""
from __future__ import annotations

import pytest

from vg4d_core.runtime.segment_metrics import edit_score, f1_at, frame_accuracy, segments_of, stream_metrics


def test_segments_are_runs_without_background():
    assert segments_of(["", "a", "a", "", "b", "b", "a"]) == [("a", 1, 2), ("b", 4, 5), ("a", 6, 6)]
    assert segments_of([]) == []


def test_identical_sequences_score_perfectly():
    seq = ["", "a", "a", "b", "b", ""]
    assert stream_metrics(seq, seq) == {"f1_at_10": 1.0, "f1_at_25": 1.0, "f1_at_50": 1.0, "edit": 100.0,
                                        "frame_accuracy": 100.0}


def test_a_late_start_keeps_f1_until_the_overlap_drops():
    truth = ["a", "a", "a", "a", "", "b", "b"]
    pred = ["", "", "", "a", "", "b", "b"]  # 'a' found one frame of four: IoU 0.25
    assert f1_at(pred, truth, 0.10) == 1.0 and f1_at(pred, truth, 0.25) == 1.0
    assert f1_at(pred, truth, 0.50) == pytest.approx(0.5)  # precision 1/2, recall 1/2
    assert edit_score(pred, truth) == 100.0
    assert frame_accuracy(pred, truth) == pytest.approx(100 * 4 / 7)


def test_over_segmentation_costs_precision_and_edit():
    truth = ["a", "a", "a", "a"]
    pred = ["a", "a", "b", "a"]
    # a[0..1] matches (IoU 0.5); b and the second a do not (the true segment is used): P 1/3, R 1
    assert f1_at(pred, truth, 0.5) == pytest.approx(0.5)
    assert edit_score(pred, truth) == pytest.approx(100 / 3)


def test_lengths_must_match():
    with pytest.raises(ValueError, match="frames"):
        f1_at(["a"], ["a", "b"], 0.5)
