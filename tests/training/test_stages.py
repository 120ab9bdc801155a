"""The vlm and crossmodal stages end to end on a tiny X-CLIP and tiny synthetic RGB-D data."""
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from stage_chain import recipes  # noqa: E402

from vg4d_core.cli import main as vg4d  # noqa: E402
from vg4d_core.runtime import checkpoint as ck  # noqa: E402


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    from vg4d_core.vlm.tiny import write_tiny_xclip

    d = tmp_path_factory.mktemp("chain")
    r = recipes(d, write_tiny_xclip(d / "xclip"))
    assert vg4d(["train", "--config", str(r["pretrain"]), "--out", str(d / "pre")]) == 0
    assert vg4d(["train", "--config", str(r["vlm"]), "--out", str(d / "vlm")]) == 0
    vlm_before = ck.load_checkpoint(d / "vlm" / "last.pt")["model"]
    sha_before = _sha(d / "vlm" / "last.pt")
    assert vg4d(["train", "--config", str(r["crossmodal"]), "--out", str(d / "cross"),
                 "schedule.epochs=2", "ckpt_every=1"]) == 0
    return {"dir": d, "recipes": r, "vlm_before": vlm_before, "vlm_sha": sha_before}


def test_chain_checkpoints_and_four_scores(chain, capsys):
    d = chain["dir"]
    state = ck.load_checkpoint(d / "cross" / "last.pt")
    assert state["arch"]["model"] == "IMPSTNet"
    assert not any(k.startswith("vlm") for k in state["model"])  # the VLM never entered the trained module
    assert state["class_text_features"].shape == (8, 16)
    assert isinstance(state["logit_scale"], float) and 0 < state["logit_scale"] <= 100
    assert set(state["fusion_weights"]) == {"pc", "pc_text", "rgb", "rgb_text"}
    assert set(state["fusion_weights_pc"]) == {"pc", "pc_text"}
    assert len(state["fusion_subsets"]) == 11  # 2^4 - 1 subsets minus the 4 single scores
    assert state["fusion_validation"]["val_fraction"] == 0.25
    assert state["fusion_validation"]["num_videos"] > 0
    # the median training-video duration (synthetic: 30 Hz), the live recognizer's default window
    from vg4d_core.data.factory import build_split

    train = build_split(state["data_config"], "train")
    expected = float(np.median(train.video_lengths)) / 30.0
    assert state["typical_video_s"] == pytest.approx(expected) and 0.3 < expected < 2.0

    out = d / "eval"
    assert vg4d(["evaluate", "--checkpoint", str(d / "cross" / "last.pt"), "--out", str(out),
                 "--no-progress", "--ablations"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["scores"]) == {"pc", "pc_text", "rgb", "rgb_text", "fused"}
    assert m["score"] == "fused" and m["top1"] == m["scores"]["fused"]["top1"]
    abl = json.loads((out / "ablation_scores.json").read_text())
    assert len(abl["rows"]) == 15
    assert (out / "ablation_scores.md").read_text().startswith("| scores |")

    pc_only = d / "eval_pc"
    assert vg4d(["evaluate", "--checkpoint", str(d / "cross" / "last.pt"), "--out", str(pc_only),
                 "--no-progress", "--scores", "pc,pc_text"]) == 0
    m = json.loads((pc_only / "metrics.json").read_text())
    assert set(m["scores"]) == {"pc", "pc_text", "fused"}

    vlm_eval = d / "eval_vlm"
    assert vg4d(["evaluate", "--checkpoint", str(d / "vlm" / "last.pt"), "--out", str(vlm_eval),
                 "--no-progress"]) == 0
    assert set(json.loads((vlm_eval / "metrics.json").read_text())["scores"]) == {"rgb", "rgb_text"}


def test_frozen_vlm_unchanged_by_crossmodal(chain):
    d = chain["dir"]
    assert _sha(d / "vlm" / "last.pt") == chain["vlm_sha"]
    # and the weights the crossmodal run used are those: the cache was made from that very file
    cache = torch.load(d / "cross" / "feature_cache.pt", weights_only=True)
    assert cache["key"]["vlm_checkpoint"] == str((d / "vlm" / "last.pt").resolve())
    after = ck.load_checkpoint(d / "vlm" / "last.pt")["model"]
    for k, v in chain["vlm_before"].items():
        if isinstance(v, torch.Tensor):
            assert torch.equal(v, after[k]), k


def test_cached_features_equal_on_the_fly(chain):
    from vg4d_core.data.factory import build_split
    from vg4d_core.runtime.architecture import build_rgb_model
    from vg4d_core.runtime.predictor import read_checkpoint

    d = chain["dir"]
    cache = torch.load(d / "cross" / "feature_cache.pt", weights_only=True)
    assert cache["video_features"].shape[:2] == (2, len(cache["items"]))  # feature_views=2
    vck = read_checkpoint(d / "vlm" / "last.pt")
    model = build_rgb_model(vck.arch, vck.state["model"]).eval()
    ds = build_split(cache["key"]["data"], "train")
    for view in (0, 1):
        ds.set_epoch(view)
        for row in (0, len(cache["items"]) - 1):
            item = ds[int(cache["items"][row])]
            with torch.no_grad():
                fly = model.encode_video(item["rgb"][None])[0]
            torch.testing.assert_close(cache["video_features"][view, row], fly, rtol=1e-5, atol=1e-6)
    # distinct views: the two epochs sampled different frames
    assert not torch.allclose(cache["video_features"][0], cache["video_features"][1])
    torch.testing.assert_close(cache["text_features"], model.class_text_features())


def test_stale_feature_cache_refused(chain, capsys):
    d = chain["dir"]
    run = d / "stale"
    run.mkdir()
    shutil.copy(d / "cross" / "feature_cache.pt", run / "feature_cache.pt")
    rc = vg4d(["train", "--config", str(chain["recipes"]["crossmodal"]), "--out", str(run), "feature_views=3"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "stale" in err and "views: 2 in checkpoint, 3 now" in err


def test_crossmodal_resume_is_bitwise_identical(chain):
    d = chain["dir"]
    run = d / "resumed"
    run.mkdir()
    # a run killed after epoch 1: its last.pt is epoch 1's checkpoint, the cache is on disk
    shutil.copy(d / "cross" / "epoch_0001.pt", run / "last.pt")
    shutil.copy(d / "cross" / "feature_cache.pt", run / "feature_cache.pt")
    assert vg4d(["train", "--out", str(run), "--resume"]) == 0
    a, b = ck.load_checkpoint(d / "cross" / "last.pt"), ck.load_checkpoint(run / "last.pt")
    assert a["epoch"] == b["epoch"] == 2
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert torch.equal(a["objective"]["logit_scale.log_scale"], b["objective"]["logit_scale.log_scale"])
    assert a["fusion_subsets"] == b["fusion_subsets"]


def test_fusion_weights_ignore_test_labels(chain, monkeypatch):
    import vg4d_core.data.factory as factory

    real = factory.build_split

    def permuted(data, split):
        ds = real(data, split)
        if split == "test":
            ds.labels = list(np.random.default_rng(3).permutation(ds.labels))
        return ds

    monkeypatch.setattr(factory, "build_split", permuted)
    import vg4d_core.training.cli as train_cli
    import vg4d_core.training.stages as stages_module
    monkeypatch.setattr(train_cli, "build_split", permuted)  # imported by name where it is used
    monkeypatch.setattr(stages_module, "build_split", permuted)
    d = chain["dir"]
    run = d / "permuted"
    run.mkdir()
    shutil.copy(d / "cross" / "feature_cache.pt", run / "feature_cache.pt")
    assert vg4d(["train", "--config", str(chain["recipes"]["crossmodal"]), "--out", str(run),
                 "schedule.epochs=2", "ckpt_every=1"]) == 0
    a, b = ck.load_checkpoint(d / "cross" / "last.pt"), ck.load_checkpoint(run / "last.pt")
    assert a["fusion_subsets"] == b["fusion_subsets"]
    assert a["fusion_weights"] == b["fusion_weights"]


def test_d_positive_rejected_in_crossmodal():
    from vg4d_core.config import ConfigError
    from vg4d_core.training.config import load_train_config

    with pytest.raises(ConfigError, match="trained in the `vlm` stage"):
        load_train_config(None, ["stage=crossmodal", "crossmodal_loss.d=0.5"])
    assert load_train_config(None, ["stage=pretrain", "crossmodal_loss.d=0.5"]).crossmodal_loss.d == 0.5


def test_vlm_checkpoint_of_another_backend_refused(chain):
    from vg4d_core.runtime.architecture import build_rgb_model
    from vg4d_core.runtime.checkpoint import CheckpointError
    from vg4d_core.runtime.predictor import read_checkpoint

    vck = read_checkpoint(chain["dir"] / "vlm" / "last.pt")
    # the arch says open_clip, the weights are X-CLIP's
    with pytest.raises(CheckpointError, match="records backend 'open_clip' but its weights are of a 'xclip'"):
        build_rgb_model(dict(vck.arch, backend="open_clip"), vck.state["model"])
    # weights of an open_clip backend loaded into an X-CLIP one
    from vg4d_core.vlm import BackendMismatchError

    model = build_rgb_model(vck.arch, vck.state["model"])
    state = {k[len("vlm.backend."):]: v for k, v in vck.state["model"].items() if k.startswith("vlm.backend.")}
    state["_extra_state"] = dict(state["_extra_state"], backend="open_clip")
    with pytest.raises(BackendMismatchError, match="'open_clip' backend .* loaded into the 'xclip' backend"):
        model.backend.load_state_dict(state)
