"""`vg4d replay --rate R`: messages at R x their recorded pace, so a model slower than the window
rate loses windows to the newest-window-wins rule, counted as live; as fast as possible loses none."""
from __future__ import annotations

import time

import pytest

from replay_helpers import TEST_INDICES, tiny_checkpoint, write_raw
from vg4d_core.cli import main as vg4d


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    from vg4d_core.data import ntu

    root = tmp_path_factory.mktemp("rate")
    names = write_raw(root / "raw", TEST_INDICES[:1], frames=(24, 24))  # 0.8 s at 30 Hz
    assert vg4d(["ntu2bag", "--root", str(root / "raw"), "--out", str(root / "bags"), "--no-rgb"]) == 0
    data = {"name": "ntu", "num_frames": 4, "points_per_frame": 32, "seed": 0, "rgb": False}
    return root / "bags" / sorted(names)[0], tiny_checkpoint(root / "tiny.pt", ntu.CLASS_NAMES[:60], data)


def _slow(monkeypatch, seconds):
    """Every inference takes ``seconds`` longer (a model far slower than a window every 2 frames)."""
    from vg4d_ros.pipeline import recognizer

    real = recognizer.Recognizer.infer

    def slow_infer(self, *args, **kwargs):
        time.sleep(seconds)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(recognizer.Recognizer, "infer", slow_infer)


@pytest.mark.parametrize("rate, dropped", [(0.0, False), (1.0, True)])
def test_paced_replay_drops_windows_like_the_live_node(bag, tmp_path, monkeypatch, rate, dropped):
    import json

    path, ck = bag
    # 24 frames, a window every 2 (67 ms at 30 Hz): 12 windows + the end one; 0.3 s of inference
    # each: at the recorded pace (0.8 s in all) most
    # windows arrive while the worker is busy; as fast as possible, replay waits for each one
    _slow(monkeypatch, 0.3)
    args = ["replay", str(path), "--checkpoint", str(ck), "--out", str(tmp_path / "out"), "--quiet",
            "--rate", str(rate), "window.min_frames=2", "window.hop_frames=2", "inference.device=cpu", "window.min_coverage=0",
            "foreground.min_depth=0", "foreground.max_depth=0"]
    assert vg4d(args) == 0
    s = json.loads((tmp_path / "out" / "report.json").read_text())["summary"]
    if dropped:
        assert s["warnings"]["windows_dropped"] > 0
        assert s["windows"] < 12  # fewer labelled windows than formed
    else:
        assert s["warnings"]["windows_dropped"] == 0 and s["windows"] == 13
