"""The still rule: per-frame motion of the foreground (metres, seconds) and windows of a still person."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_ros.pipeline.motion import MotionMeter, MotionSettings, moved_fraction, window_motion


def body(rng, n=2000, arm_dx=0.0):
    """(n, 3) metres: a 1.7 x 0.5 m slab of a person 3 m away, whose top-right fifth (an arm) is moved
    ``arm_dx`` sideways."""
    pts = np.stack([rng.uniform(-0.25, 0.25, n), rng.uniform(-0.85, 0.85, n), 3.0 + rng.normal(0, 0.01, n)], 1)
    arm = (pts[:, 0] > 0.0) & (pts[:, 1] < -0.35)
    pts[arm, 0] += arm_dx
    return pts.astype(np.float32), arm


def test_settings_are_checked():
    for bad in (dict(move_m=0), dict(move_m=float("nan")), dict(lag_s=0), dict(max_points=0)):
        with pytest.raises(ValueError):
            MotionSettings(**bad)


def test_a_still_person_sampled_twice_has_not_moved_and_a_moving_arm_is_its_share():
    rng = np.random.default_rng(0)
    a, _ = body(rng)
    b, _ = body(rng)  # another sample of the same surface, another depth noise
    assert moved_fraction(a, a, 0.06) == 0.0
    assert moved_fraction(a, b, 0.06) < 0.01
    c, arm = body(np.random.default_rng(0), arm_dx=0.3)
    share = arm.mean()
    assert 0.1 < share < 0.3
    assert moved_fraction(c, a, 0.06) == pytest.approx(share, abs=0.05)
    assert np.isnan(moved_fraction(a, np.zeros((0, 3), np.float32), 0.06))


def test_the_meter_compares_with_the_frame_lag_earlier_and_starts_unknown():
    rng = np.random.default_rng(1)
    meter = MotionMeter(MotionSettings(move_m=0.06, lag_s=0.2))
    period = 33_333_333
    values = []
    for i in range(20):  # the arm swings 0.1 m per frame: 0.6 m in the 0.2 s lag
        pts, _ = body(rng, arm_dx=0.1 * i)
        values.append(meter.push(i * period, pts))
    assert all(np.isnan(values[:6])) and not np.isnan(values[6])  # 6 frames = 0.2 s at 30 Hz
    assert all(0.1 < v < 0.3 for v in values[6:])
    meter.clear()
    assert np.isnan(meter.push(30 * period, body(rng)[0]))
    still = [meter.push((31 + i) * period, body(rng)[0]) for i in range(10)]
    assert all(v < 0.01 for v in still[6:])


def test_window_motion_is_the_median_of_the_newest_known_frames():
    stamps = np.arange(10, dtype=np.int64) * 100_000_000  # 10 Hz
    motion = np.array([np.nan, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.02, 0.01, np.nan])
    assert window_motion(stamps, motion, 0.35) == pytest.approx(0.01)  # the last 4 frames, NaN left out
    assert window_motion(stamps, motion, 10.0) == pytest.approx(0.5)
    assert np.isnan(window_motion(stamps[:1], motion[:1], 1.0))
    assert np.isnan(window_motion(np.zeros(0, np.int64), np.zeros(0), 1.0))


# -- the window rule and the recogniser ------------------------------------------------------------------
def frames_with_motion(values, period_ns=33_333_333):
    from vg4d_ros.pipeline.window import Frame

    return [Frame(i * period_ns, np.full((5, 3), i, np.float32), None, v) for i, v in enumerate(values)]


def test_a_window_starts_after_the_newest_pause_once_min_frames_follow_it():
    from vg4d_ros.pipeline.window import WindowBuffer, WindowConfig

    cfg = WindowConfig(num_segments=4, points_per_frame=5, window_s=5.0, max_frames=200, min_frames=6,
                       hop_frames=1, trim_motion=0.05, trim_still_s=0.5)
    # 30 moving frames, a 0.6 s pause (18 frames at 30 Hz), 10 moving frames; one still frame inside an
    # action (frame 10) and NaN (unknown) are no pause
    values = [0.2] * 30 + [0.0] * 18 + [0.3] * 10
    values[10], values[0] = 0.0, float("nan")
    buf = WindowBuffer(cfg)
    out = [buf.push(f) for f in frames_with_motion(values)]
    assert all(w is not None and w.first_stamp_ns == 0 for w in out[5:30])  # no pause yet: every frame
    # during the pause (once it lasts 0.5 s) the window holds every frame (the still rule refuses it)
    assert all(w is not None and w.first_stamp_ns == 0 for w in out[46:48])
    # an action after it: no window until 6 of its frames are buffered, then only its frames
    assert all(w is None for w in out[48:53])
    assert all(w is not None and w.first_stamp_ns == 48 * 33_333_333 for w in out[53:])
    assert out[-1].num_frames == 10
    off = WindowBuffer(WindowConfig(num_segments=4, points_per_frame=5, window_s=5.0, max_frames=200, min_frames=6,
                                    hop_frames=1))
    assert [off.push(f) for f in frames_with_motion(values)][-1].first_stamp_ns == 0


def moving_then_still_then_moving(ts, rec, n=30):
    """The helpers' blob (1.5 m) moving one pixel a frame, then standing still (a fixed frame with 3 mm
    depth noise), then moving again: n frames each at 30 Hz; returns the stamps where each part starts."""
    from recognizer_helpers import camera_info_msg, depth_frame, depth_msg, header

    rng = np.random.default_rng(0)
    period, t0 = 33_333_333, 1_000_000_000
    rec.on_camera_info(camera_info_msg(ts, t0))
    for i in range(3 * n):
        stamp = t0 + i * period
        if n <= i < 2 * n:
            d = depth_frame(n).astype(np.float64)
            d[d > 0] += rng.normal(0, 3.0, int((d > 0).sum()))
            msg = depth_msg(ts, n, stamp)
            msg = type(msg)(header=header(ts, stamp), height=msg.height, width=msg.width, encoding="16UC1",
                            is_bigendian=0, step=msg.width * 2,
                            data=np.round(d).astype("<u2").view(np.uint8).reshape(-1))
        else:
            msg = depth_msg(ts, i, stamp)
        rec.on_depth(msg)
        rec.wait_idle(60.0)
    return [t0, t0 + n * period, t0 + 2 * n * period]


@pytest.mark.parametrize("min_motion", [0.0, 0.05])
def test_a_still_person_is_not_labelled_and_ends_the_segment(tmp_path, typestore, min_motion):
    from recognizer_helpers import tiny_checkpoint
    from vg4d_ros.config import load_recognizer_config
    from vg4d_ros.pipeline.model import load_model
    from vg4d_ros.pipeline.recognizer import Recognizer

    ckpt = tiny_checkpoint(tmp_path / "tiny.pt")
    config = load_recognizer_config("config/recognize.yaml", [
        f"inference.checkpoint={ckpt}", "inference.device=cpu", "window.min_coverage=0", "window.views=1",
        "window.hop_frames=3", "window.min_frames=6", "window.window_s=1.0", f"motion.min_motion={min_motion}"])
    verdicts, events = [], []
    rec = Recognizer(config, load_model(config), lambda r: None)
    rec.on_verdict, rec.on_event = verdicts.append, events.append
    rec.start()
    moving, still, again = moving_then_still_then_moving(typestore, rec)
    rec.stop()
    statuses = {v.stamp_ns: v.status for v in verdicts}
    in_pause = [s for t, s in statuses.items() if still + 20_000_000 * 33 < t < again]  # 0.66 s into the pause
    if min_motion == 0:  # the rule is off: the pause is labelled like anything else
        assert in_pause and set(in_pause) == {"labelled"} and rec.stats()["windows_still"] == 0
        return
    assert in_pause and set(in_pause) == {"still"}, statuses
    assert rec.stats()["windows_still"] == len([s for s in statuses.values() if s == "still"])
    assert all(s == "labelled" for t, s in statuses.items() if t < still)
    assert any(e.ended_by == "still" for e in events)
    # after the pause: labelled again, from windows of the new movement only
    after = [v for v in verdicts if v.stamp_ns > again + 10 * 33_333_333]
    assert after and all(v.status == "labelled" and v.first_stamp_ns >= again - 33_333_333 * 7 for v in after)


def test_an_empty_room_before_an_action_is_a_pause_too():
    from vg4d_ros.pipeline.window import Frame, WindowBuffer, WindowConfig

    cfg = WindowConfig(num_segments=4, points_per_frame=5, window_s=5.0, max_frames=200, min_frames=6,
                       hop_frames=1, trim_motion=0.05, trim_still_s=0.5, trim_min_points=3)
    period = 33_333_333
    frames = [Frame(i * period, np.zeros((0, 3), np.float32)) for i in range(20)]  # nobody (motion unknown)
    frames += [Frame((20 + i) * period, np.full((5, 3), i, np.float32), None, float("nan") if i < 6 else 0.3)
               for i in range(10)]
    buf = WindowBuffer(cfg)
    out = [buf.push(f) for f in frames]
    assert all(w is None for w in out[20:25])
    assert out[-1] is not None and out[-1].first_stamp_ns == 20 * period and out[-1].num_empty == 0
