"""Tiny random-initialised X-CLIP and open_clip models saved to disk.

They are written exactly as a user's download is laid out (a
``save_pretrained`` folder; an ``open_clip_config.json`` + weights folder)
and loaded back through the same :func:`vg4d_core.vlm.build_backend` code.
Nothing is downloaded: the X-CLIP tokenizer is built from a 56-token
character vocabulary, open_clip's tokenizer ships its vocabulary.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from vg4d_core.vlm.tiny import char_tokenizer  # the same tokenizer the demo's tiny X-CLIP uses
from tiny_vlm import OPEN_CLIP_MEAN, OPEN_CLIP_STD, TINY_DIM, TINY_FRAMES, TINY_IMAGE, XCLIP_MEAN, XCLIP_STD


@pytest.fixture(scope="session")
def tiny_xclip_dir(tmp_path_factory) -> Path:
    from transformers import XCLIPConfig, XCLIPModel

    folder = tmp_path_factory.mktemp("tiny_xclip")
    torch.manual_seed(0)
    cfg = XCLIPConfig(
        text_config=dict(vocab_size=56, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=64),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=TINY_IMAGE, patch_size=16, num_frames=TINY_FRAMES,
                           # the MIT works in the projection space: mit_hidden_size == projection_dim
                           mit_hidden_size=TINY_DIM, mit_intermediate_size=32, mit_num_hidden_layers=1,
                           mit_num_attention_heads=2),
        projection_dim=TINY_DIM, prompt_layers=1, prompt_num_attention_heads=2,
    )
    model = XCLIPModel(cfg).eval()
    # random init leaves the prompt generator's alpha at 0.1; make conditioning clearly visible
    with torch.no_grad():
        model.prompts_generator.alpha.fill_(1.0)
    model.save_pretrained(folder)
    char_tokenizer(folder).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "VideoMAEImageProcessor", "size": {"shortest_edge": TINY_IMAGE},
        "crop_size": {"height": TINY_IMAGE, "width": TINY_IMAGE}, "do_center_crop": True,
        "image_mean": XCLIP_MEAN, "image_std": XCLIP_STD, "resample": 3,
    }), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_xclip(tiny_xclip_dir):
    from vg4d_core.vlm import VLMConfig, build_backend

    return build_backend(VLMConfig(backend="xclip", model=str(tiny_xclip_dir)))


@pytest.fixture(scope="session")
def tiny_open_clip_dir(tmp_path_factory) -> Path:
    open_clip = pytest.importorskip("open_clip", reason="open_clip_torch (the [clip] extra) is not installed")
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("tiny_open_clip")
    model_cfg = {
        "embed_dim": TINY_DIM,
        "vision_cfg": {"image_size": TINY_IMAGE, "layers": 2, "width": 32, "head_width": 16, "patch_size": 16},
        # open_clip's bundled BPE vocabulary has 49408 tokens
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
    }
    preprocess_cfg = {"mean": OPEN_CLIP_MEAN, "std": OPEN_CLIP_STD, "interpolation": "bilinear",
                      "resize_mode": "shortest"}
    torch.manual_seed(0)
    model = open_clip.CLIP(**model_cfg)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": model_cfg,
                                                              "preprocess_cfg": preprocess_cfg}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    return folder


@pytest.fixture(scope="session")
def tiny_open_clip(tiny_open_clip_dir):
    from vg4d_core.vlm import VLMConfig, build_backend

    return build_backend(VLMConfig(backend="open_clip", model=str(tiny_open_clip_dir), num_frames=TINY_FRAMES))


@pytest.fixture
def pixels():
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, TINY_FRAMES, 3, TINY_IMAGE, TINY_IMAGE, generator=g)
