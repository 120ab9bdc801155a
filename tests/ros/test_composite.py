"""`vg4d composite`: single-person depth bags side by side, with per-person ground truth."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from vg4d_core.data.synthetic.people import make_people_scene
from vg4d_ros.bags.bagio import open_bag, read_messages
from vg4d_ros.bags.composite import composite, main, read_recording
from vg4d_ros.bags.labels import load_labels
from vg4d_ros.bags.people2bag import write_people_bag
from vg4d_ros.bags.people_truth import read_people_truth
from vg4d_ros.pipeline.decode import camera_intrinsics, depth_image_to_array


@pytest.fixture(scope="module")
def singles(tmp_path_factory) -> list[Path]:
    """Two recordings of one person each (the actors of a rendered scene, each alone), 12 frames."""
    root = tmp_path_factory.mktemp("singles")
    scene = make_people_scene(1, 0, actors=2, kind="apart", num_frames=12)
    out = []
    for actor in scene.actors:
        alone = dataclasses.replace(scene, actors=(dataclasses.replace(actor, path=(dataclasses.replace(
            actor.path[0], x=0.0),)),))  # each centred, as a single-person recording is
        write_people_bag(alone, root / actor.actor_id, rgb=False)
        out.append(root / actor.actor_id)
    labels = root / "labels.yaml"
    labels.write_text("bags:\n  a0: {segments: [[0.0, 0.3, wave]]}\n  a1: {segments: [[0.0, 10.0, sit down]]}\n")
    return [*out, labels]


def test_side_by_side_with_each_person_boxed_and_labelled(singles, tmp_path):
    a, b, labels = singles
    record = composite([a, b], tmp_path / "both", labels=load_labels(labels))
    assert record["frames"] == 12 and [p["id"] for p in record["people"]] == ["a0", "a1"]
    ra, rb = read_recording(a), read_recording(b)
    with open_bag(tmp_path / "both") as reader:
        msgs = list(read_messages(reader, ["/camera/depth/image_raw", "/camera/depth/camera_info"]))
    depth = [depth_image_to_array(m.msg) for m in msgs if m.topic.endswith("image_raw")]
    info = camera_intrinsics(next(m.msg for m in msgs if m.topic.endswith("camera_info")))
    w = ra.depth_mm[0].shape[1]
    assert depth[0].shape == (ra.depth_mm[0].shape[0], 2 * w) and info.width == 2 * w
    assert info.cx == pytest.approx(ra.intrinsics.cx + w / 2) and info.fx == ra.intrinsics.fx
    np.testing.assert_array_equal(depth[3][:, :w], ra.depth_mm[3])
    np.testing.assert_array_equal(depth[3][:, w:], rb.depth_mm[3])
    truth = read_people_truth(tmp_path / "both")
    stamp, people = truth.frames[3]
    assert stamp == ra.stamps[3] and [p.actor_id for p in people] == ["a0", "a1"]
    left, right = people
    assert left.box_center[0] < -0.5 < 0.5 < right.box_center[0]  # the two people side by side
    assert abs(left.box_center[2] - right.box_center[2]) < 2.0
    # labels from the file, by each input's own clock: a0 waves for its first 0.3 s only
    assert [p.label for p in truth.frames[0][1]] == ["wave", "sit down"]
    assert [p.label for p in truth.frames[10][1]] == ["", "sit down"]


def test_one_person_alone_at_their_place(singles, tmp_path):
    a, b, _ = singles
    composite([a, b], tmp_path / "only1", only=1)
    truth = read_people_truth(tmp_path / "only1")
    assert all([p.actor_id for p in people] == ["a1"] for _, people in truth.frames)
    with open_bag(tmp_path / "only1") as reader:
        first = next(m.msg for m in read_messages(reader, ["/camera/depth/image_raw"]))
    d = depth_image_to_array(first)
    assert not d[:, : d.shape[1] // 2].any() and d[:, d.shape[1] // 2:].any()


def test_bad_inputs_are_named(singles, tmp_path, capsys):
    a, _, _ = singles
    with pytest.raises(ValueError, match="at least 2"):
        composite([a], tmp_path / "one")
    assert main([str(tmp_path / "x"), str(a), str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
