"""Bags as training data: ntu2bag bags -> `vg4d bag2cache` -> `vg4d train` (data.name: bag) -> replay of a
held-out bag; and a labels file cutting one bag into several videos."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from replay_helpers import FRAMES, POINTS, TINY_LAYERS, write_raw
from vg4d_core.cli import main as vg4d

INDICES = (0, 1, 2, 3, 8, 9)  # four train-performer videos, two held out


@pytest.fixture(scope="module")
def bags(tmp_path_factory):
    root = tmp_path_factory.mktemp("bagtrain")
    names = write_raw(root / "raw", INDICES)
    assert vg4d(["ntu2bag", "--root", str(root / "raw"), "--out", str(root / "bags"), "--no-rgb"]) == 0
    return root, sorted(names)


def test_train_on_bags_then_replay_a_held_out_bag(bags):
    from vg4d_core.data.factory import build_split

    root, names = bags
    held_out = names[-2:]  # P003: the test performer
    assert vg4d(["bag2cache", *[str(root / "bags" / n) for n in names], "--out", str(root / "cache"),
                 "--points", "256"]) == 0
    index = json.loads((root / "cache" / "bag_index.json").read_text())
    assert index["class_names"] == sorted(["drink water", "eat meal/snack", "brushing teeth", "brushing hair"])
    assert [v["name"] for v in index["videos"]] == [f"{n}__000" for n in names]
    data = {"name": "bag", "root": str(root / "cache"), "num_frames": FRAMES, "points_per_frame": POINTS,
            "rgb": False, "bag": {"split_by": "bag", "test": held_out}}
    test = build_split(data, "test")
    assert test.video_ids == [f"{n}__000" for n in held_out] and test.num_classes == 4
    assert len(build_split(data, "train")) == 4
    item = test[0]
    assert item["points"].shape == (FRAMES, POINTS, 3)
    # metres on the cache's 1 mm grid, at the subjects' 3-4 m
    z = item["points"][..., 2].numpy()
    assert 3.0 < z.mean() < 4.5 and np.allclose(z * 1000, np.rint(z * 1000), atol=1e-3)
    (root / "data.yaml").write_text(yaml.safe_dump(data))
    recipe = {"model": "lite", "model_overrides": {"points": POINTS, "frames": FRAMES, "layers": TINY_LAYERS,
                                                   "radius": 0.1, "dropout": 0.0},
              "embed_dim": 8, "data": str(root / "data.yaml"), "batch_size": 2, "eval_batch_size": 2, "workers": 0,
              "device": "cpu", "threads": 1, "progress": False, "optimizer": {"lr": 0.05, "weight_decay": 1e-4},
              "schedule": {"epochs": 2, "warmup_epochs": 0.5}}
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    assert vg4d(["train", "--config", str(root / "recipe.yaml"), "--out", str(root / "run")]) == 0
    ck = root / "run" / "last.pt"
    assert vg4d(["replay", *[str(root / "bags" / n) for n in held_out], "--checkpoint", str(ck), "--out",
                 str(root / "replay"), "inference.device=cpu", "window.min_coverage=0", "window.min_frames=4", "window.hop_frames=4"]) == 0
    report = json.loads((root / "replay" / "report.json").read_text())
    assert report["class_names"] == index["class_names"]
    s = report["summary"]
    assert s["bags"] == 2 and s["bags_failed"] == 0 and s["videos"] == 2
    assert s["labelled_windows"] == s["windows"] >= 4
    for bag in report["bags"]:
        assert bag["label_source"] == "topic"
        assert bag["video"]["label"] in index["class_names"]
        assert all(w["top1"] in index["class_names"] for w in bag["windows"])


def test_labels_file_cuts_a_bag_into_videos(bags, tmp_path):
    from vg4d_ros.bags.bag2cache import convert_bags
    from vg4d_ros.config import RecognizerConfig
    from vg4d_ros.bags.labels import load_labels

    root, names = bags
    # frames at 30 Hz; the bag starts 1 us before frame 0 (its camera info): 0.0-0.11 s holds frames 0-3,
    # 0.2-0.31 s frames 6-9, 0.0-0.25 s frames 0-7
    labels = tmp_path / "labels.csv"
    labels.write_text(f"bag,start,end,label,subject\n{names[0]},0.0,0.11,wave,alice\n{names[0]},0.2,0.31,bow,alice\n"
                      f"{names[1]},0.0,0.25,wave,bob\n")
    index = convert_bags([root / "bags" / names[0], root / "bags" / names[1]], tmp_path / "cache", RecognizerConfig(),
                         labels=load_labels(labels), points_per_frame=128)
    assert [(v["label"], v["frames"], v["subject"]) for v in index["videos"]] == [
        ("wave", 4, "alice"), ("bow", 4, "alice"), ("wave", 8, "bob")]
    assert index["class_names"] == ["bow", "wave"]
    from vg4d_core.data.bag_dataset import BagDataset

    test = BagDataset(tmp_path / "cache", "test", split_by="subject", test=["bob"], num_frames=4, points_per_frame=64)
    assert test.video_ids == [f"{names[1]}__000"] and test.labels == [1]
    with pytest.raises(ValueError, match="carol"):
        BagDataset(tmp_path / "cache", "test", split_by="subject", test=["carol"], num_frames=4, points_per_frame=64)
