"""The pure-Python TF buffer (vg4d_ros.pipeline.transforms) and ``input_frame`` in the recogniser core."""
from __future__ import annotations

import math

import numpy as np
import pytest

import recognizer_helpers as rh
from vg4d_ros.transports.outputs import diagnostics_msg
from vg4d_ros.pipeline.transforms import Rigid, TransformBuffer, TransformError, quaternion_matrix
from vg4d_ros.typestore import ros_typestore

TS = ros_typestore()
PERIOD = 33_333_333
T0 = 5_000_000_000


def yaw(deg: float) -> tuple[float, float, float, float]:
    """The quaternion (x, y, z, w) of a rotation by ``deg`` about z."""
    h = math.radians(deg) / 2
    return (0.0, 0.0, math.sin(h), math.cos(h))


# -- the buffer ---------------------------------------------------------------------------------------
def test_quaternion_matrix_is_a_rotation_and_normalises():
    r = quaternion_matrix(*yaw(90))
    assert np.allclose(r @ [1, 0, 0], [0, 1, 0]) and np.allclose(r @ r.T, np.eye(3))
    assert np.allclose(quaternion_matrix(0, 0, 2, 2), r)  # not unit length: normalised
    with pytest.raises(TransformError, match="invalid rotation"):
        quaternion_matrix(0, 0, 0, 0)
    with pytest.raises(TransformError, match="invalid rotation"):
        quaternion_matrix(float("nan"), 0, 0, 1)


def test_the_optical_rotation_maps_optical_axes_to_the_body_axes():
    """REP-103: optical z (forward) is the body's x, optical x (right) is -y, optical y (down) is -z."""
    r = quaternion_matrix(*rh.OPTICAL_LINK[3])
    assert np.allclose(r @ [0, 0, 1], [1, 0, 0]) and np.allclose(r @ [1, 0, 0], [0, -1, 0])
    assert np.allclose(r @ [0, 1, 0], [0, 0, -1])


def test_chain_composition_and_inverse():
    buf = TransformBuffer()
    buf.set_transform("map", "base_link", (1, 0, 0), yaw(90), static=False)
    buf.set_transform("base_link", "camera", (0, 2, 0), yaw(0), static=True)
    p = np.array([[1.0, 0.0, 0.0]], np.float32)
    # camera -> base_link: +2 y; base_link -> map: rotate 90 deg about z, then +1 x
    in_map = buf.transform_points(p, "map", "camera")
    assert np.allclose(in_map, [[1 - 2, 1, 0]], atol=1e-6)
    assert np.allclose(buf.transform_points(in_map, "camera", "map"), p, atol=1e-6)  # the inverse chain
    assert in_map.dtype == np.float32
    assert buf.lookup("camera", "camera").apply(p).tolist() == p.tolist()  # a frame to itself: identity


def test_lookup_between_branches_goes_through_the_common_ancestor():
    buf = TransformBuffer()
    buf.set_transform("base_link", "left", (0, 1, 0), yaw(0), static=True)
    buf.set_transform("base_link", "right", (0, -1, 0), yaw(180), static=True)
    # a point 1 m ahead of "left" (its x) is, from "right" (turned round), 1 m behind and 2 m to the side
    got = buf.transform_points(np.array([[1, 0, 0]], np.float32), "right", "left")
    assert np.allclose(got, [[-1, -2, 0]], atol=1e-6)


def test_static_and_dynamic_links_and_the_latest_dynamic_wins():
    buf = TransformBuffer()
    buf.set_transform("odom", "base_link", (0, 0, 0), yaw(0), static=False, stamp_ns=1)
    buf.set_transform("base_link", "camera", (0, 0, 1), yaw(0), static=True)
    assert np.allclose(buf.lookup("odom", "camera").translation, [0, 0, 1])
    buf.set_transform("odom", "base_link", (5, 0, 0), yaw(0), static=False, stamp_ns=2)  # the robot moved
    assert np.allclose(buf.lookup("odom", "camera").translation, [5, 0, 1])
    assert buf.frames() == {"odom", "base_link", "camera"}


def test_a_missing_link_is_named():
    buf = TransformBuffer()
    buf.set_transform("base_link", "camera", (0, 0, 1), yaw(0), static=True)
    with pytest.raises(TransformError, match="^no transform from lidar to camera yet$"):
        buf.lookup("camera", "lidar")
    with pytest.raises(TransformError, match="no transform from base_link to elsewhere yet"):
        buf.lookup("elsewhere", "base_link")


def test_a_second_parent_a_cycle_and_bad_ids_are_refused():
    buf = TransformBuffer()
    buf.set_transform("a", "b", (0, 0, 0), yaw(0), static=True)
    buf.set_transform("b", "c", (0, 0, 0), yaw(0), static=False)
    with pytest.raises(TransformError, match="already has the parent b"):
        buf.set_transform("x", "c", (0, 0, 0), yaw(0), static=False)
    with pytest.raises(TransformError, match="cycle"):
        buf.set_transform("c", "a", (0, 0, 0), yaw(0), static=False)
    with pytest.raises(TransformError, match="to itself"):
        buf.set_transform("a", "a", (0, 0, 0), yaw(0), static=True)
    with pytest.raises(TransformError, match="empty frame id"):
        buf.set_transform("", "d", (0, 0, 0), yaw(0), static=True)
    with pytest.raises(TransformError, match="translation"):
        buf.set_transform("a", "d", (0, float("inf"), 0), yaw(0), static=True)
    assert len(buf) == 2  # nothing refused went in; the tree still answers
    assert np.allclose(buf.lookup("a", "c").translation, 0)


def test_leading_slashes_are_stripped_as_tf2_does():
    buf = TransformBuffer()
    buf.set_transform("/base_link", "/camera", (0, 0, 1), yaw(0), static=True)
    assert np.allclose(buf.lookup("base_link", "/camera").translation, [0, 0, 1])


def test_a_tf_message_feeds_every_transform_and_reports_the_refused_ones():
    buf = TransformBuffer()
    msg = rh.tf_message(TS, [rh.CAMERA_LINK, rh.OPTICAL_LINK, ("elsewhere", "camera_link", (0, 0, 0), yaw(0))])
    problems = buf.add_message(msg, static=True)
    assert len(problems) == 1 and "already has the parent base_link" in problems[0]
    assert {"base_link", "camera_link", rh.OPTICAL} <= buf.frames()
    # the helper's base_link points come back to the optical frame
    pts = rh.optical_points(0)
    assert np.allclose(buf.transform_points(rh.in_base_link(pts), rh.OPTICAL, "base_link"), pts, atol=1e-5)


def test_rigid_compose_and_inverse_are_consistent():
    a = Rigid(quaternion_matrix(0.1, 0.2, 0.3, 0.9), np.array([1.0, -2.0, 0.5]))
    p = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    assert np.allclose(a.inverse().compose(a).apply(p), p, atol=1e-5)


# -- the core: input_frame -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from vg4d_ros.pipeline.model import load_model

    return load_model(config(rh.tiny_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt")))


def config(ckpt, *overrides):
    from vg4d_ros.config import load_recognizer_config

    return load_recognizer_config("config/recognize.yaml", [
        f"inference.checkpoint={ckpt}", "inference.device=cpu", "window.min_coverage=0", "input=cloud", "window.hop_frames=6",
        "window.min_frames=6", *overrides])


def run_clouds(model, frame_id: str, *overrides, tf=True, n=24):
    """Feed ``n`` clouds in ``frame_id`` (the helper's scene, moved there) -> (results, stats, log lines)."""
    from vg4d_ros.pipeline.recognizer import Recognizer

    results, lines = [], []
    rec = Recognizer(config(model.path, *overrides), model, results.append,
                     log=lambda level, text: lines.append((level, text)))
    if tf:
        rec.on_tf_static(rh.tf_message(TS, [rh.CAMERA_LINK, rh.OPTICAL_LINK]))
    rec.start()
    try:
        for i in range(n):
            pts = rh.optical_points(i)
            if frame_id == "base_link":
                pts = rh.in_base_link(pts)
            rec.on_cloud(rh.cloud_msg(TS, pts, T0 + i * PERIOD, frame_id))
            assert rec.wait_idle(60)  # every window inferred, in order
        return results, rec.stats(), lines
    finally:
        rec.stop()


def test_a_cloud_in_base_link_gives_what_the_same_cloud_in_the_optical_frame_gives(model):
    ref, ref_stats, _ = run_clouds(model, rh.OPTICAL)
    got, stats, _ = run_clouds(model, "base_link", f"input_frame={rh.OPTICAL}")
    assert len(ref) == len(got) >= 3
    for a, b in zip(ref, got):
        assert b.frame_id == rh.OPTICAL and a.stamp_ns == b.stamp_ns
        assert [n for n, _ in a.top_k] == [n for n, _ in b.top_k]
        assert np.allclose([s for _, s in a.top_k], [s for _, s in b.top_k], atol=1e-4)
        assert np.allclose(a.points_m, b.points_m, atol=1e-5)  # the model saw the same points
    assert stats["frames_no_transform"] == 0 and stats["no_transform"] == "" and stats["tf_refused"] == 0
    # without input_frame the base_link cloud is used as it comes: the foreground (z = depth) differs
    raw, _, _ = run_clouds(model, "base_link")
    assert all(r.frame_id == "base_link" for r in raw)
    assert not raw or not np.allclose(raw[0].points_m, ref[0].points_m, atol=1e-3)


def test_a_cloud_already_in_input_frame_is_used_untouched(model):
    ref, _, _ = run_clouds(model, rh.OPTICAL, n=12)
    got, stats, _ = run_clouds(model, rh.OPTICAL, f"input_frame={rh.OPTICAL}", tf=False, n=12)
    assert [r.points_m.tolist() for r in got] == [r.points_m.tolist() for r in ref]
    assert stats["frames_no_transform"] == 0


def test_a_missing_transform_skips_the_frames_names_the_link_once_and_never_crashes(model):
    results, stats, lines = run_clouds(model, "base_link", f"input_frame={rh.OPTICAL}", tf=False, n=12)
    assert results == [] and stats["windows_formed"] == 0
    want = f"no transform from base_link to {rh.OPTICAL} yet"
    assert stats["frames_no_transform"] == 12 and stats["no_transform"] == want
    assert sum(want in text for _, text in lines) == 1  # named once (repeats summarised)
    status = diagnostics_msg(stats, [], 0, TS).status[0]
    assert status.level == 1 and want in status.message  # WARN, naming the missing link
    values = {kv.key: kv.value for kv in status.values}
    assert values["frames_no_transform"] == "12" and values["input_frame"] == rh.OPTICAL


def test_labels_start_once_the_transform_arrives(model):
    from vg4d_ros.pipeline.recognizer import Recognizer

    results, lines = [], []
    rec = Recognizer(config(model.path, f"input_frame={rh.OPTICAL}"), model, results.append,
                     log=lambda level, text: lines.append(text))
    rec.start()
    try:
        for i in range(30):
            if i == 10:  # the robot's static transforms come up late
                rec.on_tf_static(rh.tf_message(TS, [rh.CAMERA_LINK, rh.OPTICAL_LINK]))
            rec.on_cloud(rh.cloud_msg(TS, rh.in_base_link(rh.optical_points(i)), T0 + i * PERIOD, "base_link"))
            assert rec.wait_idle(60)
    finally:
        rec.stop()
    stats = rec.stats()
    assert stats["frames_no_transform"] == 10 and stats["no_transform"] == ""
    assert results and all(r.frame_id == rh.OPTICAL for r in results)
    assert any("reach" in line for line in lines)


def test_refused_transforms_are_counted_and_named(model):
    from vg4d_ros.pipeline.recognizer import Recognizer

    lines = []
    rec = Recognizer(config(model.path, f"input_frame={rh.OPTICAL}"), model, lambda r: None,
                     log=lambda level, text: lines.append(text))
    rec.on_tf(rh.tf_message(TS, [("a", "b", (0, 0, 0), (0, 0, 0, 0))]))
    assert rec.stats()["tf_refused"] == 1 and any("/tf: transform refused" in line for line in lines)
    assert rec.tf_topics() == {"tf": "/tf", "tf_static": "/tf_static"}


def test_no_tf_topics_without_input_frame(model):
    from vg4d_ros.pipeline.recognizer import Recognizer

    assert Recognizer(config(model.path), model, lambda r: None).tf_topics() == {}
