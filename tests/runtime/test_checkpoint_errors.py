"""Files that are not usable checkpoints: each refusal says what the file is and what to do.

No message ever passes on torch's advice to load with ``weights_only=False``
(that would run whatever code a file holds).
"""
from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
import torch

from vg4d_core.runtime.checkpoint import FORMAT, CheckpointError, atomic_save, load_checkpoint
from vg4d_core.runtime.predictor import predictor_from_checkpoint

CLASSES = ["wave", "bow", "sit", "stand"]
# the smallest im-PSTNet the architecture builder takes: 2 frames x 16 points, one cheap stage
TINY = {"frames": 2, "points": 16, "radius": 0.1, "dropout": 0.0,
        "layers": [{"mid_channels": 4, "out_channels": 8, "radius_scale": 1, "temporal_kernel": 1,
                    "spatial_stride": 2}]}


def _refusal(path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    text = str(info.value)
    assert str(path) in text and "weights_only" not in text, text
    return text


def _good_state() -> dict:
    return {"format": FORMAT, "arch": {}, "model": {"w": torch.zeros(4)}, "epoch": 1}


def test_an_empty_file(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    text = _refusal(tmp_path / "empty.pt")
    assert "is empty (0 bytes)" in text and "copy the checkpoint again" in text


def test_a_text_file_renamed(tmp_path):
    (tmp_path / "notes.pt").write_text("epoch 3: loss 0.41\nsee run.log\n")
    text = _refusal(tmp_path / "notes.pt")
    assert "is a text file, not a checkpoint (it begins 'epoch 3: loss 0.41')" in text
    assert "pass the last.pt or best.pt a `vg4d train` run wrote" in text


def test_bytes_that_are_not_a_torch_file(tmp_path):
    (tmp_path / "image.pt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert "is not a torch checkpoint (not a zip archive; it begins with bytes 89 50 4e 47" in _refusal(
        tmp_path / "image.pt")


def test_a_zip_that_is_not_a_torch_file(tmp_path):
    with zipfile.ZipFile(tmp_path / "bundle.pt", "w") as archive:
        archive.writestr("readme.txt", "x")
    assert "is a zip archive but not a torch.save file (it holds ['readme.txt'])" in _refusal(tmp_path / "bundle.pt")


def test_a_truncated_checkpoint(tmp_path):
    whole = atomic_save(_good_state(), tmp_path / "whole.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(whole[: len(whole) // 2])
    text = _refusal(tmp_path / "cut.pt")
    assert "is a damaged or truncated checkpoint" in text and "copy the checkpoint again" in text


@pytest.mark.parametrize("obj, what", [
    ({"conv.weight": torch.zeros(2), "conv.bias": torch.zeros(2)}, "a bare state dict of 2 tensor(s)"),
    ({"state_dict": {}, "epoch": 3}, "a dict with keys ['epoch', 'state_dict'] and no vg4d 'format' entry"),
    ([torch.zeros(2)], "it holds a list, not a dict"),
    ({"format": FORMAT + 1}, f"it records format {FORMAT + 1}, this vg4d reads format {FORMAT}"),
], ids=["state_dict", "foreign_dict", "list", "newer_format"])
def test_another_programs_checkpoint(tmp_path, obj, what):
    torch.save(obj, tmp_path / "foreign.pt")
    text = _refusal(tmp_path / "foreign.pt")
    assert "is not a vg4d training checkpoint" in text and what in text


@pytest.mark.parametrize("obj", [torch.nn.Linear(2, 2), {"weights": np.zeros(3)}], ids=["module", "numpy"])
def test_python_objects_are_refused_without_torchs_advice(tmp_path, obj):
    torch.save(obj, tmp_path / "pickled.pt")
    text = _refusal(tmp_path / "pickled.pt")
    assert "holds Python objects other than tensors and plain containers" in text
    assert "add_safe_globals" not in text  # torch's way around the safety check is not passed on either


def test_a_plain_pickle(tmp_path):
    (tmp_path / "plain.pt").write_bytes(pickle.dumps({"a": 1}, protocol=4))
    assert "cannot read checkpoint" in _refusal(tmp_path / "plain.pt")


def test_an_incomplete_vg4d_checkpoint(tmp_path):
    atomic_save({"format": FORMAT, "model": {}}, tmp_path / "partial.pt")
    assert "checkpoint has no 'arch' entry" in _refusal(tmp_path / "partial.pt")


def _crossmodal(tmp_path, vlm_checkpoint) -> str:
    """A crossmodal-stage checkpoint (class-text features + logit scale) recording ``vlm_checkpoint``."""
    from vg4d_core.config import to_dict
    from vg4d_core.models import load_model_config
    from vg4d_core.runtime.architecture import build_point_encoder, point_encoder_arch

    cfg = to_dict(load_model_config("lite"))
    cfg.update(TINY)
    arch = point_encoder_arch(cfg, len(CLASSES), 8)
    state = {"format": FORMAT, "arch": arch, "model": build_point_encoder(arch).state_dict(), "epoch": 1,
             "class_names": CLASSES, "class_text_features": torch.nn.functional.normalize(torch.randn(4, 8), dim=1),
             "logit_scale": 10.0, "vlm_checkpoint": str(vlm_checkpoint)}
    return str(atomic_save(state, tmp_path / "cross.pt"))


def test_crossmodal_without_its_vlm_checkpoint_names_where_it_looked(tmp_path):
    missing = tmp_path / "vlm" / "last.pt"
    cross = _crossmodal(tmp_path, missing)
    predictor, _ = predictor_from_checkpoint(cross, device="cpu")  # all available: point-cloud scores only
    assert predictor.score_names == ("pc", "pc_text")
    with pytest.raises(CheckpointError) as info:
        predictor_from_checkpoint(cross, device="cpu", scores=["pc", "rgb"])
    text = str(info.value)
    assert f"VLM checkpoint not found: {missing} (recorded by {cross})" in text
    assert "ask for the point-cloud scores only" in text


def test_crossmodal_whose_vlm_pretrained_files_are_missing_names_the_path(tmp_path):
    gone = tmp_path / "xclip_gone"
    vlm_state = {"vlm.backend._extra_state": {"backend": "xclip", "config": {"backend": "xclip", "model": str(gone)}}}
    vlm = atomic_save({"format": FORMAT, "arch": {"model": "VLMClassifier", "backend": "xclip", "num_classes": 4},
                       "model": vlm_state, "epoch": 1, "class_names": CLASSES}, tmp_path / "vlm.pt")
    cross = _crossmodal(tmp_path, vlm)
    with pytest.raises(CheckpointError) as info:
        predictor_from_checkpoint(cross, device="cpu", scores=["rgb"])
    text = str(info.value)
    assert f"{cross}: its VLM checkpoint {vlm}" in text
    assert "pretrained files are missing" in text and str(gone) in text
