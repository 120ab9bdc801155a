"""The runtime layer on hand-made inputs: collation, fusion, the predictor's score tables, provenance."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from vg4d_core.runtime.collate import collate_clips
from vg4d_core.runtime.device import amp_dtype_for, pick_device
from vg4d_core.runtime.fusion import fit_fusion_weights, fuse, weight_grid
from vg4d_core.runtime.predictor import PointScores, Predictor
from vg4d_core.provenance import save_json


def _item(i, rgb=True):
    it = {"points": torch.full((3, 4, 3), float(i)), "label": i, "video": f"v{i}",
          "frame_indices": torch.arange(3)}
    if rgb:
        it["rgb"] = torch.full((3, 2, 2, 3), i, dtype=torch.uint8)
    return it


def test_collate_keeps_every_modality_in_its_dtype():
    batch = collate_clips([_item(1), _item(2)])
    assert batch["points"].shape == (2, 3, 4, 3) and batch["points"].dtype == torch.float32
    assert batch["rgb"].shape == (2, 3, 2, 2, 3) and batch["rgb"].dtype == torch.uint8
    assert batch["rgb"][1].max().item() == 2
    assert batch["label"].tolist() == [1, 2] and batch["video"] == ["v1", "v2"]
    assert batch["frame_indices"].shape == (2, 3)


def test_collate_refuses_a_modality_only_some_items_carry():
    with pytest.raises(ValueError, match="rgb"):
        collate_clips([_item(1), _item(2, rgb=False)])
    bad = _item(2)
    bad["rgb"] = torch.zeros(3, 4, 4, 3, dtype=torch.uint8)
    with pytest.raises(ValueError, match="'rgb' differs in shape"):
        collate_clips([_item(1), bad])
    with pytest.raises(ValueError, match="empty"):
        collate_clips([])


def test_fuse_is_the_weighted_mean_of_probabilities():
    a = np.array([[0.6, 0.4], [0.1, 0.9]])
    b = np.array([[0.2, 0.8], [0.5, 0.5]])
    out = fuse({"pc": a, "rgb": b, "unused": np.zeros((2, 2))}, {"pc": 3.0, "rgb": 1.0})
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(KeyError, match="rgb_text"):
        fuse({"pc": a}, {"pc": 1.0, "rgb_text": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        fuse({"pc": a}, {"pc": -1.0})


def test_weight_grid_covers_the_simplex_with_positive_weights():
    grid = weight_grid(["a", "b"], step=0.25)
    assert grid == [{"a": 0.25, "b": 0.75}, {"a": 0.5, "b": 0.5}, {"a": 0.75, "b": 0.25}]
    assert len(weight_grid(["a", "b", "c", "d"], step=0.1)) == 84  # C(9, 3): 4 positive parts of 10


def test_fit_prefers_the_score_that_is_right():
    labels = np.array([0, 1, 0, 1])
    good = np.eye(2)[labels] * 0.8 + 0.1  # always right
    bad = np.eye(2)[1 - labels] * 0.8 + 0.1  # always wrong
    w = fit_fusion_weights({"pc": bad, "rgb": good}, labels, ["pc", "rgb"], step=0.1)
    assert w["rgb"] > w["pc"]
    assert w == {"pc": 0.1, "rgb": 0.9}  # all of 0.1..0.4 for pc reach 100 %: most true-class mass wins


class Fixed(nn.Module):
    """An encoder returning fixed logits and embeddings, to check the predictor's arithmetic."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, xyz):
        b = xyz.shape[0]
        logits = torch.tensor([[2.0, 0.0, 0.0]]).expand(b, 3)
        emb = torch.tensor([[0.0, 1.0]]).expand(b, 2)
        return {"logits": logits + self.dummy, "embedding": emb}


def test_predictor_names_and_computes_each_table():
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    pred = Predictor([PointScores(Fixed(), text, logit_scale=10.0)], ["a", "b", "c"],
                     fusion={"pc": 0.5, "pc_text": 0.5})
    assert pred.score_names == ("pc", "pc_text", "fused") and pred.inputs == ("points",)
    scores = pred(collate_clips([_item(0, rgb=False)]))
    e = np.exp([2.0, 0.0, 0.0])
    np.testing.assert_allclose(scores["pc"][0].numpy(), e / e.sum(), rtol=1e-6)
    t = np.exp([0.0, 10.0, 8.0])
    np.testing.assert_allclose(scores["pc_text"][0].numpy(), t / t.sum(), rtol=1e-5)
    np.testing.assert_allclose(scores["fused"].numpy(), 0.5 * (scores["pc"] + scores["pc_text"]).numpy())
    with pytest.raises(KeyError, match="points"):
        pred({"rgb": torch.zeros(1)})


def test_device_and_precision_rules():
    assert pick_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="device must be one of"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda.*is_available"):
            pick_device("cuda")
        assert pick_device("auto").type == "cpu"
    assert amp_dtype_for("auto", torch.device("cpu")) is None
    assert amp_dtype_for("auto", torch.device("cuda")) is torch.bfloat16
    assert amp_dtype_for("bf16", torch.device("cpu")) is torch.bfloat16
    with pytest.raises(ValueError, match="amp must be one of"):
        amp_dtype_for("fp16", torch.device("cpu"))


def test_every_json_carries_its_provenance(tmp_path):
    path = save_json(tmp_path / "sub" / "r.json", {"top1": 1.0}, command="vg4d evaluate --x 1")
    data = json.loads(path.read_text())
    assert data["top1"] == 1.0 and data["command"] == "vg4d evaluate --x 1"
    assert {"python", "torch", "cpu_count", "time_utc"} <= set(data["hardware"])
    assert "commit" in data
    kept = json.loads(save_json(tmp_path / "k.json", {"command": "mine", "hardware": {"commit": "abc"}}).read_text())
    assert kept["command"] == "mine" and kept["commit"] == "abc"
    assert not list(tmp_path.rglob("*.tmp"))


def test_restrict_keeps_the_named_videos_and_their_clips():
    from vg4d_core.runtime.scoring import VideoScores, metrics_of, restrict

    clip = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    scores = VideoScores(videos=["a", "b", "c"], labels=np.array([0, 1, 0]),
                         tables={"pc": np.array([[0.9, 0.1], [0.25, 0.75], [0.6, 0.4]])},
                         clip_tables={"pc": clip}, clip_labels=np.array([0, 1, 1, 0]), num_clips=4,
                         clip_videos=["a", "b", "b", "c"])
    sub = restrict(scores, ["b", "c"])
    assert sub.videos == ["b", "c"] and sub.labels.tolist() == [1, 0] and sub.num_clips == 3
    assert sub.clip_videos == ["b", "b", "c"]
    assert metrics_of(sub)["top1"] == 100.0 and metrics_of(sub)["num_videos"] == 2
    with pytest.raises(ValueError, match="not in the scores"):
        restrict(scores, ["z"])
