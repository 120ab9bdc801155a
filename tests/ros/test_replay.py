"""Replay of NTU-layout bags through the recogniser equals `vg4d evaluate` on the same videos.

Synthetic videos in NTU's raw layout -> `vg4d preprocess ntu` (every valid pixel kept: --points above
the largest frame, so the cache holds no random subset) -> a tiny checkpoint -> `vg4d evaluate`;
and the same videos -> `vg4d ntu2bag` (MCAP and sqlite3) -> `vg4d replay` with one window per
video covering the whole video. Same per-video predictions, same probabilities, same accuracy.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from replay_helpers import FRAMES, POINTS, TEST_INDICES, tiny_checkpoint, write_raw
from ros1_bags import write_ros1_copy
from vg4d_core.cli import main as vg4d

# one window per video over all its frames: nothing is emitted while the bag plays (min_frames above
# any video), the end window takes every buffered frame; no depth bounds (the cache has none)
WHOLE_VIDEO = ["window.window_s=100", "window.max_frames=1000", "window.min_frames=1000",
               "foreground.min_depth=0", "foreground.max_depth=0", "inference.device=cpu", "window.min_coverage=0", "window.views=1", "inference.top_k=60"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from vg4d_core.data import ntu

    root = tmp_path_factory.mktemp("replay")
    names = write_raw(root / "raw", TEST_INDICES)
    assert vg4d(["preprocess", "ntu", "--root", str(root / "raw"), "--out", str(root / "cache"), "--points", "9000",
                 "--no-rgb", "--workers", "1", "--no-progress"]) == 0
    data = {"name": "ntu", "root": str(root / "cache"), "protocol": "ntu60_cs", "num_frames": FRAMES,
            "points_per_frame": POINTS, "seed": 0, "rgb": False}
    ck = tiny_checkpoint(root / "tiny.pt", ntu.CLASS_NAMES[:60], data)
    assert vg4d(["evaluate", "--checkpoint", str(ck), "--out", str(root / "eval"), "--no-progress",
                 "--device", "cpu"]) == 0
    for storage in ("mcap", "sqlite3"):
        assert vg4d(["ntu2bag", "--root", str(root / "raw"), "--out", str(root / storage), "--storage", storage]) == 0
    return root, sorted(names), ck


def _replay(root: Path, ck: Path, storage: str, *extra: str) -> dict:
    bags = sorted(str(p) for p in (root / storage).iterdir())
    out = root / f"out_{storage}"
    assert vg4d(["replay", *bags, "--checkpoint", str(ck), "--out", str(out), "--index-by-bag-order", "--quiet",
                 *WHOLE_VIDEO, *extra]) == 0
    return json.loads((out / "report.json").read_text())


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_replay_equals_offline_evaluation(setup, storage):
    import torch

    from vg4d_core.data.factory import build_split
    from vg4d_core.runtime.collate import collate_clips
    from vg4d_core.runtime.predictor import predictor_from_checkpoint

    root, names, ck = setup
    metrics = json.loads((root / "eval" / "metrics.json").read_text())
    report = _replay(root, ck, storage)
    classes = report["class_names"]
    assert [b["name"] for b in report["bags"]] == names
    videos = {b["name"]: b["video"] for b in report["bags"]}
    for name in names:
        offline = metrics["predictions"][name]
        assert videos[name]["top1"] == classes[offline["pred"]], name
        assert videos[name]["label"] == classes[offline["label"]], name
    assert report["summary"]["video_accuracy"] == pytest.approx(metrics["top1"])
    # the probabilities too, not only the argmax: the replay's window is the offline clip
    ds = build_split(json.loads((root / "eval" / "metrics.json").read_text())["data_config"], "test")
    predictor, _ = predictor_from_checkpoint(ck, device="cpu")
    for i, bag in enumerate(report["bags"]):
        (end,) = [w for w in bag["windows"] if w["kind"] == "end"]
        assert end["num_frames"] == bag["frames"]
        with torch.no_grad():
            probs = predictor(collate_clips([ds[i]]))["pc"][0].numpy()
        replayed = np.zeros(60)
        for name, score in end["top_k"]:
            replayed[classes.index(name)] = score
        np.testing.assert_allclose(replayed, probs, rtol=0, atol=1e-6)
    assert report["summary"]["warnings"] == {k: 0 for k in report["summary"]["warnings"]}


def test_output_bag_reads_back_with_rosbags(setup):
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    root, names, ck = setup
    report = _replay(root, ck, "mcap", "window.min_frames=4", "window.hop_frames=4")
    bag = report["bags"][0]
    assert bag["num_windows"] >= 2 and bag["output_bag"]
    # a plain store without vision_msgs: the definitions travel in the bag
    with AnyReader([Path(bag["output_bag"])], default_typestore=get_typestore(Stores.ROS2_HUMBLE)) as reader:
        topics = {c.topic: c.msgtype for c in reader.connections}
        assert topics == {"/recognizer/action": "vision_msgs/msg/Classification",
                          "/recognizer/label": "std_msgs/msg/String",
                          "/recognizer/label_info": "vision_msgs/msg/LabelInfo",
                          "/recognizer/events": "vg4d_msgs/msg/ActionEvent"}
        actions = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()
                   if c.topic == "/recognizer/action"]
        events = [(t, reader.deserialize(raw, c.msgtype)) for c, t, raw in reader.messages()
                  if c.topic == "/recognizer/events"]
    assert len(actions) == bag["num_windows"]
    # the report's events, recorded at the stamp they were decided
    assert len(events) == len(bag["events"]) >= 2
    for (t, msg), row in zip(events, bag["events"]):
        assert t == row["stamp_ns"] == msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        assert (msg.state, msg.label, msg.class_id, msg.ended_by) == (row["state"], row["label"], row["class_id"],
                                                                      row["ended_by"])
        assert msg.start.sec * 1_000_000_000 + msg.start.nanosec == row["start_ns"]
    assert events[-1][1].ended_by == "stream_end"
    for msg, row in zip(actions, bag["windows"]):
        assert msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec == row["stamp_ns"]
        assert report["class_names"][int(msg.results[0].class_id)] == row["top1"]
        assert len(msg.results) == 60


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_a_robot_style_recording_with_compressed_depth_replays_as_the_raw_one(setup, codec):
    # `vg4d compress-bag` writes what `ros2 bag record` of a camera driver keeps: <depth>/compressedDepth
    # (lossless 16-bit) instead of the raw topic. Replay with the raw topic configured finds the
    # compressed sub-topic and gives the raw bags' windows, probabilities and labels exactly.
    root, names, ck = setup
    extra = ("window.min_frames=4", "window.hop_frames=4")
    raw = _replay(root, ck, "mcap", *extra)
    packed = root / f"compressed_{codec}"
    packed.mkdir(exist_ok=True)
    for bag in sorted((root / "mcap").iterdir()):
        if not (packed / bag.name).exists():
            assert vg4d(["compress-bag", str(bag), str(packed / bag.name), "--depth", codec]) == 0
    got = _replay(root, ck, packed.name, *extra)
    assert len(got["bags"]) == len(raw["bags"]) == len(names)
    for a, b in zip(raw["bags"], got["bags"]):
        assert "/camera/depth/image_raw/compressedDepth" in b["topics"]
        assert "/camera/depth/image_raw" not in b["topics"]
        assert b["topics"]["/camera/depth/image_raw/compressedDepth"] == "sensor_msgs/msg/CompressedImage"
        assert b["num_windows"] == a["num_windows"] >= 2
        assert [(w["stamp_ns"], w["top1"], w["score"]) for w in b["windows"]] == \
            [(w["stamp_ns"], w["top1"], w["score"]) for w in a["windows"]]
    assert got["summary"]["video_accuracy"] == raw["summary"]["video_accuracy"]


def test_a_ros1_recording_replays_as_the_ros2_one(setup):
    # Recordings made with ROS 1 drivers are single .bag files (CameraInfo's K, headers with seq). A
    # folder of them is several bags; replay and bag2cache read them like the ROS 2 bags they were
    # copied from: the same windows with the same probabilities, the same cached points.
    root, names, ck = setup
    extra = ("window.min_frames=4", "window.hop_frames=4")
    ros1 = root / "ros1"
    for bag in sorted((root / "mcap").iterdir()):
        if not (ros1 / f"{bag.name}.bag").exists():
            write_ros1_copy(bag, ros1 / f"{bag.name}.bag")
    raw = _replay(root, ck, "mcap", *extra)
    got = _replay(root, ck, "ros1", *extra)
    assert [b["name"] for b in got["bags"]] == [b["name"] for b in raw["bags"]] == names  # labels by bag name
    for a, b in zip(raw["bags"], got["bags"]):
        assert b["error"] is None and b["label_source"] == a["label_source"] == "topic"
        assert b["num_windows"] == a["num_windows"] >= 2
        assert [(w["stamp_ns"], w["top1"], w["score"], w["label"]) for w in b["windows"]] == \
            [(w["stamp_ns"], w["top1"], w["score"], w["label"]) for w in a["windows"]]
    assert got["summary"]["video_accuracy"] == raw["summary"]["video_accuracy"]
    # one folder argument of ROS 1 bags stands for each of them
    out = root / "out_ros1_folder"
    assert vg4d(["replay", str(ros1), "--checkpoint", str(ck), "--out", str(out), "--quiet", *WHOLE_VIDEO]) == 0
    assert len(json.loads((out / "report.json").read_text())["bags"]) == len(names)
    # training on own bags: the same cache from either
    first = sorted((root / "mcap").iterdir())[0]
    for kind, bag in (("ros2", first), ("ros1", ros1 / f"{first.name}.bag")):
        assert vg4d(["bag2cache", str(bag), "--out", str(root / f"cache_{kind}"), "--no-progress"]) == 0
    a, b = (sorted((root / f"cache_{kind}").rglob("*.npz")) for kind in ("ros2", "ros1"))
    assert a and [p.name for p in a] == [p.name for p in b]
    for pa, pb in zip(a, b):
        with np.load(pa) as za, np.load(pb) as zb:
            arrays = [k for k in za.files if k != "meta"]
            assert arrays and sorted(arrays) == sorted(k for k in zb.files if k != "meta")
            for k in arrays:
                np.testing.assert_array_equal(za[k], zb[k])
