"""open_clip backend on a tiny saved model (skips where the [clip] extra is absent)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tiny_vlm import OPEN_CLIP_MEAN, OPEN_CLIP_STD, TINY_DIM, TINY_FRAMES, TINY_IMAGE
from vg4d_core.vlm import BackendMismatchError, VLMConfig, build_backend, backend_from_state_dict

TEXTS = ["a video of a person waving.", "a person is clapping.", "jump."]


def test_video_is_mean_of_unit_frame_features_renormalised(tiny_open_clip, pixels):
    with torch.no_grad():
        v = tiny_open_clip.encode_video(pixels)
        frames = tiny_open_clip.model.encode_image(pixels.flatten(0, 1)).view(2, TINY_FRAMES, -1)
    expected = F.normalize(F.normalize(frames, dim=-1).mean(dim=1), dim=-1)
    assert v.shape == (2, TINY_DIM) and v.dtype == torch.float32
    torch.testing.assert_close(v, expected)


def test_text_and_logits_are_plain_scaled_cosine(tiny_open_clip, pixels):
    with torch.no_grad():
        t = tiny_open_clip.encode_text(TEXTS)
        logits = tiny_open_clip.video_text_logits(pixels, TEXTS)
        v = tiny_open_clip.encode_video(pixels)
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(3))
    assert tiny_open_clip.logit_scale.item() == pytest.approx(1 / 0.07, rel=1e-4)  # open_clip's init
    torch.testing.assert_close(logits, tiny_open_clip.logit_scale * v @ t.t())


def test_preprocess_comes_from_the_model_preprocess_cfg(tiny_open_clip):
    spec = tiny_open_clip.preprocess_spec
    assert spec.mean == pytest.approx(tuple(OPEN_CLIP_MEAN)) and spec.std == pytest.approx(tuple(OPEN_CLIP_STD))
    assert spec.crop == (TINY_IMAGE, TINY_IMAGE) and spec.interpolation == "bilinear"
    px = tiny_open_clip.preprocess(torch.full((1, TINY_FRAMES, 40, 40, 3), 102, dtype=torch.uint8))  # 0.4
    torch.testing.assert_close(px[0, 1, :, 3, 3], torch.tensor([(0.4 - 0.1) / 0.3, (0.4 - 0.2) / 0.2, (0.4 - 0.3) / 0.1]))


def test_state_dict_of_one_kind_refuses_the_other(tiny_open_clip, tiny_xclip):
    with pytest.raises(BackendMismatchError, match="'xclip' backend .* loaded into the 'open_clip' backend"):
        tiny_open_clip.load_state_dict(tiny_xclip.state_dict())
    with pytest.raises(BackendMismatchError, match="'open_clip' backend .* loaded into the 'xclip' backend"):
        tiny_xclip.load_state_dict(tiny_open_clip.state_dict())


def test_state_dict_round_trip(tiny_open_clip):
    sd = tiny_open_clip.state_dict()
    assert sd["_extra_state"]["backend"] == "open_clip"
    sd["model.logit_scale"] = sd["model.logit_scale"] + 1.0
    rebuilt = backend_from_state_dict(sd)
    assert rebuilt.kind == "open_clip" and rebuilt.num_frames == TINY_FRAMES
    assert rebuilt.logit_scale.item() == pytest.approx(math.exp(math.log(1 / 0.07) + 1.0), rel=1e-4)


def test_weights_file_needs_arch(tiny_open_clip_dir):
    with pytest.raises(ValueError, match="set `arch`"):
        build_backend(VLMConfig(backend="open_clip", model=str(tiny_open_clip_dir / "open_clip_model.safetensors")))
