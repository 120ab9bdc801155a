"""Vectorised frame preprocessing: resize geometry, crop position, normalisation."""
from __future__ import annotations

import pytest
import torch

from vg4d_core.vlm import PreprocessSpec, preprocess_frames

IDENTITY = dict(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def test_normalisation_without_resize():
    frames = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 1, 1, 1, 3).expand(1, 1, 2, 2, 3).contiguous()
    spec = PreprocessSpec(size=2, crop=(2, 2), mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 0.5))
    out = preprocess_frames(frames, spec)
    assert out.shape == (1, 1, 3, 2, 2) and out.dtype == torch.float32
    # (0 - .5)/.5 = -1; (0.2 - .5)/.25 = -1.2; (1 - .5)/.5 = 1
    torch.testing.assert_close(out[0, 0, :, 1, 0], torch.tensor([-1.0, -1.2, 1.0]))


def test_centre_crop_takes_the_middle_columns():
    cols = torch.arange(6, dtype=torch.uint8) * 10  # column value = 10 * x
    frames = cols.view(1, 1, 1, 6, 1).expand(1, 1, 4, 6, 3).contiguous()
    out = preprocess_frames(frames, PreprocessSpec(size=4, crop=(4, 4), **IDENTITY))
    torch.testing.assert_close(out[0, 0, 0, 0] * 255, torch.tensor([10.0, 20.0, 30.0, 40.0]))


def test_shortest_edge_resize_keeps_constant_frames_constant():
    frames = torch.full((2, 3, 240, 320, 3), 100, dtype=torch.uint8)
    out = preprocess_frames(frames, PreprocessSpec(size=32, crop=(32, 32), interpolation="bicubic", **IDENTITY))
    assert out.shape == (2, 3, 3, 32, 32)
    torch.testing.assert_close(out, torch.full_like(out, 100 / 255))


def test_bad_input_is_named():
    spec = PreprocessSpec(size=4, crop=(4, 4), **IDENTITY)
    with pytest.raises(ValueError, match="uint8"):
        preprocess_frames(torch.zeros(1, 1, 4, 4, 3), spec)
    with pytest.raises(ValueError, match=r"\(B, T, H, W, 3\)"):
        preprocess_frames(torch.zeros(1, 4, 4, 3, dtype=torch.uint8), spec)
    with pytest.raises(ValueError, match="std must be positive"):
        PreprocessSpec(size=4, crop=(4, 4), mean=(0, 0, 0), std=(1, 0, 1))


def test_matches_the_xclip_image_processor():
    # transformers 5 image processors run on torchvision; skip where it is absent
    pytest.importorskip("torchvision", reason="transformers' image processors need torchvision")
    from transformers import VideoMAEImageProcessor

    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (1, 4, 48, 64, 3), dtype=torch.uint8, generator=g)
    proc = VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                                  image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    ref = proc([list(frames[0].numpy())], return_tensors="pt")["pixel_values"]
    ours = preprocess_frames(frames, PreprocessSpec(size=32, crop=(32, 32), mean=(0.5,) * 3, std=(0.5,) * 3))
    assert ours.shape == ref.shape == (1, 4, 3, 32, 32)
    # the processor rounds the resized frame to uint8: one grey level, / std 0.5
    assert (ours - ref).abs().max().item() <= 1.0 / 255 / 0.5 + 1e-6
