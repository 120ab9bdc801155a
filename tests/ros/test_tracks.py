"""Person tracks across frames on synthetic scenes: people are sampled blobs (metres, camera optical
frame: x right, y down, z forward; the floor 1.2 m below the camera) walking at 30 frames per second."""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from vg4d_ros.pipeline.people import PeopleSettings, split_people
from vg4d_ros.pipeline.tracks import PersonTracker, TrackFrame, TrackSettings

RATE_HZ = 30
FRAME_NS = 1_000_000_000 // RATE_HZ
T0 = 1_700_000_000_000_000_000  # a realistic epoch stamp: ns arithmetic must not lose precision


def body(rng, x, z, n=700, height=1.7, width=0.5, depth=0.3):
    """(n, 3) float32 points filling an upright elliptic cylinder: feet on the floor (y = 1.2), centre (x, z)."""
    r = np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * np.pi
    return np.stack([x + 0.5 * width * r * np.cos(a), 1.2 - height * rng.random(n),
                     z + 0.5 * depth * r * np.sin(a)], axis=1).astype(np.float32)


def angular(p):
    """Angular interval (x / z) a blob covers in the image."""
    u = p[:, 0] / p[:, 2]
    return u.min(), u.max()


def occluded(front, back):
    """Whether ``front`` hides any of ``back`` (their image intervals overlap and front is nearer)."""
    (a0, a1), (b0, b1) = angular(front), angular(back)
    return front[:, 2].mean() < back[:, 2].mean() and a0 < b1 and b0 < a1


class Run:
    """Feeds frames to a tracker and keeps, per frame, which ground-truth person each track's points are."""

    def __init__(self, tracker=None, people=PeopleSettings()):
        self.people = people
        self.tracker = tracker or PersonTracker(TrackSettings(), people)
        self.frames: list[TrackFrame] = []
        self.owner: list[dict[str, tuple[str, float]]] = []  # per frame: track id -> (person, purity)

    def step(self, stamp_ns, blobs: dict[str, np.ndarray]) -> TrackFrame:
        names = list(blobs)
        pts = np.concatenate([blobs[k] for k in names]) if names else np.zeros((0, 3), np.float32)
        truth = np.concatenate([[k] * len(blobs[k]) for k in names]) if names else np.zeros(0, str)
        frame = self.tracker.update(stamp_ns, pts, split_people(pts, self.people))
        owner = {}
        for p in frame.confirmed + frame.tentative:
            (name, count), = Counter(truth[p.candidate.indices]).most_common(1)
            owner[p.track_id] = (name, count / p.candidate.num_points)
        self.frames.append(frame)
        self.owner.append(owner)
        return frame

    def ids_of(self, name: str) -> set[str]:
        """Confirmed ids ever given (a majority of) this person's points."""
        confirmed = [{p.track_id for p in f.confirmed} for f in self.frames]
        return {i for o, c in zip(self.owner, confirmed) for i, (n, _) in o.items() if n == name and i in c}

    def people_of(self) -> dict[str, set[str]]:
        out = defaultdict(set)
        for f, o in zip(self.frames, self.owner):
            for p in f.confirmed:
                out[p.track_id].add(o[p.track_id][0])
        return dict(out)


def assert_one_id_each(run: Run, names):
    """Each person had exactly one confirmed id, and each confirmed id was exactly one person."""
    for name in names:
        assert len(run.ids_of(name)) == 1, (name, run.ids_of(name))
    people = run.people_of()
    assert all(len(v) == 1 for v in people.values()), people
    assert len(people) == len(names), people


def test_settings_validation():
    for bad in (dict(gate_m=0), dict(gate_m=float("nan")), dict(birth_frames=0), dict(birth_frames=2.5),
                dict(birth_frames=True), dict(death_s=0), dict(death_s=float("inf")), dict(max_speed_mps=-1),
                dict(velocity_alpha=0), dict(velocity_alpha=1.5), dict(join_along_m=-0.1),
                dict(join_along_m=float("inf")),
                dict(join_across_m=-1)):
        field = next(iter(bad))
        with pytest.raises(ValueError, match=field):
            TrackSettings(**bad)
    TrackSettings(birth_frames=1, max_speed_mps=0, velocity_alpha=1, join_along_m=0, join_across_m=0)


def test_update_checks_its_inputs():
    tracker = PersonTracker()
    pts = body(np.random.default_rng(0), 0, 3)
    with pytest.raises(ValueError, match="stamp_ns"):
        tracker.update(1.5, pts, [])
    with pytest.raises(ValueError, match="points_m"):
        tracker.update(T0, pts[:, :2], [])
    cand = split_people(pts)[0]
    with pytest.raises(ValueError, match="out of range"):
        tracker.update(T0, pts[:10], [cand])


def test_steady_walking_keeps_ids_and_births_after_birth_frames():
    rng = np.random.default_rng(1)
    run = Run()
    for k in range(60):
        t = k / RATE_HZ
        frame = run.step(T0 + k * FRAME_NS, {"a": body(rng, -1.5 + 1.2 * t, 2.5), "b": body(rng, 1.0 - 0.8 * t, 3.5),
                                             "c": body(rng, 2.0, 2.0 + 0.9 * t)})
        if k < 2:
            assert not frame.confirmed and len(frame.tentative) == 3
        elif k == 2:
            assert frame.born == ("p1", "p2", "p3") and len(frame.confirmed) == 3
        else:
            assert not frame.born and len(frame.confirmed) == 3 and not frame.coasting
    assert_one_id_each(run, "abc")
    last = run.frames[-1].confirmed
    speeds = sorted(float(np.linalg.norm(p.velocity)) for p in last)
    np.testing.assert_allclose(speeds, [0.8, 0.9, 1.2], atol=0.15)  # constant-velocity model learnt the motion


def test_birth_needs_consecutive_frames_and_a_flicker_is_dropped():
    rng = np.random.default_rng(2)
    run = Run(PersonTracker(TrackSettings(birth_frames=3)))
    seen = [1, 1, 0, 1, 1, 1, 1]
    for k, on in enumerate(seen):
        run.step(T0 + k * FRAME_NS, {"a": body(rng, 0.0, 3.0)} if on else {})
    f = run.frames
    assert [p.track_id for p in f[0].tentative] == ["p1"] and [p.track_id for p in f[1].tentative] == ["p1"]
    assert f[2].dropped == ("p1",) and not f[2].died and not f[2].coasting  # a tentative track does not coast
    assert [p.track_id for p in f[3].tentative] == ["p2"] and [p.track_id for p in f[4].tentative] == ["p2"]
    assert f[5].born == ("p2",) and [p.track_id for p in f[5].confirmed] == ["p2"]
    assert [p.track_id for p in f[6].confirmed] == ["p2"] and not f[6].born
    # birth_frames = 1: confirmed at first sight
    frame = PersonTracker(TrackSettings(birth_frames=1)).update(T0, *_one(rng))
    assert frame.born == ("p1",) and not frame.tentative


def _one(rng):
    pts = body(rng, 0.0, 3.0)
    return pts, split_people(pts)


def test_death_after_death_s_and_a_return_is_a_new_id():
    rng = np.random.default_rng(3)
    run = Run(PersonTracker(TrackSettings(death_s=1.5, birth_frames=3)))
    for k in range(5):
        run.step(T0 + k * FRAME_NS, {"a": body(rng, 0.0, 3.0)})
    last_seen = T0 + 4 * FRAME_NS
    # no points: the track coasts up to death_s after its last match, and dies at the first frame past it
    frame = run.step(last_seen + 1_500_000_000, {})
    assert [p.track_id for p in frame.coasting] == ["p1"] and not frame.died
    frame = run.step(last_seen + 1_500_000_001, {})
    assert frame.died == ("p1",) and not frame.coasting and not frame.reset
    # back after the death: a new id (p1 is never given again)
    for k in range(3):
        frame = run.step(last_seen + 1_600_000_000 + k * FRAME_NS, {"a": body(rng, 0.0, 3.0)})
    assert frame.born == ("p2",)


def test_a_short_dropout_keeps_ids_and_coasts_on_the_prediction():
    rng = np.random.default_rng(4)
    run = Run()
    for k in range(40):
        t = k / RATE_HZ
        blobs = {"a": body(rng, -1.0 + 1.0 * t, 3.0), "b": body(rng, 1.0, 2.5 + 0.5 * t)}
        frame = run.step(T0 + k * FRAME_NS, {} if 20 <= k < 24 else blobs)  # 4 frames of nothing
        if 20 <= k < 24:
            assert {p.track_id for p in frame.coasting} == {"p1", "p2"} and not frame.confirmed
            a = next(p for p in frame.coasting if p.track_id == "p1")
            assert abs(a.position[0] - (-1.0 + t)) < 0.1  # moved on at its velocity
    assert_one_id_each(run, "ab")
    assert all(len(f.confirmed) == 2 for f in run.frames[24:])


def test_velocity_is_measured_smoothed_and_clamped():
    """The same body shifted along x: the first measurement is taken as it is, later ones smoothed with
    velocity_alpha, and no velocity exceeds max_speed_mps. Vertical motion (sitting down) is not velocity."""
    rng = np.random.default_rng(12)
    shape = body(rng, 0.0, 3.0)
    tracker = PersonTracker(TrackSettings(velocity_alpha=0.5, birth_frames=1))

    def at(k, dx, dy=0.0):
        pts = shape + np.float32([dx, dy, 0.0])
        (person,) = tracker.update(T0 + k * FRAME_NS, pts, split_people(pts)).confirmed
        return person.velocity

    np.testing.assert_allclose(at(0, 0.0), 0.0)
    np.testing.assert_allclose(at(1, 0.03), [0.9, 0, 0], atol=1e-4)  # 3 cm in 1/30 s
    np.testing.assert_allclose(at(2, 0.09, dy=0.2), [0.5 * 1.8 + 0.5 * 0.9, 0, 0], atol=1e-4)
    np.testing.assert_allclose(at(3, 0.39), [2.5, 0, 0], atol=1e-4)  # 9 m/s measured: clamped


@pytest.mark.parametrize("max_speed, ids", [(2.5, {"p1"}), (0.0, {"p1", "p2"})])
def test_the_gate_widens_while_a_track_is_unseen(max_speed, ids):
    """Hidden for 0.6 s, the person turns back: they reappear 1.5 m from the prediction. The gate grows by
    max_speed_mps per second unseen, so the default still takes them; a gate that never grows does not."""
    rng = np.random.default_rng(11)
    run = Run(PersonTracker(TrackSettings(max_speed_mps=max_speed)))
    for k in range(60):
        t = k / RATE_HZ
        x = -1.0 + min(t, 1.0) - 1.5 * max(0.0, t - 1.0)
        run.step(T0 + k * FRAME_NS, {} if 1.0 < t <= 1.6 else {"a": body(rng, x, 3.0)})
    assert run.ids_of("a") == ids


@pytest.mark.parametrize("z_back", [3.3, 4.0])
def test_crossing_in_front_with_occlusion_keeps_ids(z_back):
    """a at 2.5 m walks right, b farther back walks left; while a is in front of b, b's points are gone."""
    rng = np.random.default_rng(5)
    run = Run()
    hidden = 0
    for k in range(75):
        t = k / RATE_HZ
        a, b = body(rng, -1.2 + 1.0 * t, 2.5), body(rng, 1.2 - 1.0 * t, z_back)
        blobs = {"a": a} if occluded(a, b) else {"a": a, "b": b}
        hidden += "b" not in blobs
        frame = run.step(T0 + k * FRAME_NS, blobs)
        if "b" not in blobs:
            assert [p.track_id for p in frame.coasting] == ["p2"]
    assert 10 <= hidden <= 18  # b fully gone for ~0.35-0.6 s
    assert_one_id_each(run, "ab")
    assert all(len(f.confirmed) == 2 for f, o in zip(run.frames[2:], run.owner[2:]) if len(o) == 2)


def test_meeting_at_one_depth_and_parting_keeps_ids():
    """Two people at the same depth walk towards each other, touch (one component) for a second, walk back."""
    rng = np.random.default_rng(6)
    run = Run()
    merged = 0

    def x_of(t):  # centre-to-centre distance: 2.0 m -> 0.45 m (bodies overlap by 5 cm) -> 2.0 m
        return 1.0 - 0.775 * min(t, 1.0) + 0.775 * max(0.0, min(t - 2.0, 1.0))

    for k in range(100):
        t = k / RATE_HZ
        blobs = {"a": body(rng, -x_of(t), 3.0), "b": body(rng, x_of(t), 3.0)}
        frame = run.step(T0 + k * FRAME_NS, blobs)
        if len(split_people(np.concatenate(list(blobs.values())))) == 1:
            merged += 1
            assert {p.track_id for p in frame.confirmed} == {"p1", "p2"} and all(p.split for p in frame.confirmed)
            assert min(purity for _, purity in run.owner[-1].values()) > 0.9
    assert merged >= 30
    assert_one_id_each(run, "ab")


def test_brushing_past_at_nearly_one_depth_keeps_ids():
    """Bodies touch while they pass (0.25 m apart in depth: one component); they stop for a second side by
    side (talking), then walk on. The cut between them turns from across x to across z as they pass."""
    rng = np.random.default_rng(7)
    run = Run()
    merged = 0
    for k in range(110):
        t = k / RATE_HZ
        walked = min(t, 1.2) + max(0.0, t - 2.2)  # 1 m/s, standing still from t = 1.2 s to 2.2 s
        blobs = {"a": body(rng, -1.2 + walked, 3.0), "b": body(rng, 1.2 - walked, 3.25)}
        run.step(T0 + k * FRAME_NS, blobs)
        if len(split_people(np.concatenate(list(blobs.values())))) == 1:
            merged += 1
            assert min(purity for _, purity in run.owner[-1].values()) > 0.85
    assert merged >= 40
    assert_one_id_each(run, "ab")


def test_side_by_side_then_apart_keeps_ids():
    """Two people converge, walk shoulder to shoulder (touching) for a second, then diverge."""
    rng = np.random.default_rng(8)
    run = Run()
    merged = 0
    for k in range(105):
        t = k / RATE_HZ
        half = 0.75 - 0.5 * min(t, 1.0) + 0.5 * max(0.0, min(t - 2.5, 1.0))  # half gap: 0.75 -> 0.25 -> 0.75
        z = 2.2 + 0.6 * t  # both walk away from the camera all along
        blobs = {"a": body(rng, -half, z), "b": body(rng, half, z)}
        run.step(T0 + k * FRAME_NS, blobs)
        merged += len(split_people(np.concatenate(list(blobs.values())))) == 1
    assert merged >= 30
    assert_one_id_each(run, "ab")


def test_stamp_going_back_or_a_long_gap_resets_and_ids_are_never_reused():
    rng = np.random.default_rng(9)
    run = Run()
    for k in range(4):
        run.step(T0 + k * FRAME_NS, {"a": body(rng, 0, 3)})
    frame = run.step(T0 + 2 * FRAME_NS, {"a": body(rng, 0, 3)})  # went back (a bag looped)
    assert frame.reset and frame.died == ("p1",) and [p.track_id for p in frame.tentative] == ["p2"]
    frame = run.step(T0 + 3 * FRAME_NS, {"a": body(rng, 0, 3)})
    assert not frame.reset and [p.track_id for p in frame.tentative] == ["p2"]
    frame = run.step(T0 + 3 * FRAME_NS + 1_600_000_000, {"a": body(rng, 0, 3)})  # gap > death_s
    assert frame.reset and frame.dropped == ("p2",) and not frame.died
    assert [p.track_id for p in frame.tentative] == ["p3"]
    # an equal stamp is not a reset (a duplicate frame)
    frame = run.step(T0 + 3 * FRAME_NS + 1_600_000_000, {"a": body(rng, 0, 3)})
    assert not frame.reset and [p.track_id for p in frame.tentative] == ["p3"]
    # reset() on demand
    tracker = run.tracker
    for k in range(4, 6):
        run.step(T0 + k * FRAME_NS + 1_600_000_000, {"a": body(rng, 0, 3)})
    assert [p.track_id for p in run.frames[-1].confirmed] == ["p3"]
    assert tracker.reset() == (("p3",), ()) and tracker.last_stamp_ns is None
    frame = run.step(T0, {"a": body(rng, 0, 3)})  # any stamp is fine after a reset
    assert not frame.reset and [p.track_id for p in frame.tentative] == ["p4"]


def test_ids_are_never_reused_under_churn():
    """People come and go at random; every id ever reported is unique to one life (first seen, then
    continuously alive until it ends) and ids are handed out in increasing order."""
    rng = np.random.default_rng(10)
    run = Run(PersonTracker(TrackSettings(death_s=0.3)))
    spots = [(-1.5, 2.5), (0.0, 3.5), (1.5, 2.5)]
    present = [False, False, False]
    for k in range(150):
        if k % 10 == 0:
            present = [bool(rng.random() < 0.6) for _ in spots]
        run.step(T0 + k * FRAME_NS, {f"s{i}": body(rng, x, z) for i, (x, z) in enumerate(spots) if present[i]})
    ended: set[str] = set()
    first: list[str] = []
    for f in run.frames:
        alive = {p.track_id for p in f.confirmed + f.tentative + f.coasting}
        assert not alive & ended, alive & ended
        first += [i for i in sorted(alive, key=lambda i: int(i[1:])) if i not in first]
        ended |= set(f.died) | set(f.dropped)
    numbers = [int(i[1:]) for i in first]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers) and len(numbers) >= 6


def bent(rng, x, z, n=700):
    """A person bent towards the camera as a depth camera sees them: the legs (0.9 m, feet on the floor) and,
XX and head hanging forward (0.6 m tall): two pieces farther
    apart than a voxel, each tall enough to be a person."""
    legs = body(rng, x, z, n=n // 2, height=0.9, width=0.4, depth=0.2)
    torso = body(rng, x, z - 0.35, n=n - n // 2, height=0.6, width=0.45, depth=0.2)
    torso[:, 1] -= 0.3  # hanging from hip height to 0.3 m above the floor
    return np.concatenate([legs, torso])


@pytest.mark.parametrize("join_along_m", [0.5, 0.0])
def test_a_person_bending_towards_the_camera_stays_one_person(join_along_m):
    """Upright for 6 frames (confirmed), then bent for 8: two components of one person. With the join the
    track holds every point of both pieces and no second track starts; without it the torso is a person of
    its own (the failure step 3b removes)."""
    rng = np.random.default_rng(3)
    run = Run(PersonTracker(TrackSettings(join_along_m=join_along_m)))
    for f in range(6):
        run.step(T0 + f * FRAME_NS, {"a": body(rng, 0.0, 3.0)})
    assert [p.track_id for p in run.frames[-1].confirmed] == ["p1"]
    for f in range(6, 14):
        pts = bent(rng, 0.0, 3.0)
        assert len(split_people(pts)) == 2  # the scene is what the step is for
        frame = run.step(T0 + f * FRAME_NS, {"a": pts})
        if join_along_m:
            (p,) = frame.confirmed
            assert p.track_id == "p1" and p.candidate.num_points == pts.shape[0] and p.pieces == 2
            assert frame.tentative == () and frame.born == ()
            assert abs(p.position[2] - pts[:, 2].mean()) < 1e-6  # the position is the whole person's
    if not join_along_m:
        assert {p.track_id for p in run.frames[-1].confirmed} == {"p1", "p2"}


def test_a_second_person_beside_a_tracked_one_is_still_their_own():
    """Joining pieces takes nothing farther across the line of sight than join_across_m: a person who walks
    up beside a tracked one (0.6 m between centres, a gap of 0.2 m between their bodies) becomes a track
    after birth_frames."""
    rng = np.random.default_rng(4)
    run = Run()
    for f in range(6):
        run.step(T0 + f * FRAME_NS, {"a": body(rng, 0.0, 3.0, width=0.4)})
    for f in range(6, 14):
        frame = run.step(T0 + f * FRAME_NS, {"a": body(rng, 0.0, 3.0, width=0.4),
                                             "b": body(rng, 0.6, 3.0, width=0.4)})
        assert all(p.pieces == 1 for p in frame.confirmed + frame.tentative)
    assert_one_id_each(run, ["a", "b"])


MSR_SPLIT_VIDEOS = ("a13_s02_e02", "a14_s08_e02", "a20_s09_e01")  # bend, forward kick, pickup and throw


@pytest.mark.parametrize("name", MSR_SPLIT_VIDEOS)
def test_real_people_bending_and_kicking_stay_one_whole_track(shared_data, name):
    """MSR-Action3D videos (one person) in which frames come out as two candidates: the torso bent towards
    the camera or a leg kicked forward is farther from the rest in depth than a voxel. Every frame from the
    birth on is one confirmed track holding every candidate's points; without step 3b (join_along_m 0) it
    is not."""
    from missing_data import skip_or_fail
    from vg4d_core.data.depth import MSR_ACTION3D_DEPTH, depth_to_points
    from vg4d_core.data.msr_action3d import load_depth_video

    path = shared_data / "msr_action3d" / f"{name}_sdepth.mat"
    if not path.is_file():
        skip_or_fail(f"MSR-Action3D video not found: {path}")
    depth = load_depth_video(path).astype(np.uint16) * 5  # millimetres, as vg4d msr2bag writes them
    whole = {0.5: 0, 0.0: 0}
    split = 0
    for join in whole:
        tracker = PersonTracker(TrackSettings(join_along_m=join))
        for t in range(depth.shape[0]):
            pts = depth_to_points(depth[t], MSR_ACTION3D_DEPTH)
            cands = split_people(pts)
            split += join > 0 and len(cands) > 1
            frame = tracker.update(T0 + t * 66_666_667, pts, cands)
            if t >= TrackSettings().birth_frames - 1:
                whole[join] += (len(frame.confirmed) == 1 and not frame.tentative
                                  and frame.confirmed[0].candidate.num_points == sum(c.num_points for c in cands))
    frames = depth.shape[0] - TrackSettings().birth_frames + 1
    assert split >= 1  # the video has the frames this is about
    assert whole[0.5] == frames
    assert whole[0.0] <= frames - split


def test_two_real_people_shaking_hands_are_never_joined(shared_data):
    """NTU RGB+D's sample clip A058 "handshaking" (Kinect v2): two people, cut apart at the valley between
    their heads; joining pieces must not put them back together: two tracks, one piece each."""
    import cv2

    from missing_data import skip_or_fail
    from vg4d_core.data.depth import KINECT_V2_DEPTH, depth_to_points

    clip = shared_data / "ntu_sample" / "nturgb+d_depth_masked" / "S001C001P001R001A058"
    files = sorted(clip.glob("MDepth-*.png"))
    if not files:
        skip_or_fail("NTU sample clip A058 not found")
    tracker = PersonTracker()
    ids: set[str] = set()
    for t, f in enumerate(files):
        pts = depth_to_points(cv2.imread(str(f), cv2.IMREAD_UNCHANGED), KINECT_V2_DEPTH, depth_unit=1e-3)
        frame = tracker.update(T0 + t * 33_333_333, pts, split_people(pts))
        ids |= {p.track_id for p in frame.confirmed}
        assert all(p.pieces == 1 for p in frame.confirmed + frame.tentative)
    assert len(ids) == 2
