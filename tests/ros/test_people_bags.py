"""Multi-person bags (`vg4d people2bag`): layout, per-person ground truth against the bag's own depth,
occlusion, determinism, the reader (`people_truth`) and its errors, the vision_msgs definitions."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from vg4d_core.cli import main as vg4d
from vg4d_core.data.synthetic import CLASS_NAMES
from vg4d_core.data.synthetic.people import MIN_VISIBLE_PX, make_people_scene, render_people
from vg4d_ros.bags.bagio import BagError, BagWriter, bag_topics, header, open_bag, read_messages
from vg4d_ros.bags.labels import GROUND_TRUTH_TOPIC, Segment
from vg4d_ros.bags.people2bag import DEFAULT_TOPICS, write_people_bag, write_people_bags
from vg4d_ros.bags.people_truth import (PEOPLE_TRUTH_TOPIC, PEOPLE_TRUTH_TYPE, actor_segments,
                                        read_people_truth)
from vg4d_ros.pipeline.decode import camera_intrinsics, depth_image_to_array, stamp_ns

SCALE = 0.3125  # 160 x 132
RATE = 10.0
FRAMES = 40  # --duration 3.9 at 10 Hz
SEED = 2  # its crossing scene (index 2, 3 actors) hides the far person completely for 2 frames (checked)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bags(tmp_path_factory):
    out = tmp_path_factory.mktemp("people")
    manifest = write_people_bags(out, 4, seed=SEED, actors=3, rate_hz=RATE, duration_s=3.9, image_scale=SCALE,
                                 instance_mask=True)
    return out, json.loads(manifest.read_text())


def _frames(bag):
    """stamp -> {topic role: message} of every frame of a bag."""
    roles = {topic: role for role, topic in DEFAULT_TOPICS.items()}
    out: dict[int, dict] = {}
    with open_bag(bag) as reader:
        for m in read_messages(reader, list(roles), path=bag):
            assert m.msg is not None, m.error
            out.setdefault(stamp_ns(m.msg), {})[roles[m.topic]] = m.msg
    return out


def _scene_entry(manifest, kind):
    return next(s for s in manifest["scenes"] if s["kind"] == kind)


def _label_at(actor_entry, stamp):
    for seg in actor_entry["segments"]:
        if seg["start_ns"] <= stamp <= seg["end_ns"]:
            return seg["label"]
    return ""


def test_bag_layout_and_ground_truth_conventions(bags):
    out, manifest = bags
    assert [s["kind"] for s in manifest["scenes"]] == ["apart", "side_by_side", "crossing", "enter_leave"]
    assert manifest["num_frames"] == FRAMES and manifest["min_visible_px"] == MIN_VISIBLE_PX
    assert manifest["camera"]["width"] == 160 and manifest["topics"]["people"] == PEOPLE_TRUTH_TOPIC
    for entry in manifest["scenes"]:
        bag = out / entry["bag"]
        with open_bag(bag) as reader:
            topics = bag_topics(reader)
            counts = {c.topic: c.msgcount for c in reader.connections}
        assert topics == {DEFAULT_TOPICS["depth"]: "sensor_msgs/msg/Image",
                          DEFAULT_TOPICS["camera_info"]: "sensor_msgs/msg/CameraInfo",
                          DEFAULT_TOPICS["rgb"]: "sensor_msgs/msg/Image",
                          DEFAULT_TOPICS["instance_mask"]: "sensor_msgs/msg/Image",
                          PEOPLE_TRUTH_TOPIC: PEOPLE_TRUTH_TYPE}
        assert GROUND_TRUTH_TOPIC not in topics  # no single label for several people
        assert set(counts.values()) == {FRAMES}
        assert [a["id"] for a in entry["actors"]] == ["a0", "a1", "a2"]
        frames = _frames(bag)
        assert len(frames) == FRAMES
        if entry["index"] == 0:  # the images are the rendered frame's
            scene = make_people_scene(SEED, 0, actors=3, num_frames=FRAMES, rate_hz=RATE)
            first = next(render_people(scene, image_scale=SCALE))
            f0 = frames[entry["start_ns"]]
            assert np.array_equal(depth_image_to_array(f0["depth"]), first.depth_mm)
            assert np.array_equal(np.asarray(f0["rgb"].data).reshape(132, 160, 3), first.rgb[:, :, ::-1])  # bgr8
            assert np.array_equal(np.frombuffer(bytes(f0["instance_mask"].data), "<u2").reshape(132, 160),
                                  first.instances)
        for stamp, f in frames.items():
            depth, truth = f["depth"], f["people"]
            assert depth.encoding == "16UC1" and f["rgb"].encoding == "bgr8" and f["instance_mask"].encoding == "mono16"
            assert (depth.height, depth.width) == (132, 160)
            assert truth.header.frame_id == depth.header.frame_id == "camera_depth_optical_frame"
            assert stamp_ns(truth) == stamp_ns(depth) == stamp
            for det in truth.detections:
                assert det.header == truth.header
                q = det.bbox.center.orientation
                assert (q.x, q.y, q.z, q.w) == (0.0, 0.0, 0.0, 1.0)
                label = _label_at(next(a for a in entry["actors"] if a["id"] == det.id), stamp)
                if not label:
                    assert len(det.results) == 0  # idle: no result
                    continue
                (hyp,) = det.results
                assert hyp.hypothesis.class_id == label and label in CLASS_NAMES  # the class NAME
                assert hyp.hypothesis.score == 1.0
                assert not np.any(hyp.pose.covariance)
                q = hyp.pose.pose.orientation
                assert (q.x, q.y, q.z, q.w) == (0.0, 0.0, 0.0, 1.0)


def test_boxes_hold_the_back_projected_depth_of_each_person(bags):
    out, manifest = bags
    labelled = idle = 0
    for entry in manifest["scenes"]:
        for stamp, f in _frames(out / entry["bag"]).items():
            intr = camera_intrinsics(f["camera_info"])
            depth = depth_image_to_array(f["depth"])
            inst = np.frombuffer(bytes(f["instance_mask"].data), "<u2").reshape(depth.shape)
            assert depth.min() > 0  # unmasked: the room everywhere else
            dets = {d.id: d for d in f["people"].detections}
            for k in range(3):
                v, u = np.nonzero(inst == k + 1)
                det = dets.get(f"a{k}")
                assert (det is not None) == (v.size >= MIN_VISIBLE_PX), (entry["name"], stamp, k, v.size)
                if det is None:
                    continue
                assert depth.dtype == np.uint16
                z = depth[v, u].astype(np.float64) / 1000.0
                pts = np.stack([(u - intr.cx) * z / intr.fx, (v - intr.cy) * z / intr.fy, z], axis=1)
                c, s = det.bbox.center.position, det.bbox.size
                centre, size = np.array([c.x, c.y, c.z]), np.array([s.x, s.y, s.z])
                lo, hi = centre - size / 2, centre + size / 2
                # every pixel of the person is inside its box, and the box is no bigger than they need
                assert np.all(pts >= lo - 1e-9) and np.all(pts <= hi + 1e-9)
                np.testing.assert_allclose(pts.min(axis=0), lo, atol=1e-9)
                np.testing.assert_allclose(pts.max(axis=0), hi, atol=1e-9)
                if det.results:
                    p = det.results[0].pose.pose.position
                    np.testing.assert_allclose([p.x, p.y, p.z], pts.mean(axis=0), atol=1e-9)
                    labelled += 1
                else:
                    idle += 1
                # the person's pixels are nearer than what is behind them: not the wall
                assert np.median(z) < entry["room"]["back_wall_z_m"] - 0.3
    assert labelled > 100 and idle > 20


def test_the_crossing_hides_the_far_person_and_the_truth_says_so(bags):
    out, manifest = bags
    entry = _scene_entry(manifest, "crossing")
    frames = sorted(_frames(out / entry["bag"]).items())
    seen = [{d.id for d in f["people"].detections} for _, f in frames]
    px = [int((np.frombuffer(bytes(f["instance_mask"].data), "<u2") == 1).sum()) for _, f in frames]
    hidden = [i for i, ids in enumerate(seen) if "a0" not in ids]
    assert 1 <= len(hidden) <= 6 and "a0" in seen[0] and "a0" in seen[-1]
    assert all("a1" in seen[i] for i in hidden)  # the crosser is in front of it then
    assert max(px[i] for i in hidden) < MIN_VISIBLE_PX < min(px[0], px[-1]) / 5
    # the crosser's box is nearer than the far person's
    d0 = {d.id: d for d in frames[0][1]["people"].detections}
    assert d0["a1"].bbox.center.position.z + 1.0 < d0["a0"].bbox.center.position.z


def test_same_seed_same_message_bytes(tmp_path):
    scene = make_people_scene(11, 3, actors=2, num_frames=12, rate_hz=RATE)
    raw = []
    for name, storage in (("a", "sqlite3"), ("b", "sqlite3"), ("c", "mcap")):
        write_people_bag(scene, tmp_path / name, image_scale=SCALE, storage=storage, instance_mask=True)
        with open_bag(tmp_path / name) as reader:
            raw.append([(c.topic, t, bytes(data)) for c, t, data in reader.messages()])
    assert len(raw[0]) == 12 * 5
    assert raw[0] == raw[1]
    assert sorted(raw[0]) == sorted(raw[2])  # the same messages whatever the storage
    other = make_people_scene(12, 3, actors=2, num_frames=12, rate_hz=RATE)
    write_people_bag(other, tmp_path / "d", image_scale=SCALE)
    with open_bag(tmp_path / "d") as reader:
        depth = [bytes(d) for c, _, d in reader.messages() if c.topic == DEFAULT_TOPICS["depth"]]
    assert depth != [d for topic, _, d in raw[0] if topic == DEFAULT_TOPICS["depth"]]


def test_reader_round_trip(bags):
    out, manifest = bags
    for i, entry in enumerate(manifest["scenes"]):
        truth = read_people_truth(out / entry["bag"])
        assert len(truth.frames) == FRAMES and truth.frame_id == "camera_depth_optical_frame"
        scene = make_people_scene(SEED, i, actors=3, num_frames=FRAMES, rate_hz=RATE)
        assert scene.kind == entry["kind"]
        for (stamp, people), frame in zip(truth.frames, render_people(scene, image_scale=SCALE)):
            assert stamp == entry["start_ns"] + round(frame.index * 1e9 / RATE)
            expected = [a for a in frame.actors if a.visible()]
            assert [p.actor_id for p in people] == [a.actor_id for a in expected]
            for p, a in zip(people, expected):
                assert p.stamp_ns == stamp and p.label == a.label
                np.testing.assert_array_equal(p.box_center, a.box_center)
                np.testing.assert_array_equal(p.box_size, a.box_size)
                np.testing.assert_allclose(p.box_min, a.box_min, atol=1e-12)
                if a.label:
                    np.testing.assert_array_equal(p.centroid, a.centroid)
                else:
                    assert p.centroid is None
        stamps = [t for t, _ in truth.frames]
        for bridge in (True, False):
            segments = actor_segments(truth, bridge_unseen=bridge)
            for actor in entry["actors"]:
                seen = {p.stamp_ns for p in truth.of(actor["id"])}
                expected = []  # per scripted segment: its frames where the person is seen, as runs
                for seg in actor["segments"]:
                    runs: list[list[int]] = []
                    for t in stamps:
                        if not seg["start_ns"] <= t <= seg["end_ns"]:
                            continue
                        if t in seen and runs and (bridge or runs[-1][-1] == stamps[stamps.index(t) - 1]):
                            runs[-1].append(t)
                        elif t in seen:
                            runs.append([t])
                    expected += [Segment(r[0], r[-1], seg["label"]) for r in runs]
                assert segments.get(actor["id"], []) == expected, (entry["name"], actor["id"], bridge)
                if len(seen) == FRAMES:  # seen throughout: the segments are the script's
                    assert expected == [Segment(g["start_ns"], g["end_ns"], g["label"]) for g in actor["segments"]]
    # the crossing's far person is hidden during one of its actions: its seen segments are not the script's
    entry = _scene_entry(manifest, "crossing")
    truth = read_people_truth(out / entry["bag"])
    assert actor_segments(truth)["a0"] != [Segment(g["start_ns"], g["end_ns"], g["label"])
                                           for g in entry["actors"][0]["segments"]]


def _hand_made_bag(path, frames, *, topic=PEOPLE_TRUTH_TOPIC):
    """A bag of Detection3DArray messages: frames = [(stamp, [(id, label), ...])]."""
    with BagWriter(path, "mcap") as w:
        T = w.typestore.types

        def det(actor, label, hdr):
            results = [] if not label else [T["vision_msgs/msg/ObjectHypothesisWithPose"](
                hypothesis=T["vision_msgs/msg/ObjectHypothesis"](class_id=label, score=1.0),
                pose=T["geometry_msgs/msg/PoseWithCovariance"](
                    pose=T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](x=0.0, y=0.0, z=3.0),
                                                     orientation=T["geometry_msgs/msg/Quaternion"](
                                                         x=0.0, y=0.0, z=0.0, w=1.0)),
                    covariance=np.zeros(36)))]
            bbox = T["vision_msgs/msg/BoundingBox3D"](
                center=T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](x=0.1, y=0.2, z=3.0),
                                                   orientation=T["geometry_msgs/msg/Quaternion"](
                                                       x=0.0, y=0.0, z=0.0, w=1.0)),
                size=T["geometry_msgs/msg/Vector3"](x=0.5, y=1.7, z=0.3))
            return T["vision_msgs/msg/Detection3D"](header=hdr, results=results, bbox=bbox, id=actor)

        for stamp, people in frames:
            hdr = header(w.typestore, stamp, "cam")
            w.write(topic, PEOPLE_TRUTH_TYPE, stamp,
                    T["vision_msgs/msg/Detection3DArray"](header=hdr, detections=[det(a, lab, hdr) for a, lab in people]))


def test_segments_across_unseen_frames(tmp_path):
    frames = [(100, [("a0", "wave"), ("a1", "")]), (200, [("a0", "wave"), ("a1", "bow")]), (300, [("a1", "bow")]),
              (400, [("a0", "wave")]), (500, [("a0", ""), ("a1", "bow")]), (600, [("a0", "sit")])]
    _hand_made_bag(tmp_path / "h", frames)
    truth = read_people_truth(tmp_path / "h")
    assert truth.actors() == ["a0", "a1"] and [s for s, _ in truth.frames] == [100, 200, 300, 400, 500, 600]
    p = truth.of("a0")[0]
    assert p.label == "wave" and p.centroid == (0.0, 0.0, 3.0)
    np.testing.assert_allclose(p.box_min, [-0.15, -0.65, 2.85])
    assert truth.of("a1")[0].centroid is None and truth.of("a1")[0].label == ""
    assert actor_segments(truth) == {"a0": [Segment(100, 400, "wave"), Segment(600, 600, "sit")],
                                     "a1": [Segment(200, 500, "bow")]}
    assert actor_segments(truth, bridge_unseen=False) == {
        "a0": [Segment(100, 200, "wave"), Segment(400, 400, "wave"), Segment(600, 600, "sit")],
        "a1": [Segment(200, 300, "bow"), Segment(500, 500, "bow")]}


def test_reader_errors_name_the_bag_and_topic(tmp_path):
    with pytest.raises(BagError, match="does not exist"):
        read_people_truth(tmp_path / "nope")
    with BagWriter(tmp_path / "plain", "mcap") as w:  # a single-person bag: a String label topic only
        w.write(GROUND_TRUTH_TOPIC, "std_msgs/msg/String", 5, w.typestore.types["std_msgs/msg/String"](data="wave"))
    with pytest.raises(BagError, match=re.escape(f"bag {tmp_path / 'plain'} has no per-person ground truth topic "
                                                 f"{PEOPLE_TRUTH_TOPIC}")) as exc:
        read_people_truth(tmp_path / "plain")
    assert GROUND_TRUTH_TOPIC in str(exc.value)  # lists what the bag has
    with BagWriter(tmp_path / "wrong", "sqlite3") as w:
        w.write(PEOPLE_TRUTH_TOPIC, "std_msgs/msg/String", 5, w.typestore.types["std_msgs/msg/String"](data="x"))
    with pytest.raises(BagError, match=f"topic {PEOPLE_TRUTH_TOPIC} holds std_msgs/msg/String, not "
                                       f"{PEOPLE_TRUTH_TYPE}"):
        read_people_truth(tmp_path / "wrong")
    _hand_made_bag(tmp_path / "dup", [(1, [("a0", "wave"), ("a0", "")])])
    with pytest.raises(BagError, match=r"dup topic /vg4d/ground_truth/people message 0: person ids must be"):
        read_people_truth(tmp_path / "dup")
    _hand_made_bag(tmp_path / "other", [(1, [("a0", "wave")])], topic="/elsewhere")
    assert read_people_truth(tmp_path / "other", topic="/elsewhere").of("a0")[0].label == "wave"
    (tmp_path / "junk.mcap").write_bytes(b"\x89MCAP0\r\n" + b"\0" * 20)
    with pytest.raises(BagError, match="cannot open bag"):
        read_people_truth(tmp_path / "junk.mcap")


def test_registered_vision_msgs_match_the_msg_files():
    from vg4d_ros.typestore import VISION_MSGS, ros_typestore

    ts = ros_typestore()
    msg_dir = REPO / "scripts/ros_interfaces/vision_msgs/msg"
    for name in ("Detection3DArray", "Detection3D", "ObjectHypothesisWithPose", "BoundingBox3D"):
        assert f"vision_msgs/msg/{name}" in VISION_MSGS
    for full in VISION_MSGS:
        fields = []
        for line in (msg_dir / f"{full.rsplit('/', 1)[1]}.msg").read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                typ, field = line.split()
                fields.append((field, typ))
        got = []
        for field, (kind, spec) in ts.fielddefs[full][1]:
            if kind.name == "SEQUENCE":
                (sub_kind, sub), _ = spec
                typ = (sub[0] if sub_kind.name == "BASE" else sub) + "[]"
            else:
                typ = spec[0] if kind.name == "BASE" else spec
            got.append((field, typ))
        expected = []
        for field, typ in fields:  # the .msg files name a type of their own package without the package
            base, arr = (typ[:-2], "[]") if typ.endswith("[]") else (typ, "")
            if "/" in base:
                base = base.replace("/", "/msg/")
            elif base[0].isupper():
                base = f"vision_msgs/msg/{base}"
            expected.append((field, base + arr))
        assert got == expected, full


def test_cli(tmp_path, capsys):
    out = tmp_path / "o"
    args = [str(out), "--scenes", "1", "--seed", "4", "--rate", "5", "--duration", "1.4", "--image-scale", "0.25",
            "--storage", "sqlite3", "--no-rgb"]
    assert vg4d(["people2bag", *args]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    (entry,) = manifest["scenes"]
    assert entry["kind"] == "apart" and len(entry["actors"]) == 2 and manifest["num_frames"] == 8
    with open_bag(out / entry["bag"]) as reader:
        assert sorted(bag_topics(reader)) == sorted([DEFAULT_TOPICS["depth"], DEFAULT_TOPICS["camera_info"],
                                                     PEOPLE_TRUTH_TOPIC])
    capsys.readouterr()
    assert vg4d(["people2bag", *args]) == 0  # the bag is there: kept, manifest rewritten
    assert "exists, kept" in capsys.readouterr().out
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert vg4d(["people2bag", str(tmp_path / "x"), "--scenes", "0"]) == 2
    assert "--scenes must be >= 1" in capsys.readouterr().err
    assert vg4d(["people2bag", str(tmp_path / "y"), "--depth-noise-mm", "-1", "--scenes", "1"]) == 2
    with pytest.raises(SystemExit):
        vg4d(["people2bag", str(tmp_path / "z"), "--actors", "4"])
