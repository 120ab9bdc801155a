"""One path from a frame to a label: the training cache (`vg4d bag2cache`) and the live window (`vg4d replay`,
the recogniser every transport runs) give the model the same input, bit for bit, from the same messages.

The checkpoint is made as `vg4d train` makes it (its input transform from the bag dataset), so the replay
rebuilds the conversion from the checkpoint alone; only topics come from the user's config.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from replay_helpers import FRAMES, POINTS, tiny_checkpoint, write_raw
from vg4d_core.cli import main as vg4d

SRC = Path(__file__).resolve().parents[2] / "src"


def _bag(root: Path, room: bool) -> tuple[Path, str]:
    names = write_raw(root / "raw", (8,), frames=(20, 24), room=room)
    assert vg4d(["ntu2bag", "--root", str(root / "raw"), "--out", str(root / "bags"), "--no-rgb"]) == 0
    return root / "bags" / names[0], names[0]


def _rewrite(src: Path, dst: Path, kind: str) -> None:
    """The recording as another driver publishes it: ``float``: 32FC1 metres (NaN = no return) with
    16 bytes of row padding and a big-endian payload; ``cloud``: an organised PointCloud2 (x, y, z float32
    plus an rgb field, NaN where no return) on ``camera/depth/points`` instead of the image; ``tenth_mm``:
    16UC1 in steps of 0.1 mm instead of the ROS convention's millimetres."""
    from vg4d_core.data.depth import depth_to_points
    from vg4d_ros.bags.bagio import BagWriter, open_bag, read_messages
    from vg4d_ros.pipeline.decode import camera_intrinsics, depth_image_to_array
    from vg4d_ros.typestore import ros_typestore

    ts = ros_typestore()
    T = ts.types
    with open_bag(src) as reader, BagWriter(dst, typestore=ts) as out:
        conns = {c.topic: c.msgtype for c in reader.connections}
        intr = None
        for m in read_messages(reader, list(conns), path=src):
            msg, topic, msgtype = m.msg, m.topic, conns[m.topic]
            if msgtype == "sensor_msgs/msg/CameraInfo":
                intr = camera_intrinsics(msg)
            elif msgtype == "sensor_msgs/msg/Image" and "depth" in topic:
                raw = depth_image_to_array(msg)
                metres = np.where(raw > 0, raw.astype(np.float32) / np.float32(1000.0), np.float32(np.nan))
                h, w = metres.shape
                if kind == "tenth_mm":
                    assert raw.max() * 10 < 65536
                    tenth = (raw.astype(np.uint16) * np.uint16(10)).astype("<u2")
                    msg = T["sensor_msgs/msg/Image"](header=msg.header, height=h, width=w, encoding="16UC1",
                                                      is_bigendian=0, step=w * 2, data=tenth.view(np.uint8).reshape(-1))
                elif kind == "float":
                    step = w * 4 + 16
                    buf = np.zeros((h, step), np.uint8)
                    buf[:, : w * 4] = metres.astype(">f4").view(np.uint8).reshape(h, w * 4)
                    msg = T["sensor_msgs/msg/Image"](header=msg.header, height=h, width=w, encoding="32FC1",
                                                      is_bigendian=1, step=step, data=buf.reshape(-1))
                else:
                    pts = depth_to_points(np.nan_to_num(metres, nan=0.0), intr, return_pixels=True)
                    xyz = np.full((h, w, 3), np.nan, np.float32)
                    xyz[pts[1][:, 1], pts[1][:, 0]] = pts[0]
                    rec = np.zeros((h, w, 4), np.float32)
                    rec[..., :3] = xyz
                    PF = T["sensor_msgs/msg/PointField"]
                    fields = [PF(name=n, offset=4 * i, datatype=7, count=1) for i, n in enumerate(("x", "y", "z", "rgb"))]
                    msg = T["sensor_msgs/msg/PointCloud2"](header=msg.header, height=h, width=w, fields=fields,
                                                           is_bigendian=False, point_step=16, row_step=16 * w,
                                                           data=rec.view(np.uint8).reshape(-1), is_dense=False)
                    topic, msgtype = "/camera/depth/points", "sensor_msgs/msg/PointCloud2"
            out.write(topic, msgtype, m.log_time_ns, msg)


def _checkpoint_like_training(root: Path, cache: Path, bag_name: str, seed: int) -> tuple[Path, object]:
    """A tiny checkpoint whose state holds what `vg4d train` records for a bag cache."""
    from vg4d_core.data.factory import build_split
    from vg4d_core.data.input_transform import TRANSFORM_KEY, transform_of_dataset

    data = {"name": "bag", "root": str(cache), "num_frames": FRAMES, "points_per_frame": POINTS, "rgb": False,
            "seed": seed, "bag": {"split_by": "bag", "test": [bag_name]}}
    test = build_split(data, "test")
    ck = tiny_checkpoint(root / "ck.pt", test.class_names, data)
    state = torch.load(ck, weights_only=False)
    state[TRANSFORM_KEY] = transform_of_dataset(test, data).to_dict()
    torch.save(state, ck)
    return ck, test


def _replayed_inputs(bag: Path, ck: Path, overrides: list[str], monkeypatch) -> list[np.ndarray]:
    """The point clips the replay path hands the model (every window, end window last)."""
    from vg4d_ros.bags.replay import ReplayOptions, replay
    from vg4d_ros.config import load_recognizer_config
    from vg4d_ros.pipeline.recognizer import Recognizer

    seen: list[np.ndarray] = []
    infer = Recognizer.infer

    def spy(self, window, completed=None):
        seen.append(window.points.copy())
        return infer(self, window, completed)

    monkeypatch.setattr(Recognizer, "infer", spy)
    config = load_recognizer_config(None, [f"inference.checkpoint={ck}", "inference.device=cpu", "window.views=1",
                                           *overrides])
    replay([bag], config, ReplayOptions(index_by_bag_order=True), None)
    return seen


@pytest.mark.parametrize("room,foreground", [
    (False, []),  # NTU-layout masked depth through ntu2bag
    (True, ["foreground.max_depth=4.6", "foreground.remove_floor=true", "foreground.crop_enabled=true",
            "foreground.crop_min=[-1.2,-2.0,0.5]", "foreground.crop_max=[1.2,1.2,4.6]"]),  # a room to cut away
], ids=["ntu_layout", "room_floor_crop"])
def test_bag2cache_item_equals_replay_window_bit_for_bit(tmp_path, monkeypatch, room, foreground):
    bag, name = _bag(tmp_path, room)
    cache = tmp_path / "cache"
    assert vg4d(["bag2cache", str(bag), "--out", str(cache), "--points", "300", "--seed", "7", *foreground]) == 0
    ck, test = _checkpoint_like_training(tmp_path, cache, name, seed=3)
    item = test[0]
    # the end window holds every frame of the bag: the video the cache cut from it (one labelled segment)
    live = _replayed_inputs(bag, ck, ["window.window_s=60", "window.max_frames=1000", "window.min_frames=1000"],
                            monkeypatch)
    # the end window (every frame) and the segment verdict (the labelled segment: every frame too)
    assert len(live) == 2, "only the end window and the segment verdict were expected"
    assert live[0].dtype == np.float32 and live[0].shape == (FRAMES, POINTS, 3)
    assert all(np.array_equal(x, item["points"].numpy()) for x in live)  # bit-identical model input
    if room:  # the room was cut away by the recorded foreground, not by the user's (default) config
        assert item["points"][..., 2].max() <= 4.6 + 1e-3


@pytest.mark.parametrize("kind", ["float", "cloud"])
def test_other_drivers_encodings_give_the_same_bit_identity(tmp_path, monkeypatch, kind):
    """The same recording from drivers with other quirks (32FC1 big-endian with padded rows; an organised
    PointCloud2 with an extra field and NaN holes): cache and replay still agree bit for bit."""
    bag, name = _bag(tmp_path, True)
    other = tmp_path / "other" / name
    other.parent.mkdir()
    _rewrite(bag, other, kind)
    cache = tmp_path / "cache"
    extra = ["input=cloud"] if kind == "cloud" else []
    assert vg4d(["bag2cache", str(other), "--out", str(cache), "--points", "300", *extra,
                 "foreground.max_depth=4.6"]) == 0
    ck, test = _checkpoint_like_training(tmp_path, cache, name, seed=1)
    live = _replayed_inputs(other, ck, ["window.window_s=60", "window.max_frames=1000", "window.min_frames=1000",
                                        *extra], monkeypatch)
    assert len(live) == 2 and all(np.array_equal(x, test[0]["points"].numpy()) for x in live)
    assert test[0]["points"].abs().sum() > 0  # the frames held points


def test_a_driver_publishing_another_depth_unit_is_read_with_depth_unit_m(tmp_path, monkeypatch, capsys):
    """16UC1 in 0.1 mm steps (not the ROS convention's mm): with ``depth_unit_m=0.0001`` the cache and the
    live window hold the millimetre recording's points; without it every point is 10 x too far."""
    bag, name = _bag(tmp_path, False)
    other = tmp_path / "other" / name
    other.parent.mkdir()
    _rewrite(bag, other, "tenth_mm")
    caches = {}
    for key, src, extra in (("mm", bag, []), ("tenth", other, ["depth_unit_m=0.0001"])):
        caches[key] = tmp_path / f"cache_{key}"
        assert vg4d(["bag2cache", str(src), "--out", str(caches[key]), "--points", "300", *extra]) == 0
    # without it the person stands 10 x too far, beyond the depth range: nothing to train on, and the
    # error says where to look
    assert vg4d(["bag2cache", str(other), "--out", str(tmp_path / "cache_unset"), "--points", "300"]) == 2
    assert "empty_videos: 1" in capsys.readouterr().err
    ck, test = _checkpoint_like_training(tmp_path, caches["tenth"], name, seed=1)
    live = _replayed_inputs(other, ck, ["window.window_s=60", "window.max_frames=1000", "window.min_frames=1000",
                                        "depth_unit_m=0.0001"], monkeypatch)
    assert len(live) == 2 and all(np.array_equal(x, test[0]["points"].numpy()) for x in live)
    # the same points as the millimetre recording's (the cache's grid: bit for bit)
    mm, tenth = (sorted(caches[k].rglob("*.npz")) for k in ("mm", "tenth"))
    assert len(mm) == len(tenth) == 1
    with np.load(mm[0]) as a, np.load(tenth[0]) as b:
        arrays = [k for k in a.files if k != "meta"]
        assert arrays and sorted(arrays) == sorted(k for k in b.files if k != "meta")
        for k in arrays:
            np.testing.assert_array_equal(a[k], b[k])


def test_replay_uses_the_checkpoint_conversion_and_says_where_the_config_differs(tmp_path, monkeypatch):
    from vg4d_ros.config import load_recognizer_config
    from vg4d_ros.pipeline.model import load_model, resolve

    bag, name = _bag(tmp_path, True)
    cache = tmp_path / "cache"
    assert vg4d(["bag2cache", str(bag), "--out", str(cache), "--points", "300", "foreground.max_depth=4.2"]) == 0
    ck, _ = _checkpoint_like_training(tmp_path, cache, name, seed=0)
    cfg = load_recognizer_config(None, [f"inference.checkpoint={ck}", "inference.device=cpu"])
    settings = resolve(cfg, load_model(cfg))
    assert settings.transform.foreground["max_depth"] == 4.2  # the checkpoint's, not the default 4.5
    assert settings.transform.stored_points_per_frame == 300 and settings.transform.quantum == 1e-3
    assert settings.window_s_source == "checkpoint"  # bag caches record their videos' duration
    assert any("foreground.max_depth: 4.2 -> 4.5" in n for n in settings.notes), settings.notes
    mine = load_recognizer_config(None, [f"inference.checkpoint={ck}", "inference.device=cpu",
                                         "foreground.from_checkpoint=false"])
    settings = resolve(mine, load_model(mine))
    assert settings.transform.foreground["max_depth"] == 4.5
    assert any("foreground differs" in w and "max_depth" in w for w in settings.warnings), settings.warnings


def test_a_checkpoint_trained_on_a_bag_cache_records_its_transform(tmp_path):
    """The training path itself (not a hand-made checkpoint) carries the cache's conversion on."""
    import yaml

    from replay_helpers import TINY_LAYERS
    from vg4d_core.data.input_transform import TRANSFORM_KEY

    bag, name = _bag(tmp_path, False)
    cache = tmp_path / "cache"
    assert vg4d(["bag2cache", str(bag), "--out", str(cache), "--points", "128", "--seed", "5"]) == 0
    index = json.loads((cache / "bag_index.json").read_text())
    data = {"name": "bag", "root": str(cache), "num_frames": FRAMES, "points_per_frame": POINTS, "rgb": False,
            "bag": {"split_by": "bag", "test": []}}
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(data))
    recipe = {"model": "lite", "model_overrides": {"points": POINTS, "frames": FRAMES, "layers": TINY_LAYERS,
                                                   "radius": 0.1, "dropout": 0.0},
              "embed_dim": 8, "data": str(tmp_path / "data.yaml"), "batch_size": 1, "eval_batch_size": 1,
              "workers": 0, "device": "cpu", "threads": 1, "progress": False, "test_split": "train",
              "schedule": {"epochs": 1, "warmup_epochs": 0}}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    assert vg4d(["train", "--config", str(tmp_path / "recipe.yaml"), "--out", str(tmp_path / "run")]) == 0
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    t = state[TRANSFORM_KEY]
    assert t["source"] == "bag" and t["input"] == "depth" and t["stored_points_per_frame"] == 128
    assert t["subset_seed"] == 5 and t["foreground"] == index[TRANSFORM_KEY]["foreground"]
    assert (t["num_frames"], t["points_per_frame"]) == (FRAMES, POINTS)
    video = index["videos"][0]
    assert t["typical_video_s"] == pytest.approx((video["last_stamp_ns"] - video["first_stamp_ns"]) / 1e9)


# -- the converter is the only place messages become model input -------------------------------------
DECODERS = {"depth_image_to_points", "pointcloud2_to_xyz", "depth_image_to_array", "rgb_image_to_array",
            "mask_image_to_array"}
# modules allowed to call a decoder, and why
ALLOWED = {
    "vg4d_ros/pipeline/decode.py": "defines them",
    "vg4d_ros/pipeline/convert.py": "THE frame converter",
    "vg4d_ros/programs/bench_decode.py": "times the decoders themselves; builds no model input",
    "vg4d_ros/bags/composite.py": "puts recorded depth images side by side into a new bag; builds no model input",
    "vg4d_ros/bags/compress.py": "re-encodes recorded images as compressed ones into a new bag; builds no model input",
}


def test_no_module_outside_the_converter_decodes_sensor_messages():
    offenders = []
    root = SRC / "vg4d_ros"
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in ALLOWED or "/test/" in f"/{rel}":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            called = None
            if isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("decode"):
                called = next((a.name for a in node.names if a.name in DECODERS), None)
            if called in DECODERS:
                offenders.append(f"{rel}:{node.lineno} {called}")
    assert not offenders, "model input built outside pipeline/convert.py: " + ", ".join(offenders)


def test_replay_segment_verdicts_equal_vg4d_evaluate_on_the_cache(tmp_path, monkeypatch):
    """The replay's per-segment ("video") verdict is vg4d evaluate's on the cached video: same frames, same
    test views and streams, so the same scores (to float rounding of the batch) and the same top-1."""
    from vg4d_core.data.factory import build_split
    from vg4d_core.runtime.predictor import predictor_from_checkpoint
    from vg4d_core.runtime.scoring import score_dataset
    from vg4d_ros.bags.replay import ReplayOptions, replay
    from vg4d_ros.config import load_recognizer_config

    names = write_raw(tmp_path / "raw", (8, 9, 10), frames=(14, 18))
    assert vg4d(["ntu2bag", "--root", str(tmp_path / "raw"), "--out", str(tmp_path / "bags"), "--no-rgb"]) == 0
    bags = [tmp_path / "bags" / n for n in sorted(names)]
    cache = tmp_path / "cache"
    assert vg4d(["bag2cache", *map(str, bags), "--out", str(cache), "--points", "200", "--no-progress"]) == 0
    data = {"name": "bag", "root": str(cache), "num_frames": FRAMES, "points_per_frame": POINTS, "rgb": False,
            "seed": 2, "test_views": 3, "bag": {"split_by": "bag", "test": sorted(names)}}
    test = build_split(data, "test")
    ck, _ = _checkpoint_like_training(tmp_path, cache, sorted(names)[0], seed=2)
    state = torch.load(ck, weights_only=False)
    from vg4d_core.data.input_transform import TRANSFORM_KEY, transform_of_dataset
    state[TRANSFORM_KEY] = transform_of_dataset(test, data).to_dict()  # all three bags, 3 views
    torch.save(state, ck)
    predictor, _ = predictor_from_checkpoint(ck, device="cpu")
    offline = score_dataset(predictor, test, batch_size=4)
    config = load_recognizer_config(None, [f"inference.checkpoint={ck}", "inference.device=cpu"])
    report = replay(bags, config, ReplayOptions(index_by_bag_order=True), None)
    segs = [s for b in report["bags"] for s in b["segments"]]
    assert len(segs) == 3 == len(offline.videos)
    names_k = predictor.class_names
    for seg, row in zip(segs, offline.tables["pc"]):
        assert seg["top1"] == names_k[int(np.argmax(row))]
        assert seg["score"] == pytest.approx(float(row.max()), abs=1e-5)
    assert report["summary"]["segment_top1"] == pytest.approx(
        100.0 * np.mean(np.argmax(offline.tables["pc"], 1) == offline.labels))
