"""Two-person actions: which tracks pair up (pure rules), and the pair windows of PersonWindows on point
sets (metres, optical frame: y down, the floor 1.2 m below the camera)."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_ros.config import PairsConfig, PeopleConfig
from vg4d_ros.pipeline.pairs import (PAIR_APART, TRACK_LOST, PairSettings, choose_pairs, floor_distance, is_pair,
                                     member_numbers, pair_id, pair_members)
from vg4d_ros.pipeline.person_windows import PersonWindows
from vg4d_ros.pipeline.window import WindowConfig


def at(x, z=2.5, y=0.0):
    return np.array([x, y, z], np.float64)


def test_ids_order_members_by_number_and_people_before_their_pairs():
    assert pair_id("p10", "p2") == "p2+p10" and pair_members("p2+p10") == ("p2", "p10")
    assert is_pair("p2+p10") and not is_pair("p2")
    assert sorted(["p2+p10", "p10", "p2", "p1+p3"], key=member_numbers) == ["p1+p3", "p2", "p2+p10", "p10"]


def test_floor_distance_leaves_out_the_up_component():
    assert floor_distance(at(0, y=-0.8), at(0, y=0.4), (0, -1, 0)) == pytest.approx(0.0)
    assert floor_distance(at(0), at(0.6, z=3.3), (0, -1, 0)) == pytest.approx(1.0)
    assert floor_distance(at(0), at(0, z=3.0), (0, 0, 2)) == pytest.approx(0.0)  # any length of up


def test_settings_are_checked():
    for bad in (dict(max_distance_m=0), dict(max_distance_m=float("nan")), dict(release_m=1.0),
                dict(up=(0, 0, 0))):
        with pytest.raises(ValueError):
            PairSettings(**bad)


def test_close_tracks_pair_closest_first_each_in_one_pair_and_far_ones_alone():
    s = PairSettings(max_distance_m=1.2, release_m=1.6)
    # p1 -- 1.0 -- p2 -- 0.8 -- p3: p2 and p3 are closest, p1 is left (never a chain); p4 is far
    pos = {"p1": at(0.0), "p2": at(1.0), "p3": at(1.8), "p4": at(6.0)}
    now, ended = choose_pairs(pos, set(), s)
    assert now == ["p2+p3"] and ended == []
    # a fifth person near p1 pairs with p1
    now, _ = choose_pairs({**pos, "p5": at(-0.9)}, set(now), s)
    assert now == ["p1+p5", "p2+p3"]
    assert choose_pairs({"p1": at(0.0)}, set(), s) == ([], [])


def test_a_pair_lasts_until_release_then_ends_apart_or_with_a_member():
    s = PairSettings(max_distance_m=1.0, release_m=1.5)
    now, _ = choose_pairs({"p1": at(0.0), "p2": at(0.9)}, set(), s)
    assert now == ["p1+p2"]
    # between the two distances: no new pair forms, the existing one lasts (no flicker at the edge)
    assert choose_pairs({"p1": at(0.0), "p2": at(1.4)}, set(), s) == ([], [])
    assert choose_pairs({"p1": at(0.0), "p2": at(1.4)}, {"p1+p2"}, s) == (["p1+p2"], [])
    assert choose_pairs({"p1": at(0.0), "p2": at(1.6)}, {"p1+p2"}, s) == ([], [("p1+p2", PAIR_APART)])
    assert choose_pairs({"p1": at(0.0)}, {"p1+p2"}, s) == ([], [("p1+p2", TRACK_LOST)])
    # a member freed by the end of its pair may pair again at once with someone close
    now, ended = choose_pairs({"p1": at(0.0), "p3": at(0.5)}, {"p1+p2"}, s)
    assert now == ["p1+p3"] and ended == [("p1+p2", TRACK_LOST)]


def body(rng, x, z=2.5, n=600, height=1.7, width=0.45, feet_y=1.2):
    """(n, 3) float32 points of an upright elliptic cylinder standing at (x, z)."""
    r = np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * np.pi
    return np.stack([x + 0.5 * width * r * np.cos(a), feet_y - height * rng.random(n),
                     z + 0.15 * r * np.sin(a)], axis=1).astype(np.float32)


def run_windows(xs_per_frame, pairs=True, **pair_kw):
    """Frames of people at the given x (one list per frame, 15 Hz) through PersonWindows with a store that
    keeps every point; returns the steps."""
    rng = np.random.default_rng(0)
    config = PeopleConfig(enabled=True, birth_frames=1, pairs=PairsConfig(enabled=pairs, **pair_kw))
    window = WindowConfig(num_segments=4, points_per_frame=32, window_s=1.0, max_frames=64, min_frames=4,
                          hop_frames=2, min_coverage=0.0, views=1)
    pw = PersonWindows(config, window)
    steps = []
    for f, xs in enumerate(xs_per_frame):
        points = np.concatenate([body(rng, x) for x in xs]) if xs else np.zeros((0, 3), np.float32)
        steps.append((points, pw.push(1_000_000_000 + f * 66_666_667, points, None, lambda p, s: p.copy())))
    return pw, steps


def test_a_pair_window_holds_both_people_and_its_box_holds_both_boxes():
    pw, steps = run_windows([[0.0, 0.9]] * 12)
    pair_windows = [w for _, st in steps for w in st.windows if w.members]
    people_windows = [w for _, st in steps for w in st.windows if not w.members]
    assert pair_windows and {w.track_id for w in pair_windows} == {"p1+p2"}
    assert {w.track_id for w in people_windows} == {"p1", "p2"}
    assert pw.pair_ids == ["p1+p2"]
    points, step = steps[-1]
    pair = next(w for w in step.windows if w.members)
    assert pair.members == ("p1", "p2")
    # the union of both people's points, in the frame's order (the store saw all of them)
    assert pair.box.num_points == points.shape[0]
    np.testing.assert_allclose(pair.box.box_min, points.min(axis=0), atol=1e-6)
    np.testing.assert_allclose(pair.box.box_max, points.max(axis=0), atol=1e-6)
    np.testing.assert_allclose(pair.box.centroid, points.mean(axis=0), atol=1e-5)
    ones = [w for w in step.windows if not w.members]
    assert sum(w.box.num_points for w in ones) == pair.box.num_points


def test_people_walking_apart_end_their_pair_and_pairs_off_make_none():
    frames = [[0.0, 0.9]] * 6 + [[-0.4 - 0.2 * k, 1.3 + 0.2 * k] for k in range(8)]
    pw, steps = run_windows(frames, max_distance_m=1.2, release_m=1.6)
    ended = [e for _, st in steps for e in st.pairs_ended]
    assert ended == [("p1+p2", PAIR_APART)]
    assert pw.pair_ids == []
    _, steps = run_windows([[0.0, 0.9]] * 8, pairs=False)
    assert not any(w.members for _, st in steps for w in st.windows)
    assert not any(st.pairs_ended for _, st in steps)


def test_a_pair_ends_with_its_member_and_clear_forgets_pairs():
    frames = [[0.0, 0.9]] * 6 + [[0.0]] * 40  # p2 leaves: its track dies after death_s (1.5 s = 23 frames)
    pw, steps = run_windows(frames)
    ended = [e for _, st in steps for e in st.pairs_ended]
    assert ended == [("p1+p2", TRACK_LOST)]
    pw, _ = run_windows([[0.0, 0.9]] * 6)
    assert pw.pair_ids == ["p1+p2"]
    pw.clear()
    assert pw.pair_ids == [] and pw.track_ids == []
