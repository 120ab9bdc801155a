"""One window schedule for all people: tracks that appeared at different frames are windowed at the same
frames (so the recogniser scores them in one batch), and a person alone is windowed as the single-person
buffer windows a stream. Point sets in metres, optical frame (y down, the floor 1.2 m below the camera)."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_ros.config import PairsConfig, PeopleConfig
from vg4d_ros.pipeline.person_windows import PersonWindows
from vg4d_ros.pipeline.window import Frame, WindowBuffer, WindowConfig

PERIOD_NS = 66_666_667  # 15 Hz


def body(rng, x, z=2.5, n=600, height=1.7, width=0.45, feet_y=1.2):
    """(n, 3) float32 points of an upright elliptic cylinder standing at (x, z)."""
    r = np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * np.pi
    return np.stack([x + 0.5 * width * r * np.cos(a), feet_y - height * rng.random(n),
                     z + 0.15 * r * np.sin(a)], axis=1).astype(np.float32)


def window_config(**kw) -> WindowConfig:
    base = dict(num_segments=4, points_per_frame=32, window_s=1.0, max_frames=64, min_frames=4, hop_frames=4,
                min_coverage=0.0, views=1)
    return WindowConfig(**{**base, **kw})


def run(xs_per_frame, window: WindowConfig, birth_frames: int = 1):
    """Frames of people standing at the given x (one list per frame, 15 Hz) through PersonWindows with a
    store that keeps every point; returns [(stamp, {track id: window})] of the frames that gave windows."""
    rng = np.random.default_rng(0)
    pw = PersonWindows(PeopleConfig(enabled=True, birth_frames=birth_frames,
                                    pairs=PairsConfig(enabled=False)), window)
    out = []
    for f, xs in enumerate(xs_per_frame):
        points = np.concatenate([body(rng, x) for x in xs]) if xs else np.zeros((0, 3), np.float32)
        stamp = 1_000_000_000 + f * PERIOD_NS
        step = pw.push(stamp, points, None, lambda p, s: p.copy())
        if step.windows:
            out.append((stamp, {w.track_id: w.window for w in step.windows}))
    return out


@pytest.mark.parametrize("window", [window_config(), window_config(rate_hz=5.0)], ids=["hop_frames", "rate_hz"])
@pytest.mark.parametrize("late", [3, 6, 7])
def test_a_person_who_appears_later_is_windowed_on_the_first_persons_ticks(window, late):
    frames = [[-1.0]] * late + [[-1.0, 1.0]] * 30
    steps = run(frames, window)
    p1_stamps = [stamp for stamp, ws in steps if "p1" in ws]
    p2_stamps = [stamp for stamp, ws in steps if "p2" in ws]
    assert len(p2_stamps) >= 4
    # p1 keeps its rhythm, as for a person alone: evenly spaced ticks
    gaps = np.diff(p1_stamps)
    assert gaps.min() == gaps.max(), gaps
    # p2's first label waits for no tick: its first window comes as soon as its buffer holds min_frames
    # frames (born at its first sighting, birth_frames=1)...
    assert p2_stamps[0] == 1_000_000_000 + (late + window.min_frames - 1) * PERIOD_NS
    # ... and every later one falls on a frame that also windows p1 (one batch), the first of them at
    # least half a hop after p2's first, at most a hop and a half
    assert set(p2_stamps[1:]) <= set(p1_stamps)
    assert gaps[0] / 2 <= p2_stamps[1] - p2_stamps[0] < 1.5 * gaps[0] + PERIOD_NS


@pytest.mark.parametrize("window", [window_config(), window_config(rate_hz=4.0), window_config(min_coverage=0.5)],
                         ids=["hop_frames", "rate_hz", "coverage"])
def test_a_person_alone_is_windowed_as_the_single_person_buffer_windows_the_same_frames(window):
    # a person for 20 frames, nobody for 40 (the track coasts, then dies after death_s), another person
    frames = [[-1.0]] * 20 + [[]] * 40 + [[0.5]] * 20
    people = run(frames, window)
    rng = np.random.default_rng(0)
    for track, span in (("p1", (0, 20)), ("p2", (60, 80))):
        buffer = WindowBuffer(window)  # the single-person buffer, fed the person's frames from the first
        single = []
        for f in range(*span):
            w = buffer.push(Frame(1_000_000_000 + f * PERIOD_NS, body(rng, 0.0), None))
            if w is not None:
                single.append(w.last_stamp_ns)
        first, last = (1_000_000_000 + f * PERIOD_NS for f in (span[0], span[1] - 1))
        mine = [stamp for stamp, ws in people if first <= stamp <= last]
        assert mine == single, track
        assert all(sorted(ws) == [track] for stamp, ws in people if first <= stamp <= last)


def test_clear_restarts_the_schedule():
    window = window_config()
    rng = np.random.default_rng(0)
    pw = PersonWindows(PeopleConfig(enabled=True, birth_frames=1, pairs=PairsConfig(enabled=False)), window)
    stamps = []
    for f in range(6):
        stamp = 1_000_000_000 + f * PERIOD_NS
        if pw.push(stamp, body(rng, 0.0), None, lambda p, s: p.copy()).windows:
            stamps.append(f)
    assert stamps == [3]  # the first window at the 4th frame (min_frames)
    pw.clear()
    stamps = []
    for f in range(4):  # a new recording: its person's first window again comes as soon as it can
        stamp = 5_000_000_000 + f * PERIOD_NS
        if pw.push(stamp, body(rng, 0.0), None, lambda p, s: p.copy()).windows:
            stamps.append(f)
    assert stamps == [3]
