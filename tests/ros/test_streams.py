"""Stitched streams: actions with idle gaps in one bag, its ground truth, and the stream report of a replay."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from replay_helpers import FRAMES, POINTS, tiny_checkpoint, write_raw
from vg4d_core.cli import main as vg4d


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    root = tmp_path_factory.mktemp("streams")
    names = sorted(write_raw(root / "raw", (8, 9, 10), frames=(12, 14)))
    assert vg4d(["ntu2bag", "--root", str(root / "raw"), "--out", str(root / "bags"), "--no-rgb"]) == 0
    return root, [root / "bags" / n for n in names]


def _depth_frames(bag):
    from vg4d_ros.bags.bagio import open_bag, read_messages
    from vg4d_ros.pipeline.decode import depth_image_to_array, stamp_ns

    with open_bag(bag) as reader:
        return [(stamp_ns(m.msg), depth_image_to_array(m.msg))
                for m in read_messages(reader, ["/camera/depth/image_raw"], path=bag)]


@pytest.mark.parametrize("idle", ["still", "absent"])
def test_stitched_stream_holds_every_action_and_its_idle_gaps(actions, tmp_path, idle):
    root, bags = actions
    out = tmp_path / "stream"
    assert vg4d(["stitch", *map(str, bags), "--out", str(out), "--seed", "3", "--idle", idle]) == 0
    truth = yaml.safe_load((tmp_path / "stream.labels.yaml").read_text())["bags"]["stream"]["segments"]
    frames = _depth_frames(out)
    stamps = np.array([s for s, _ in frames])
    assert (np.diff(stamps) > 0).all()
    originals = [[d for _, d in _depth_frames(b)] for b in bags]
    assert len(truth) == 3
    matched = []
    for start, end, label in truth:
        inside = [d for s, d in frames if start <= s <= end]
        # the action's frames, unchanged, one after the other
        matched += [i for i, src in enumerate(originals)
                    if len(src) == len(inside) and all(np.array_equal(a, b) for a, b in zip(inside, src))]
    assert sorted(set(matched)) == [0, 1, 2]
    gaps = [d for s, d in frames if not any(a <= s <= e for a, e, _ in truth)]
    assert len(gaps) >= 3 * 1.0 * 30 - 3  # at least 1 s of idle frames at 30 Hz before each action
    if idle == "absent":
        assert all(not d.any() for d in gaps)
    else:  # the person stands still: the previous action's last frame (the first gap has none: empty)
        assert sum(d.any() for d in gaps) > 0


def test_a_still_person_gets_sensor_noise_anew_each_frame_and_none_copies_exactly(actions, tmp_path):
    """--still-noise kinect (default): each idle frame of a still person is the last action frame plus
    depth noise of sigma 1.5e-3 z^2 m on its valid pixels (holes stay holes); none: exact copies. The
    stream's layout (order, gaps, kinds) does not depend on the noise."""
    _, bags = actions
    runs = {}
    for noise in ("kinect", "none"):
        out = tmp_path / noise
        assert vg4d(["stitch", *map(str, bags), "--out", str(out), "--seed", "3", "--idle", "still",
                     "--still-noise", noise]) == 0
        truth = yaml.safe_load((tmp_path / f"{noise}.labels.yaml").read_text())["bags"][noise]["segments"]
        frames = _depth_frames(out)
        runs[noise] = (truth, frames)
    assert runs["kinect"][0] == runs["none"][0]  # same segments, same stamps
    truth, noisy = runs["kinect"]
    _, exact = runs["none"]
    idle = [i for i, (s, _) in enumerate(noisy) if not any(a <= s <= e for a, e, _ in truth) and exact[i][1].any()]
    assert len(idle) > 20
    for i in idle:
        a, b = noisy[i][1].astype(np.float64), exact[i][1].astype(np.float64)
        assert np.array_equal(a > 0, b > 0)  # the same pixels are valid
        z = b[b > 0] / 1000.0
        rel = (a[b > 0] - b[b > 0]) / 1000.0 / (1.5e-3 * z ** 2)  # standard normal, up to mm rounding
        assert abs(rel.mean()) < 0.2 and 0.8 < rel.std() < 1.25
    assert not np.array_equal(noisy[idle[0]][1], noisy[idle[1]][1])  # drawn anew for each frame
    assert all(np.array_equal(exact[idle[0]][1], exact[i][1]) for i in idle if i > idle[0] and i - idle[0] < 10)
    inside = [i for i, (s, _) in enumerate(noisy) if any(a <= s <= e for a, e, _ in truth)]
    assert all(np.array_equal(noisy[i][1], exact[i][1]) for i in inside)  # actions are never touched


def _stream_config(tmp_path, *overrides: str):
    """A recogniser config for the stitched test streams: a tiny 4-class checkpoint, 0.4 s windows from 4
    frames on, plus ``overrides``."""
    from vg4d_ros.config import load_recognizer_config

    ck = tiny_checkpoint(tmp_path / "ck.pt", ["drink water", "eat meal/snack", "brushing teeth", "brushing hair"],
                         {"name": "ntu", "num_frames": FRAMES, "points_per_frame": POINTS})
    return load_recognizer_config(None, [f"inference.checkpoint={ck}", "inference.device=cpu", "window.window_s=0.4",
                                         "window.min_frames=4", *overrides])


def test_replay_reports_events_and_stream_metrics(actions, tmp_path):
    from vg4d_ros.bags.labels import load_labels
    from vg4d_ros.bags.replay import ReplayOptions, replay

    root, bags = actions
    out = tmp_path / "stream"
    assert vg4d(["stitch", *map(str, bags), "--out", str(out), "--seed", "1", "--idle", "absent"]) == 0
    config = _stream_config(tmp_path, "window.hop_frames=3", "events.alpha=1.0")
    report = replay([out], config, ReplayOptions(labels=load_labels(tmp_path / "stream.labels.yaml")), None)
    bag = report["bags"][0]
    events = bag["events"]
    assert events, "a person acting for seconds gives at least one event"
    # started / ended alternate, and every segment ends (at a label change, no person, or the stream's end)
    states = [e["state"] for e in events]
    assert states[0] == "started" and states[-1] == "ended"
    assert all(a != b for a, b in zip(states, states[1:]))
    assert any(e["ended_by"] == "no_person" for e in events)  # the absent gaps end segments
    s = report["summary"]["stream"]
    assert s["actions"] == 3 and s["detected"] + s["missed"] == 3
    for key in ("f1_at_10", "f1_at_25", "f1_at_50"):
        assert 0.0 <= s[key] <= 1.0
    assert s["f1_at_10"] >= s["f1_at_25"] >= s["f1_at_50"]
    assert 0.0 <= s["edit"] <= 100.0 and 0.0 <= s["frame_accuracy"] <= 100.0


def test_recorded_verdicts_replayed_under_the_same_settings_give_the_replays_stream_figures(actions, tmp_path):
    from vg4d_ros.bags.labels import load_labels
    from vg4d_ros.bags.replay import ReplayOptions, replay
    from vg4d_ros.programs.stream_sweep import main as sweep_main, sweep

    root, bags = actions
    out = tmp_path / "stream"
    assert vg4d(["stitch", *map(str, bags), "--out", str(out), "--seed", "2", "--idle", "mixed"]) == 0
    config = _stream_config(tmp_path, "window.hop_frames=2", "events.alpha=0.7", "events.min_score=0.3")
    other = tmp_path / "other"
    assert vg4d(["stitch", *map(str, bags[::-1]), "--out", str(other), "--seed", "3", "--idle", "still"]) == 0
    labels = yaml.safe_load((tmp_path / "stream.labels.yaml").read_text())
    labels["bags"].update(yaml.safe_load((tmp_path / "other.labels.yaml").read_text())["bags"])
    (tmp_path / "labels.yaml").write_text(yaml.safe_dump(labels))
    options = ReplayOptions(labels=load_labels(tmp_path / "labels.yaml"), verdicts=True)
    report = replay([out, other], config, options, tmp_path / "replay")
    bag = report["bags"][0]
    rec = bag["verdicts"]
    assert rec["class_names"] == ["drink water", "eat meal/snack", "brushing teeth", "brushing hair"]
    assert len(rec["segments"]) == 3 and len(rec["frame_stamps"]) == bag["frames"]
    labelled = [w for w in rec["windows"] if w["status"] == "labelled"]
    assert len(labelled) == sum(1 for w in bag["windows"] if w["kind"] == "window")
    assert all(len(w["probs"]) == 4 and abs(sum(w["probs"]) - 1) < 1e-4 for w in labelled)
    assert all(w["probs"] is None for w in rec["windows"] if w["status"] in ("no_person", "still"))
    # the recorded verdicts through the event tracker again, with the replay's own settings: the same figures
    figures = sweep(report, [0.0], [0.7], [0.3], 0.8)["grid"][0]
    for key in ("f1_at_10", "f1_at_50", "edit", "frame_accuracy", "median_delay_s", "detected", "events"):
        assert figures[key] == report["summary"]["stream"][key], key
    # other settings give other events: no smoothing and no threshold opens at least as many segments
    loose = sweep(report, [0.0], [1.0], [0.0], 0.8)["grid"][0]
    assert loose["events"] >= figures["events"]
    # the command writes the grid, the leave-one-stream-out choice and the choice on all streams
    assert sweep_main([str(tmp_path / "replay" / "report.json"), "--out", str(tmp_path / "sweep.json"),
                       "--alphas", "1.0,0.7", "--min-scores", "0.0,0.3"]) == 0
    written = yaml.safe_load((tmp_path / "sweep.json").read_text())
    assert len(written["grid"]) == 4
    first = written["first_correct_window"]
    assert first["found"] + first["never"] == 6  # 3 actions in each of the 2 streams
    assert [f["held_out"] for f in written["leave_one_stream_out"]["folds"]] == ["stream", "other"]
    assert {"rate_hz", "alpha", "min_score", "f1_at_50", "median_delay_s"} <= set(written["chosen_on_all"])
    # a report without recorded verdicts is refused with the fix
    plain = replay([out], config, ReplayOptions(labels=options.labels), None)
    with pytest.raises(ValueError, match="--verdicts"):
        sweep(plain, [0.0], [0.7], [0.3], 0.8)
    # labels the checkpoint does not know (another dataset's labels file) are refused, named
    foreign = {**report, "bags": [{**b, "verdicts": {**b["verdicts"], "segments": [
        [s_, e_, "handshaking"] for s_, e_, _ in b["verdicts"]["segments"]]}} for b in report["bags"]]}
    with pytest.raises(ValueError, match="handshaking"):
        sweep(foreign, [0.0], [0.7], [0.3], 0.8)
    # one stream: no leave-one-out choice
    one = {**report, "bags": report["bags"][:1]}
    assert sweep(one, [0.0], [0.7], [0.3], 0.8)["leave_one_stream_out"] is None


def test_verdicts_recorded_at_every_frame_thinned_to_a_rate_and_min_frames_equal_a_replay_with_them(
        actions, tmp_path):
    """The sweep's rate and min_frames are exact: verdicts recorded with a window at every frame and a low
    min_frames, thinned, are the windows (stamps, frames, probabilities) a replay with the higher min_frames
    and the lower rate forms - including the first window after each pause, which waits for min_frames
    frames of the action whatever the rate."""
    from vg4d_ros.bags.labels import load_labels
    from vg4d_ros.bags.ntu2bag import RATE_HZ
    from vg4d_ros.bags.replay import ReplayOptions, replay
    from vg4d_ros.programs.stream_sweep import sweep, thin

    root, bags = actions
    out = tmp_path / "stream"
    assert vg4d(["stitch", *map(str, bags), "--out", str(out), "--seed", "4", "--idle", "still"]) == 0
    options = ReplayOptions(labels=load_labels(tmp_path / "stream.labels.yaml"), verdicts=True)
    still = ("motion.min_motion=0.01", "events.alpha=1.0")
    every = replay([out], _stream_config(tmp_path, f"window.rate_hz={RATE_HZ}", "window.min_frames=3", *still),
                   options, None)["bags"][0]["verdicts"]["windows"]
    frames = [w["num_frames"] for w in every]
    assert min(frames) == 3 and any(a > b for a, b in zip(frames, frames[1:])), "no pause trimmed a window"
    for rate, min_frames in ((RATE_HZ / 3, 6), (RATE_HZ, 5)):
        report = replay([out], _stream_config(tmp_path, f"window.rate_hz={rate}", f"window.min_frames={min_frames}",
                                              *still), options, None)
        direct = report["bags"][0]["verdicts"]["windows"]
        kept = thin(every, rate, min_frames)
        assert [(w["stamp_ns"], w["num_frames"], w["status"]) for w in kept] == \
            [(w["stamp_ns"], w["num_frames"], w["status"]) for w in direct]
        assert all(a["probs"] == b["probs"] for a, b in zip(kept, direct))
        # and the sweep's figures for that setting are the replay's own
        row = sweep({"bags": [{"name": "stream", "verdicts": {**report["bags"][0]["verdicts"], "windows": every}}]},
                    [rate], [1.0], [0.0], 0.8, [min_frames])["grid"][0]
        for key in ("f1_at_50", "edit", "median_delay_s", "events"):
            assert row[key] == report["summary"]["stream"][key], (rate, min_frames, key)
    # what the recording cannot show is refused: fewer frames than it recorded from, a higher rate
    recorded = {"config": {"window": {"min_frames": 3, "rate_hz": RATE_HZ}},
                "bags": [{"name": "stream", "verdicts": {**report["bags"][0]["verdicts"], "windows": every}}]}
    with pytest.raises(ValueError, match="window.min_frames=3"):
        sweep(recorded, [RATE_HZ], [1.0], [0.0], 0.8, [2])
    with pytest.raises(ValueError, match="window.rate_hz=30"):
        sweep(recorded, [2 * RATE_HZ], [1.0], [0.0], 0.8, [3])


def test_sweep_thins_windows_on_the_schedules_grid_and_chooses_on_the_other_streams():
    from vg4d_ros.programs.stream_sweep import choose, thin

    period = 10**9 // 15  # 15 Hz verdicts: 66,666,666 ns apart, a hair short of a 15 Hz period
    windows = [{"stamp_ns": 10**18 + i * period} for i in range(30)]
    assert thin(windows, 0.0) == windows and thin(windows, 15.0) == windows
    assert [windows.index(w) for w in thin(windows, 5.0)] == list(range(0, 30, 3))

    def report(f1, delay):
        return {"predicted": ["a"], "truth": ["a"], "delays_s": [delay], "events": 1, "f1": f1}

    # pooled_report recomputes F1 from the frames: fake streams where every setting is perfect (F1 1.0)
    # and only the delays differ; the choice on streams A and B is the shortest delay there
    results = {("fast",): {"A": report(1, 0.5), "B": report(1, 0.6), "C": report(1, 3.0)},
               ("slow",): {"A": report(1, 1.0), "B": report(1, 1.0), "C": report(1, 1.0)}}
    assert choose(results, ["A", "B"], 0.8) == ("fast",)
    assert choose(results, ["C"], 0.8) == ("slow",)


def test_first_correct_window_is_the_first_window_inside_an_action_whose_top1_is_its_label():
    from vg4d_ros.programs.stream_sweep import first_correct_s

    s = 10**9
    stream = {"class_names": ["a", "b"], "segments": [[10 * s, 12 * s, "a"], [20 * s, 22 * s, "b"]], "windows": [
        {"stamp_ns": 9 * s, "status": "labelled", "probs": [0.9, 0.1]},  # before the action: not counted
        {"stamp_ns": 10 * s + s // 2, "status": "labelled", "probs": [0.2, 0.8]},  # inside, wrong
        {"stamp_ns": 11 * s, "status": "still", "probs": None},
        {"stamp_ns": 11 * s + s // 4, "status": "labelled", "probs": [0.6, 0.4]},  # inside, right: 1.25 s
        {"stamp_ns": 21 * s, "status": "labelled", "probs": [0.7, 0.3]},  # the second action is never right
        {"stamp_ns": 23 * s, "status": "labelled", "probs": [0.1, 0.9]}]}  # after it: not counted
    assert first_correct_s(stream) == [1.25, None]


def test_accuracy_by_frames_counts_the_windows_that_begin_inside_an_action_by_their_frames():
    from vg4d_ros.programs.stream_sweep import accuracy_by_frames

    s = 10**9
    stream = {"class_names": ["a", "b"], "segments": [[10 * s, 12 * s, "a"]], "windows": [
        {"stamp_ns": 10 * s + s // 2, "first_stamp_ns": 9 * s, "num_frames": 4, "status": "labelled",
         "probs": [0.9, 0.1]},  # begins before the action: not counted
        {"stamp_ns": 10 * s + s // 2, "first_stamp_ns": 10 * s, "num_frames": 4, "status": "labelled",
         "probs": [0.3, 0.7]},  # 4 frames, wrong
        {"stamp_ns": 11 * s, "first_stamp_ns": 10 * s, "num_frames": 8, "status": "labelled",
         "probs": [0.6, 0.4]},  # 8 frames, right
        {"stamp_ns": 11 * s, "first_stamp_ns": 10 * s, "num_frames": 8, "status": "still", "probs": None},
        {"stamp_ns": 11 * s + s // 2, "first_stamp_ns": 10 * s, "num_frames": 8, "status": "labelled",
         "probs": [0.2, 0.8]},  # 8 frames, wrong
        {"stamp_ns": 13 * s, "first_stamp_ns": 10 * s + s, "num_frames": 9, "status": "labelled",
         "probs": [0.9, 0.1]}]}  # ends after the action: not counted
    got = accuracy_by_frames([stream])
    assert list(got) == ["4", "8"]
    assert got["4"] == {"windows": 1, "top1": 0.0, "mean_top_prob": 0.7}
    assert got["8"]["windows"] == 2 and got["8"]["top1"] == 50.0 and abs(got["8"]["mean_top_prob"] - 0.7) < 1e-12
