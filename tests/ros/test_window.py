"""Sliding windows: bounds, emission schedule, and equality with offline test sampling."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_core.data.point_video import PointVideoDataset
from vg4d_ros.pipeline.window import Frame, WindowBuffer, WindowConfig

MS = 1_000_000


class ListSource:
    def __init__(self, frames):
        self.frames = frames

    @property
    def num_frames(self):
        return len(self.frames)

    @property
    def counts(self):
        return np.array([f.shape[0] for f in self.frames], dtype=np.int64)

    def gather(self, frame, idx):
        return self.frames[frame][idx]


class MemoryDataset(PointVideoDataset):
    def __init__(self, videos, **kw):
        self.videos = videos
        super().__init__(video_ids=[str(i) for i in range(len(videos))], labels=[0] * len(videos),
                         video_lengths=[len(v) for v in videos], class_names=["a"], split="test", **kw)

    def _frames(self, video):
        return ListSource(self.videos[video])


def make_frames(counts, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(c, 3)).astype(np.float32) for c in counts]


@pytest.mark.parametrize("counts", [[50, 0, 7, 3, 0, 0, 40, 12, 9, 30, 1], [5, 6], [0, 0, 0]])
@pytest.mark.parametrize("index,views,view", [(0, 1, 0), (3, 1, 0), (1, 3, 2)])
def test_window_clip_equals_offline_test_item(counts, index, views, view):
    """The live window and a test-split dataset call the one clip sampler: same frames, same view and
    stream -> the same clip, bit for bit (item ``index * views + view`` is video ``index``'s view)."""
    frames = make_frames(counts)
    ds = MemoryDataset([frames] * (index + 1), num_frames=4, points_per_frame=16, seed=11, test_views=views)
    item = ds[index * views + view]
    cfg = WindowConfig(num_segments=4, points_per_frame=16, window_s=100.0, max_frames=100, min_frames=1,
                       seed=11, index=index, views=views)
    buf = WindowBuffer(cfg)
    for i, p in enumerate(frames):
        buf.push(Frame(stamp_ns=(i + 1) * 33 * MS, points=p))
    w = buf.window()
    assert w.views == views
    points = w.points if view == 0 else w.clips[view - 1][0]
    assert points.dtype == np.float32 and points.shape == (4, 16, 3)
    if view == 0:
        np.testing.assert_array_equal(w.stamps, [(int(f) + 1) * 33 * MS for f in item["frame_indices"]])
    assert np.array_equal(points, item["points"].numpy())  # bit-identical
    if sum(counts) == 0:
        assert not w.points.any()


def test_window_views_and_coverage_are_checked():
    with pytest.raises(ValueError, match="views"):
        WindowConfig(views=0)
    with pytest.raises(ValueError, match="min_coverage"):
        WindowConfig(min_coverage=1.5)


def test_no_window_before_the_frames_cover_the_configured_share():
    cfg = WindowConfig(num_segments=2, points_per_frame=4, window_s=1.0, max_frames=100, min_frames=1,
                       hop_frames=1, min_coverage=0.5)
    buf = WindowBuffer(cfg)
    emitted = [buf.push(Frame(stamp_ns=i * 100 * MS, points=np.ones((5, 3), np.float32))) is not None
               for i in range(8)]
    # frames every 0.1 s: the span reaches 0.5 s at the 6th frame
    assert emitted == [False] * 5 + [True] * 3


def test_window_equals_offline_sampling_of_its_frames():
    cfg = WindowConfig(num_segments=4, points_per_frame=16, window_s=10.0, max_frames=100, min_frames=6,
                       hop_frames=3, seed=5)
    frames = make_frames([20, 0, 8, 13, 4, 25, 30, 2, 0, 17], seed=2)
    buf = WindowBuffer(cfg, frame_id="camera_depth_optical_frame")
    rgb = [np.full((2, 3, 3), i, np.uint8) for i in range(10)]
    windows = {}
    for i, p in enumerate(frames):
        w = buf.push(Frame(stamp_ns=1000 * MS + i * 33 * MS, points=p, rgb=rgb[i]))
        if w is not None:
            windows[i] = w
    # first window when min_frames=6 is reached (frame 5), then every 3 frames
    assert sorted(windows) == [5, 8]
    w = windows[8]
    ref = MemoryDataset([frames[:9]], num_frames=4, points_per_frame=16, seed=5)[0]
    assert np.array_equal(w.points, ref["points"].numpy())
    idx = ref["frame_indices"].numpy()
    np.testing.assert_array_equal(idx, [1, 3, 5, 7])
    np.testing.assert_array_equal(w.stamps, 1000 * MS + idx * 33 * MS)
    np.testing.assert_array_equal(w.rgb[:, 0, 0, 0], idx)
    assert w.last_stamp_ns == 1000 * MS + 8 * 33 * MS and w.frame_id == "camera_depth_optical_frame"
    assert (w.num_frames, w.num_empty) == (9, 2)


def test_time_and_count_bounds_and_rate():
    cfg = WindowConfig(num_segments=2, points_per_frame=4, window_s=0.1, max_frames=3, min_frames=1,
                       rate_hz=10.0)
    buf = WindowBuffer(cfg)
    p = np.ones((4, 3), np.float32)
    emitted = [buf.push(Frame(s * MS, p)) is not None for s in (0, 30, 60, 85, 120, 170, 200, 400)]
    # rate 10 Hz in message time, on a 100 ms grid: windows at 0, 120 (late for 100), 200 (the 200 grid
    # point: the late window did not push it back; 170 is too early), 400; 85 is more than the tenth of
    # a period a window may come early
    assert emitted == [True, False, False, False, True, False, True, True]
    assert len(buf) == 1  # 400 ms: everything older than 300 ms is gone
    buf = WindowBuffer(cfg)
    for s in (0, 10, 20, 30, 40):
        buf.push(Frame(s * MS, p))
    assert len(buf) == 3  # max_frames
    # F = 3, T = 2: segments [0, 1) and [1, 3), middle frames 0 and 2 -> stamps 20 and 40
    np.testing.assert_array_equal(buf.window().stamps, [20 * MS, 40 * MS])
    assert buf.push(Frame(35 * MS, p)) is None and buf.dropped == 1  # out of order: dropped
    buf.push(Frame(400 * MS, p))
    assert len(buf) == 1
    buf.push(Frame(250 * MS, p))  # jumped back by more than window_s (a bag restarted): start over
    assert len(buf) == 1 and buf.window().last_stamp_ns == 250 * MS and buf.dropped == 1


def _window_frames(stamps_ns, rate_hz: float) -> list[int]:
    """Indices of the frames (stamped ``stamps_ns``) at which a rate_hz buffer forms a window."""
    buf = WindowBuffer(WindowConfig(num_segments=2, points_per_frame=4, window_s=1.0, min_frames=1,
                                    rate_hz=rate_hz))
    p = np.ones((4, 3), np.float32)
    return [i for i, s in enumerate(stamps_ns) if buf.push(Frame(int(s), p)) is not None]


@pytest.mark.parametrize("fps", [15, 30])
def test_rate_equal_to_or_a_divisor_of_the_camera_rate_takes_every_kth_frame(fps):
    # a camera's integer-ns stamps of a rational rate: 15 Hz frames are 66,666,666 or 66,666,667 ns apart,
    # less than the 66,666,667 ns period now and then - a window must not wait for the next frame then
    stamps = [1_700_000_000_000_000_000 + (i * 10**9) // fps for i in range(90)]
    assert _window_frames(stamps, float(fps)) == list(range(90))
    assert _window_frames(stamps, fps / 3.0) == list(range(0, 90, 3))
    # a driver's stamp jitter (+-3 ms at 30 Hz, 10 windows a second): still every third frame, no drift
    rng = np.random.default_rng(0)
    jittered = [s + int(j) for s, j in zip(stamps, rng.uniform(-3e6, 3e6, len(stamps)))]
    if fps == 30:
        assert _window_frames(jittered, 10.0) == list(range(0, 90, 3))


def test_rate_keeps_its_grid_when_frames_come_late_and_slower_than_the_rate():
    # 12 Hz frames with rate 10: every frame past the grid point 100 ms after the last one, i.e. 10 windows
    # a second on average (a window's lateness does not accumulate: 6 of every 6 frames, then one skipped)
    stamps = [int(i * 1e9 / 12) for i in range(25)]
    frames = _window_frames(stamps, 10.0)
    # frames 0 .. 24 span 0 .. 2000 ms: one window for each grid point 0, 100, ..., 2000 ms, at its first frame
    assert len(frames) == 21
    assert frames[:6] == [0, 2, 3, 4, 5, 6]  # 83 ms is too early for 100; 583 ms too early for 600
    # a frame rate below the rate: every frame is a window
    assert _window_frames([int(i * 1e9 / 5) for i in range(10)], 10.0) == list(range(10))


def test_rgb_none_when_a_sampled_frame_lacks_it_and_config_errors():
    buf = WindowBuffer(WindowConfig(num_segments=2, points_per_frame=4, min_frames=1, hop_frames=1))
    buf.push(Frame(0, np.ones((3, 3), np.float32), np.zeros((2, 2, 3), np.uint8)))
    w = buf.push(Frame(MS, np.ones((3, 3), np.float32), None))
    assert w is not None and w.rgb is None
    with pytest.raises(ValueError, match="WindowConfig.window_s"):
        WindowConfig(window_s=0)
    with pytest.raises(ValueError, match="min_frames 9 > max_frames 4"):
        WindowConfig(min_frames=9, max_frames=4)
    with pytest.raises(ValueError, match="Frame.points must be"):
        buf.push(Frame(2 * MS, np.ones((3, 2), np.float32)))
