"""The replay's end window passes the gates of a live window: no person, no label; unsure, withheld."""
from __future__ import annotations

import io

import numpy as np
import pytest

import test_replay_bad_bags as bags
from replay_helpers import tiny_checkpoint
from vg4d_ros.bags.replay import ReplayOptions, print_report, replay


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("gates") / "t.pt", bags.CLASSES,
                           {"name": "synthetic", "num_frames": 8, "points_per_frame": 64, "seed": 0})


def _replay(checkpoint, bag, *overrides):
    from vg4d_ros.config import load_recognizer_config

    config = load_recognizer_config(None, [f"inference.checkpoint={checkpoint}", "inference.device=cpu", "window.min_coverage=0",
                                           "window.min_frames=4", "window.hop_frames=4", *overrides])
    report = replay([bag], config, ReplayOptions(), None)
    text = io.StringIO()
    print_report(report, text)
    return report, text.getvalue()


def test_an_empty_scene_gives_no_label_and_the_report_says_why(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(bags, "_depth", lambda i: np.zeros((bags.H, bags.W), np.uint16))  # all-zero depth
    report, text = _replay(checkpoint, bags.make_bag(tmp_path / "empty"))
    (bag,) = report["bags"]
    assert bag["recognizer"]["windows_no_person"] == 4  # at frames 4, 8, 12 and the end window
    assert [w["kind"] for w in bag["windows"]] == ["end"]  # no live label
    (end,) = bag["windows"]
    assert end["status"] == "no_person" and "no person in view" in end["reason"]
    assert end["top1"] is None and end["top_k"] == [] and end["correct"] is None and end["label"] == "wave"
    assert bag["video"]["status"] == "no_person" and bag["video"]["top1"] is None
    s = report["summary"]
    assert s["labelled_windows"] == 0 and s["videos"] == 0 and s["video_accuracy"] is None
    assert s["videos_not_labelled"] == 1
    assert "end window not labelled (no_person): no person in view" in text and "(no_person)" in text


def test_an_unsure_end_window_is_withheld_not_labelled(checkpoint, tmp_path):
    report, text = _replay(checkpoint, bags.make_bag(tmp_path / "ok"), "guards.confidence_threshold=0.99")
    (bag,) = report["bags"]
    assert bag["recognizer"]["windows_unsure"] == 4 and bag["recognizer"]["windows_inferred"] == 4
    (end,) = bag["windows"]  # the live windows are withheld (not published), the end window reported as such
    assert end["kind"] == "end" and end["status"] == "unsure" and end["top1"] is None
    assert "below guards.confidence_threshold=0.99" in end["reason"] and end["latency_ms"] is not None
    assert report["summary"]["videos_not_labelled"] == 1 and "end window not labelled (unsure)" in text


def test_a_labelled_end_window_is_as_before(checkpoint, tmp_path):
    report, _ = _replay(checkpoint, bags.make_bag(tmp_path / "ok"))
    (bag,) = report["bags"]
    assert [(w["kind"], w["status"]) for w in bag["windows"]] == [("window", "labelled")] * 3 + [("end", "labelled")]
    # the end window covers the same frames as the last live one (no frame since): reported, not dropped
    assert bag["windows"][-1]["stamp_ns"] == bag["windows"][-2]["stamp_ns"] and bag["video"]["top1"] in bags.CLASSES
    assert report["summary"]["videos"] == 1 and report["summary"]["videos_not_labelled"] == 0
