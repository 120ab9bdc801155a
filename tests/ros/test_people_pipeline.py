"""Several people at once through the recogniser core, on rendered multi-person depth bags.

`vg4d people2bag`'s scenes (two figures acting in a room, depth 16UC1 + CameraInfo + per-person ground
truth) go through :class:`Recognizer` with ``people.enabled``: each person gets a track, a window of
their own points and a label; the same checkpoint on a bag of each actor rendered alone (the single-
person path) gives the same probabilities where the actors stand apart.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from recognizer_helpers import CLASS_NAMES, tiny_checkpoint
from vg4d_core.data.synthetic.people import make_people_scene
from vg4d_ros.bags.bagio import open_bag, read_messages
from vg4d_ros.bags.people2bag import write_people_bag
from vg4d_ros.bags.people_truth import read_people_truth
from vg4d_ros.config import load_recognizer_config
from vg4d_ros.pipeline.model import load_model
from vg4d_ros.pipeline.recognizer import Recognizer
from vg4d_ros.transports.outputs import detections_msg
from vg4d_ros.typestore import ros_typestore

DEPTH, INFO = "/camera/depth/image_raw", "/camera/depth/camera_info"
# the room's floor is the plane y = 1.0 m (optical frame, y down): the crop box keeps what is above it,
# the back wall (5.5 m) is beyond max_depth; no floor fit, so a person's points do not depend on who
# else is in view
SETTINGS = ["inference.device=cpu", "window.views=1", "window.min_coverage=0", "window.window_s=1.0",
            "window.min_frames=6", "window.hop_frames=5", "foreground.crop_enabled=true",
            "foreground.crop_min=[-4.0,-2.5,0.3]", "foreground.crop_max=[4.0,0.97,4.5]", "foreground.max_depth=4.5",
            "foreground.from_checkpoint=false", "guards.min_points_per_frame=32"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt")


def replay_in_order(bag: Path, checkpoint: Path, *extra: str):
    """Like a live node with the worker running, but waiting after every frame: each batch is scored."""
    config = load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={checkpoint}", *SETTINGS,
                                                              *extra])
    people, single, events = [], [], []
    rec = Recognizer(config, load_model(config), single.append)
    rec.on_people = people.append
    rec.on_event = events.append
    rec.start()
    with open_bag(bag) as reader:
        for m in read_messages(reader, [DEPTH, INFO], path=bag):
            if m.topic == INFO:
                rec.on_camera_info(m.msg)
            else:
                rec.on_depth(m.msg)
                rec.wait_idle(120.0)
    rec.stop()
    return people, single, events


@pytest.fixture(scope="module")
def apart(tmp_path_factory):
    """Two people standing apart, acting; and each of them rendered alone (same frames, same noise)."""
    root = tmp_path_factory.mktemp("people")
    scene = make_people_scene(3, 0, actors=2, kind="apart", num_frames=31)
    write_people_bag(scene, root / "both", rgb=False)
    alone = {}
    for actor in scene.actors:
        write_people_bag(dataclasses.replace(scene, actors=(actor,)), root / actor.actor_id, rgb=False)
        alone[actor.actor_id] = root / actor.actor_id
    return root / "both", alone


def test_two_people_get_two_stable_tracks_boxed_where_they_stand(apart, checkpoint):
    both, _ = apart
    people, single, _ = replay_in_order(both, checkpoint, "people.enabled=true")
    assert people, "no person was scored"
    ids = {p.track_id for r in people for p in r.people}
    assert ids == {"p1", "p2"}, ids  # born once each, never re-born
    truth = read_people_truth(both)
    by_stamp = {stamp: persons for stamp, persons in truth.frames}
    for r in people:
        assert len(r.people) == 2 and all(p.verdict.status == "labelled" for p in r.people)
        gt = by_stamp[r.stamp_ns]
        for p in r.people:
            # the track's box is around one actor's visible points (the ground truth's box centre)
            d = min(np.linalg.norm(np.asarray(g.box_center) - (p.box.box_min + p.box.box_max) / 2) for g in gt)
            assert d < 0.1, (r.stamp_ns, p.track_id, d)
    # the same track is the same actor all along
    first = {p.track_id: p.box.centroid for p in people[0].people}
    last = {p.track_id: p.box.centroid for p in people[-1].people}
    for track_id in first:
        assert np.linalg.norm(first[track_id] - last[track_id]) < 0.5
    # ~/action and ~/label keep one person: the nearest by default
    assert single and all(r.stamp_ns in {p.stamp_ns for p in people} for r in single)


def test_each_person_is_scored_as_if_alone(apart, checkpoint):
    """Per-person windows are the single-person path's windows of the same frames: the probabilities of
    each track equal those of the single-person recogniser on a bag of that actor alone."""
    both, alone = apart
    people, _, _ = replay_in_order(both, checkpoint, "people.enabled=true")
    truth = read_people_truth(both)
    compared = 0
    for actor_id, bag in alone.items():
        _, results, _ = replay_in_order(bag, checkpoint)
        assert results
        alone_by_stamp = {r.stamp_ns: r for r in results}
        # which track is this actor: nearest to its ground-truth centre in the first scored frame
        gt = {g.actor_id: g for g in dict(truth.frames)[people[0].stamp_ns]}[actor_id]
        track = min(people[0].people, key=lambda p: np.linalg.norm(
            (p.box.box_min + p.box.box_max) / 2 - np.asarray(gt.box_center))).track_id
        for r in people:
            mine = next(p for p in r.people if p.track_id == track).verdict.recognition
            ref = alone_by_stamp.get(r.stamp_ns)
            if ref is None:
                continue
            for name in ref.scores:
                np.testing.assert_allclose(mine.scores[name], ref.scores[name], rtol=0, atol=1e-5)
            compared += 1
    assert compared >= 4


def test_detections_carry_box_top_k_and_track_id(apart, checkpoint):
    both, _ = apart
    people, _, events = replay_in_order(both, checkpoint, "people.enabled=true")
    ts = ros_typestore()
    msg = detections_msg(people[-1], CLASS_NAMES, ts)
    back = ts.deserialize_cdr(ts.serialize_cdr(msg, "vision_msgs/msg/Detection3DArray"),
                              "vision_msgs/msg/Detection3DArray")
    assert back.header.stamp.sec * 1_000_000_000 + back.header.stamp.nanosec == people[-1].stamp_ns
    assert back.header.frame_id == "camera_depth_optical_frame"
    assert sorted(d.id for d in back.detections) == ["p1", "p2"]
    for d, p in zip(back.detections, people[-1].people):
        assert [CLASS_NAMES[int(h.hypothesis.class_id)] for h in d.results] == [n for n, _ in p.verdict.recognition.top_k]
        np.testing.assert_allclose([d.bbox.size.x, d.bbox.size.y, d.bbox.size.z], p.box.box_max - p.box.box_min)
        assert d.bbox.size.y > 1.0  # a standing person's height
    # events carry the track id; the stop closes each person's segment
    assert {e.track_id for e in events} == {"p1", "p2"}
    closing = [e for e in events if e.ended_by == "stream_end"]
    assert sorted(e.track_id for e in closing) == ["p1", "p2"]


def test_people_off_keeps_one_cloud_one_label(apart, checkpoint):
    both, _ = apart
    people, single, events = replay_in_order(both, checkpoint)
    assert not people and single and all(e.track_id == "" for e in events)


@pytest.mark.parametrize("kind", ["crossing", "side_by_side"])
def test_replay_follows_people_through_a_crossing_and_records_detections(tmp_path, checkpoint, kind):
    """`vg4d replay` with people.enabled on a bag with per-person ground truth: every person matched to
    one track all along (no id switch through the crossing), no track without a person, the detections
    recorded in the output bag."""
    import json

    from rosbags.highlevel import AnyReader

    from vg4d_ros.bags import replay

    scene = make_people_scene(5, 2, actors=2, kind=kind, num_frames=61)
    write_people_bag(scene, tmp_path / "bag", rgb=False)
    out = tmp_path / "out"
    code = replay.main([str(tmp_path / "bag"), "--checkpoint", str(checkpoint), "--out", str(out), "--quiet",
                        "--no-progress", "people.enabled=true", *SETTINGS])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    people = report["summary"]["people"]
    assert people["ticks"] >= 5 and people["matched"] > 0, people
    assert people["id_switches"] == 0 and people["false_tracks"] == 0, people
    assert people["missed"] <= 0.2 * people["person_instances"], people
    with AnyReader([Path(report["bags"][0]["output_bag"])]) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
    assert counts["/recognizer/detections"] == people["ticks"]


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_an_empty_or_invalid_scene_gives_no_person_and_no_track(checkpoint, encoding):
    """All-zero (16UC1) or all-NaN (32FC1) depth: no candidate, no track, nothing scored, nothing published."""
    from recognizer_helpers import HEIGHT, WIDTH, camera_info_msg, header

    config = load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={checkpoint}", *SETTINGS,
                                                              "people.enabled=true"])
    people, single, events = [], [], []
    rec = Recognizer(config, load_model(config), single.append)
    rec.on_people, rec.on_event = people.append, events.append
    ts = ros_typestore()
    rec.start()
    rec.on_camera_info(camera_info_msg(ts, 0))
    h, w = HEIGHT, WIDTH
    data = (np.zeros((h, w), "<u2") if encoding == "16UC1" else np.full((h, w), np.nan, "<f4")).view(np.uint8)
    for i in range(30):
        stamp = 1_000_000_000 + i * 33_333_333
        rec.on_depth(ts.types["sensor_msgs/msg/Image"](header=header(ts, stamp), height=h, width=w, encoding=encoding,
                                                       is_bigendian=0, step=data.shape[1], data=data.reshape(-1)))
        rec.wait_idle(60.0)
    rec.stop()
    stats = rec.stats()
    assert not people and not single and not events
    assert stats["people"]["tracks_born"] == 0 and stats["windows_formed"] == 0 and stats["malformed_total"] == 0


def test_people_figure_draws_a_tick_with_each_track_and_its_truth(apart, checkpoint, tmp_path):
    from vg4d_ros.programs import people_figure

    both, _ = apart
    out = tmp_path / "fig.png"
    assert people_figure.main([str(both), "--checkpoint", str(checkpoint), "--out", str(out), *SETTINGS]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = load_recognizer_config(None, ["people.enabled=true", f"inference.checkpoint={checkpoint}", *SETTINGS])
    ticks = people_figure.people_ticks(both, config)
    assert ticks and {p.track_id for p in ticks[-1].people} == {"p1", "p2"}
    truth = people_figure._truth_by_track(both, ticks[-1])
    assert set(truth) == {"p1", "p2"}  # each track has its ground-truth person (idle ones: "")
    assert people_figure.main([str(both), "--checkpoint", str(tmp_path / "none.pt"), "--out", str(out)]) == 2


def test_a_busy_worker_counts_each_superseded_person_window_as_dropped(apart, checkpoint):
    # inference blocked while the whole bag arrives: each track's windows pile up and only its newest is
    # scored. Every window that passed the person gate is then either inferred or dropped, counted per
    # window (a batch holds one window per person), as on the single-person path.
    import threading

    config = load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={checkpoint}", *SETTINGS,
                                                              "people.enabled=true"])
    rec = Recognizer(config, load_model(config), lambda r: None)
    gate, inner = threading.Event(), rec.infer_batch

    def blocked(windows, completed=None, scoring=None):
        assert gate.wait(120.0)
        return inner(windows, completed, scoring)

    rec.infer_batch = blocked
    rec.start()
    bag, _ = apart
    with open_bag(bag) as reader:
        for m in read_messages(reader, [DEPTH, INFO], path=bag):
            (rec.on_camera_info if m.topic == INFO else rec.on_depth)(m.msg)
    gate.set()
    assert rec.wait_idle(120.0)
    rec.stop()
    st = rec.stats()
    assert st["windows_formed"] >= 8 and st["inference_errors"] == 0
    assert st["windows_inferred"] + st["windows_dropped"] == st["windows_formed"] - st["windows_no_person"]
    assert st["windows_dropped"] >= 4  # two people, several ticks behind the blocked worker


# -- two-person actions (people.pairs) ------------------------------------------------------------------
PAIRS = ["people.enabled=true", "people.pairs.enabled=true", "people.pairs.max_distance_m=3.0",
         "people.pairs.release_m=3.0", "people.birth_frames=1"]
MUTUAL = ["handshake", "hug", "push", "wave"]  # a pair model's classes: three new, one shared


def test_a_pair_is_scored_as_the_one_cloud_of_both_people(apart, checkpoint):
    """With pairs on, two people close enough are also scored together: the union of their points per
    frame, as NTU records a mutual action. With nothing else in view that union is the whole foreground,
    so the pair's probabilities equal the single-person path's (people off) on the same frames."""
    both, _ = apart
    people, single, events = replay_in_order(both, checkpoint, *PAIRS)
    _, whole, _ = replay_in_order(both, checkpoint)
    whole_by_stamp = {r.stamp_ns: r for r in whole}
    compared = 0
    for r in people:
        assert {p.track_id for p in r.people} == {"p1", "p2", "p1+p2"}
        pair = next(p for p in r.people if p.track_id == "p1+p2")
        assert pair.members == ("p1", "p2") and pair.verdict.status == "labelled"
        ones = [p for p in r.people if not p.members]
        assert pair.box.num_points == sum(p.box.num_points for p in ones)
        np.testing.assert_allclose(pair.box.box_min, np.min([p.box.box_min for p in ones], axis=0))
        np.testing.assert_allclose(pair.box.box_max, np.max([p.box.box_max for p in ones], axis=0))
        ref = whole_by_stamp.get(r.stamp_ns)
        if ref is not None:
            for name in ref.scores:
                np.testing.assert_allclose(pair.verdict.recognition.scores[name], ref.scores[name], rtol=0, atol=1e-5)
            compared += 1
        assert r.selected in ("p1", "p2")  # ~/action and ~/label describe a person, never the pair
    assert compared >= 4
    assert single and all(any(p.track_id == "p1+p2" for p in r.people) for r in people)
    assert "p1+p2" in {e.track_id for e in events}
    assert {e.track_id for e in events if e.ended_by == "stream_end"} == {"p1", "p2", "p1+p2"}
    # the pair leaves the people metrics alone: two people matched, no false track
    from vg4d_ros.bags.people_metrics import people_report
    report = people_report(people, read_people_truth(both))
    assert report["false_tracks"] == 0 and report["matched"] == 2 * len(people)


def test_people_farther_apart_than_the_pair_distance_are_no_pair(apart, checkpoint):
    both, _ = apart
    people, _, _ = replay_in_order(both, checkpoint, *PAIRS, "people.pairs.max_distance_m=0.5",
                                   "people.pairs.release_m=0.5")
    assert people and all({p.track_id for p in r.people} == {"p1", "p2"} for r in people)


def test_a_pair_model_of_its_own_classes_labels_pairs_in_one_label_map(apart, checkpoint, tmp_path):
    """A separate pair checkpoint (mutual classes): people keep the person model's classes, pairs get the
    pair model's (limited to people.pairs.classes), and every class id indexes one label map
    (Recognizer.label_names: the person model's classes, then the pair model's new ones)."""
    both, _ = apart
    pair_ck = tiny_checkpoint(tmp_path / "pair.pt", class_names=MUTUAL, seed=3)
    people, _, events = replay_in_order(both, checkpoint, *PAIRS, f"people.pairs.checkpoint={pair_ck}",
                                        "people.pairs.classes=handshake,push")
    config = load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={checkpoint}", *SETTINGS,
                                                              *PAIRS, f"people.pairs.checkpoint={pair_ck}"])
    rec = Recognizer(config, load_model(config), lambda r: None)
    names = CLASS_NAMES + ["handshake", "hug", "push"]
    assert rec.label_names == names
    for r in people:
        for p in r.people:
            rec_p = p.verdict.recognition
            table = rec_p.scores[rec_p.primary]
            if p.members:
                assert len(table) == len(names) and {n for n, _ in rec_p.top_k} <= {"handshake", "push"}
                assert len(rec_p.top_k) == 2 and table.sum() == pytest.approx(1.0, abs=1e-5)
                kept = [names.index("handshake"), names.index("push")]
                assert np.all(np.delete(table, kept) == 0)
            else:
                assert len(table) == len(CLASS_NAMES) and rec_p.top_k[0][0] in CLASS_NAMES
    # the detections name each hypothesis by its index in that one map
    ts = ros_typestore()
    msg = detections_msg(people[-1], names, ts)
    pair = next(d for d in msg.detections if d.id == "p1+p2")
    pair_top = next(p for p in people[-1].people if p.members).verdict.recognition.top_k
    assert [names[int(h.hypothesis.class_id)] for h in pair.results] == [n for n, _ in pair_top]
    pair_events = [e for e in events if e.track_id == "p1+p2"]
    assert pair_events and all(names[e.class_id] == e.label and e.label in ("handshake", "push") for e in pair_events)


def test_a_pair_model_that_converts_frames_differently_or_lacks_a_class_is_refused(checkpoint, tmp_path):
    from vg4d_ros.pipeline.model import RecognizerError

    other = tiny_checkpoint(tmp_path / "pair32.pt", points=32, class_names=MUTUAL)
    config = load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={checkpoint}", *SETTINGS,
                                                              *PAIRS, f"people.pairs.checkpoint={other}"])
    with pytest.raises(RecognizerError, match=r"people.pairs.checkpoint .*points_per_frame: 64 -> 32"):
        Recognizer(config, load_model(config), lambda r: None)
    good = tiny_checkpoint(tmp_path / "pair.pt", class_names=MUTUAL)
    config = load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={checkpoint}", *SETTINGS,
                                                              *PAIRS, f"people.pairs.checkpoint={good}",
                                                              "people.pairs.classes=handshake,high five"])
    with pytest.raises(RecognizerError, match="people.pairs.classes .* high five"):
        Recognizer(config, load_model(config), lambda r: None)
    config = load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={checkpoint}", *SETTINGS,
                                                              *PAIRS, f"people.pairs.checkpoint={tmp_path / 'no.pt'}"])
    with pytest.raises(RecognizerError, match="no.pt"):
        Recognizer(config, load_model(config), lambda r: None)


def test_ntu_mutual_keeps_the_two_person_classes_of_an_ntu_model(apart, checkpoint, tmp_path):
    """people.pairs.classes=ntu_mutual: a pair of an NTU-class model is labelled among NTU RGB+D's mutual
    actions only; a model without any of them is refused with the reason."""
    from vg4d_core.data.ntu import CLASS_NAMES as NTU, NTU_MUTUAL_ACTIONS
    from vg4d_ros.pipeline.model import RecognizerError

    assert len(NTU_MUTUAL_ACTIONS) == 26 and NTU_MUTUAL_ACTIONS[0] == "punching/slapping other person"
    assert "handshaking" in NTU_MUTUAL_ACTIONS[:11] and NTU_MUTUAL_ACTIONS[-1] == NTU[119]
    ntu60 = tiny_checkpoint(tmp_path / "ntu60.pt", class_names=list(NTU[:60]))
    both, _ = apart
    people, _, _ = replay_in_order(both, checkpoint, *PAIRS, f"people.pairs.checkpoint={ntu60}",
                                   "people.pairs.classes=ntu_mutual", "inference.top_k=20")
    pairs = [p.verdict.recognition for r in people for p in r.people if p.members]
    assert pairs and all(len(r.top_k) == 11 and {n for n, _ in r.top_k} == set(NTU_MUTUAL_ACTIONS[:11])
                         for r in pairs)
    config = load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={checkpoint}", *SETTINGS,
                                                              *PAIRS, "people.pairs.classes=ntu_mutual"])
    with pytest.raises(RecognizerError, match="ntu_mutual.*none of NTU RGB"):
        Recognizer(config, load_model(config), lambda r: None)
