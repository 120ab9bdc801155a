"""The recogniser core on a tiny real checkpoint and on a fake predictor (no rclpy, no DDS)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from recognizer_helpers import (CLASS_NAMES, FRAMES, POINTS, bad_depth_msg, camera_info_msg, depth_msg, rgb_msg,
                                tiny_checkpoint)
from vg4d_ros.config import load_recognizer_config
from vg4d_ros.pipeline.counters import Reservoir
from vg4d_ros.pipeline.recognizer import Recognizer
from vg4d_ros.pipeline.model import LoadedModel, RecognizerError, load_model, resolve

PERIOD = 33_333_333  # 30 Hz in ns
T0 = 5_000_000_000


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt")


def config(ckpt, *overrides):
    return load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={ckpt}", "inference.device=cpu", "window.min_coverage=0", "window.views=1",
                                                             "window.hop_frames=6", "window.min_frames=6", *overrides])


class FakePredictor:
    """Probabilities that put all mass on class (window's first x > 0) - and can be held back."""

    class_names = list(CLASS_NAMES)
    score_names = ("pc",)
    inputs = ("points",)

    def __init__(self):
        self.gate = threading.Event()
        self.gate.set()
        self.calls = 0

    def __call__(self, batch):
        self.gate.wait(10)
        self.calls += 1
        p = torch.tensor([[0.1, 0.6, 0.2, 0.1]])
        return {"pc": p}


def fake_model(**dc):
    return LoadedModel(FakePredictor(), list(CLASS_NAMES), {"num_frames": 4, "points_per_frame": 8, "seed": 0, **dc},
                       {}, "fake.pt")


def feed(rec, ts, n, start=0, rgb=False):
    rec.on_camera_info(camera_info_msg(ts, T0))
    for i in range(start, start + n):
        stamp = T0 + i * PERIOD
        rec.on_depth(depth_msg(ts, i, stamp))
        if rgb:
            rec.on_rgb(rgb_msg(ts, stamp))


def test_settings_come_from_the_checkpoint(ckpt):
    model = load_model(config(ckpt))
    s = resolve(config(ckpt), model)
    assert (s.window.num_segments, s.window.points_per_frame) == (FRAMES, POINTS)
    assert s.window.window_s == 3.0 and s.window_s_source == "fallback"
    assert s.scores == ("pc",) and s.primary == "pc" and s.top_k == 4


def test_window_length_recorded_in_the_checkpoint_wins(tmp_path):
    path = tiny_checkpoint(tmp_path / "t.pt", extra={"typical_video_s": 2.5})
    s = resolve(config(path), load_model(config(path)))
    assert (s.window.window_s, s.window_s_source) == (2.5, "checkpoint")
    s = resolve(config(path, "window.window_s=1.5"), load_model(config(path)))
    assert (s.window.window_s, s.window_s_source) == (1.5, "config")


def test_bad_checkpoints_fail_at_configure(tmp_path):
    with pytest.raises(RecognizerError, match="checkpoint not found"):
        load_model(config(tmp_path / "missing.pt"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RecognizerError, match="is a text file, not a checkpoint"):
        load_model(config(tmp_path / "junk.pt"))
    with pytest.raises(RecognizerError, match="no checkpoint"):
        load_model(config(""))
    import torch as _torch
    state = _torch.load(tiny_checkpoint(tmp_path / "fit.pt"), weights_only=True)
    state["arch"]["embed_dim"] = 32  # the weights are of a 16-d projection
    _torch.save(state, tmp_path / "misfit.pt")
    with pytest.raises(RecognizerError, match="weights do not fit the architecture"):
        load_model(config(tmp_path / "misfit.pt"))
    with pytest.raises(RecognizerError, match="cannot produce scores"):
        load_model(config(tiny_checkpoint(tmp_path / "t.pt"), "inference.scores=rgb"))


def test_labels_a_stream_with_the_newest_stamp(ckpt, typestore):
    results = []
    rec = Recognizer(config(ckpt), load_model(config(ckpt)), results.append)
    rec.start()
    try:
        feed(rec, typestore, 12)
        assert rec.wait_idle(60)
    finally:
        rec.stop()
    st = rec.stats()
    assert st["windows_formed"] == 2  # frames 6 and 12 (min_frames 6, hop 6)
    assert st["windows_inferred"] + st["windows_dropped"] == 2
    last = results[-1]
    assert last.stamp_ns == T0 + 11 * PERIOD and last.frame_id == "camera_depth_optical_frame"
    assert [n for n, _ in last.top_k] and {n for n, _ in last.top_k} <= set(CLASS_NAMES)
    scores = [s for _, s in last.top_k]
    assert scores == sorted(scores, reverse=True) and abs(sum(scores) - 1) < 1e-5  # top-4 of 4 classes
    assert st["messages"] == {"camera_info": 1, "depth": 12}
    assert st["latency_ms_p50"] is not None


def test_result_equals_the_predictor_on_the_same_window(ckpt, typestore):
    from vg4d_core.runtime.collate import collate_clips
    results = []
    cfg = config(ckpt)
    model = load_model(cfg)
    rec = Recognizer(cfg, model, results.append)
    rec.start()
    feed(rec, typestore, 6)
    rec.wait_idle(60)
    window = rec.buffer.window()
    rec.stop()
    probs = model.predictor(collate_clips([{"points": window.points, "label": 0, "video": "x"}]))["pc"][0].numpy()
    np.testing.assert_array_equal(results[0].scores["pc"], probs)
    assert results[0].top_k[0] == (CLASS_NAMES[int(probs.argmax())], float(probs.max()))


def test_newest_window_wins_and_drops_are_counted(typestore):
    model = fake_model()
    results = []
    rec = Recognizer(config("fake.pt", "window.min_frames=2", "window.hop_frames=2"), model, results.append)
    model.predictor.gate.clear()  # inference blocks: windows pile up
    rec.start()
    feed(rec, typestore, 2)  # window 1 -> taken by the worker, blocked
    for _ in range(100):
        if rec.mailbox.busy:
            break
        threading.Event().wait(0.01)
    feed(rec, typestore, 6, start=2)  # windows 2, 3, 4: 2 and 3 dropped, 4 pending
    model.predictor.gate.set()
    assert rec.wait_idle(10)
    rec.stop()
    st = rec.stats()
    assert (st["windows_formed"], st["windows_inferred"], st["windows_dropped"]) == (4, 2, 2)
    assert [r.stamp_ns for r in results] == [T0 + 1 * PERIOD, T0 + 7 * PERIOD]
    assert results[0].top_k[:2] == [("bow", pytest.approx(0.6)), ("kick", pytest.approx(0.2))]


def test_malformed_messages_are_counted_and_processing_goes_on(typestore):
    logs = []
    rec = Recognizer(config("fake.pt", "window.min_frames=2", "window.hop_frames=2"), fake_model(), lambda r: None,
                     log=lambda lvl, text: logs.append((lvl, text)))
    rec.start()
    rec.on_depth(depth_msg(typestore, 0, T0))  # before camera_info: waits, not malformed
    feed(rec, typestore, 1, start=1)
    rec.on_depth(bad_depth_msg(typestore, T0 + 2 * PERIOD))
    rec.on_depth(object())  # no header at all
    rec.on_camera_info(object())
    feed(rec, typestore, 2, start=3)
    rec.wait_idle(10)
    rec.stop()
    st = rec.stats()
    assert st["waiting_for_camera_info"] == 1
    assert st["malformed"]["depth"] == {
        "sensor_msgs/Image(depth) (sensor_msgs__msg__Image).data has 100 bytes, expected height*step=6144": 1,
        "object has no header.stamp (sec, nanosec)": 1}
    assert st["malformed"]["camera_info"] == {"sensor_msgs/CameraInfo (object) has no field 'k'": 1}
    assert st["malformed_total"] == 3
    assert st["windows_formed"] == 1 and st["windows_inferred"] == 1  # frames 1, 3 -> window; 4 alone: no hop
    assert sum(1 for lvl, _ in logs if lvl == "warn") == 3


def test_rgb_without_an_rgb_score_is_ignored_with_one_warning(typestore):
    logs = []
    rec = Recognizer(config("fake.pt", "topics.rgb=/camera/color/image_raw", "window.min_frames=2",
                            "window.hop_frames=2"), fake_model(), lambda r: None, log=lambda l, t: logs.append(t))
    assert sum("no RGB score" in t for t in logs) == 1
    assert "rgb" not in rec.topics() and rec.sync_roles == ["depth"]
    rec.start()
    feed(rec, typestore, 2, rgb=True)
    rec.wait_idle(10)
    rec.stop()
    assert rec.stats()["windows_inferred"] == 1 and rec.stats()["messages"]["rgb"] == 2


def test_points_are_the_foreground_of_the_depth(typestore):
    from vg4d_ros.pipeline.decode import depth_image_to_points
    rec = Recognizer(config("fake.pt", "foreground.max_depth=1.505"), fake_model(), lambda r: None)
    rec.on_camera_info(camera_info_msg(typestore, T0))
    rec.on_depth(depth_msg(typestore, 0, T0))  # blob at 1.5 m
    rec.on_depth(depth_msg(typestore, 1, T0 + PERIOD))  # blob at 1.51 m: dropped by max_depth
    frames = list(rec.buffer._frames)
    ref = depth_image_to_points(depth_msg(typestore, 0, T0), camera_info_msg(typestore, T0))
    np.testing.assert_array_equal(frames[0].points, ref)
    assert frames[0].points.shape == (30 * 12, 3) and frames[1].points.shape == (0, 3)


def test_reservoir_is_bounded_and_exact_when_small():
    r = Reservoir(size=10)
    for v in range(1, 6):
        r.add(v)
    assert r.percentile(50) == 3.0
    for v in range(1000):
        r.add(v)
    assert len(r.values) == 10 and r.seen == 1005
