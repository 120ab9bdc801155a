"""`vg4d composite`: single-person depth bags side by side, with per-person ground truth."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from vg4d_core.data.synthetic.people import back_project, make_people_scene, render_people
from vg4d_core.data.synthetic.render import Renderer, synthetic_intrinsics
from vg4d_ros.bags.bagio import BagWriter, open_bag, read_messages
from vg4d_ros.bags.composite import DEPTH_TOPIC as DEPTH
from vg4d_ros.bags.composite import INFO_TOPIC as INFO
from vg4d_ros.bags.composite import composite, main, read_recording
from vg4d_ros.bags.labels import load_labels
from vg4d_ros.bags.ntu2bag import camera_info_msg, depth_image_msg, frame_stamp_ns
from vg4d_ros.bags.people_truth import read_people_truth
from vg4d_ros.pipeline.decode import camera_intrinsics, depth_image_to_array


def _masked_bag(scene, out: Path) -> None:
    """A one-person recording whose depth shows the person only (0 elsewhere), as MSR-Action3D's does."""
    ts_writer = BagWriter(out, "mcap")
    intr = synthetic_intrinsics(0.5)
    with ts_writer as w:
        for f in render_people(scene, renderer=Renderer(intr)):
            stamp = frame_stamp_ns(1_000_000_000_000, f.index, scene.rate_hz)
            depth = np.where(f.instances > 0, f.depth_mm, 0).astype(np.uint16)
            w.write(INFO, "sensor_msgs/msg/CameraInfo", stamp - 1000, camera_info_msg(w.typestore, intr, stamp))
            w.write(DEPTH, "sensor_msgs/msg/Image", stamp, depth_image_msg(w.typestore, depth, stamp))


@pytest.fixture(scope="module")
def singles(tmp_path_factory) -> list[Path]:
    """Two recordings of one person each (the actors of a rendered scene, each alone and centred), 12 frames."""
    root = tmp_path_factory.mktemp("singles")
    scene = make_people_scene(1, 0, actors=2, kind="apart", num_frames=12)
    out = []
    for actor in scene.actors:
        centred = dataclasses.replace(actor, path=(dataclasses.replace(actor.path[0], x=0.0),))
        _masked_bag(dataclasses.replace(scene, actors=(centred,)), root / actor.actor_id)
        out.append(root / actor.actor_id)
    labels = root / "labels.yaml"
    labels.write_text("bags:\n  a0: {segments: [[0.0, 0.3, wave]]}\n  a1: {segments: [[0.0, 10.0, sit down]]}\n")
    return [*out, labels]


def _points(rec, i):
    v, u = np.nonzero(rec.depth_mm[i])
    return back_project(u, v, rec.depth_mm[i][v, u], rec.intrinsics)


def test_side_by_side_each_person_moved_sideways_keeping_shape_boxed_and_labelled(singles, tmp_path):
    a, b, labels = singles
    record = composite([a, b], tmp_path / "both", labels=load_labels(labels), spacing_m=1.6)
    assert record["frames"] == 12 and [(p["id"], p["shift_m"]) for p in record["people"]] == [("a0", -0.8),
                                                                                               ("a1", 0.8)]
    ra, rb = read_recording(a), read_recording(b)
    with open_bag(tmp_path / "both") as reader:
        msgs = list(read_messages(reader, [DEPTH, INFO]))
    depth = [depth_image_to_array(m.msg) for m in msgs if m.topic == DEPTH]
    info = camera_intrinsics(next(m.msg for m in msgs if m.topic == INFO))
    w = ra.depth_mm[0].shape[1]
    assert depth[0].shape == (ra.depth_mm[0].shape[0], 2 * w) and info.width == 2 * w
    assert info.cx == pytest.approx(ra.intrinsics.cx + w / 2) and info.fx == ra.intrinsics.fx
    truth = read_people_truth(tmp_path / "both")
    stamp, people = truth.frames[3]
    assert stamp == ra.stamps[3] and [p.actor_id for p in people] == ["a0", "a1"]
    for person, rec, dx in zip(people, (ra, rb), (-0.8, 0.8)):
        pts = _points(rec, 3)
        # the same body, moved: its box is the recording's box shifted along x (depth and height kept)
        np.testing.assert_allclose(person.box_center, (pts.min(0) + pts.max(0)) / 2 + [dx, 0, 0], atol=0.03)
        np.testing.assert_allclose(person.box_size, pts.max(0) - pts.min(0), atol=0.05)
    # labels from the file, by each input's own clock: a0 waves for its first 0.3 s only
    assert [p.label for p in truth.frames[0][1]] == ["wave", "sit down"]
    assert [p.label for p in truth.frames[10][1]] == ["", "sit down"]


def test_one_person_alone_at_their_place(singles, tmp_path):
    a, b, _ = singles
    composite([a, b], tmp_path / "both", spacing_m=1.6)
    composite([a, b], tmp_path / "only1", only=1, spacing_m=1.6)
    alone, both = read_people_truth(tmp_path / "only1"), read_people_truth(tmp_path / "both")
    for (_, solo), (_, pair) in zip(alone.frames, both.frames):
        assert [p.actor_id for p in solo] == ["a1"]
        np.testing.assert_allclose(solo[0].box_center, pair[1].box_center)  # the same place, nobody beside
    with open_bag(tmp_path / "only1") as reader:
        first = next(m.msg for m in read_messages(reader, [DEPTH]))
    d = depth_image_to_array(first)
    assert not d[:, : d.shape[1] // 2].any() and d[:, d.shape[1] // 2:].any()


def test_bad_inputs_are_named(singles, tmp_path, capsys):
    a, _, _ = singles
    with pytest.raises(ValueError, match="at least 2"):
        composite([a], tmp_path / "one")
    assert main([str(tmp_path / "x"), str(a), str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
