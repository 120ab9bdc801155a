"""X-CLIP backend: loading, embeddings, conditioned logits, preprocessing, errors."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tiny_vlm import TINY_DIM, TINY_FRAMES, TINY_IMAGE, XCLIP_MEAN, XCLIP_STD
from vg4d_core.vlm import ModelNotFoundError, TextBank, VLMConfig, build_backend
from vg4d_core.vlm.xclip import xclip_preprocess_spec

TEXTS = ["a video of a person waving.", "a person is clapping.", "jump."]


def test_shapes_and_unit_vectors(tiny_xclip, pixels):
    assert (tiny_xclip.embed_dim, tiny_xclip.num_frames) == (TINY_DIM, TINY_FRAMES)
    with torch.no_grad():
        v = tiny_xclip.encode_video(pixels)
        t = tiny_xclip.encode_text(TEXTS)
    assert v.shape == (2, TINY_DIM) and v.dtype == torch.float32
    assert t.shape == (3, TINY_DIM) and t.dtype == torch.float32
    torch.testing.assert_close(v.norm(dim=-1), torch.ones(2))
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(3))


def test_logit_scale_is_the_models_own_exponentiated(tiny_xclip):
    # XCLIPConfig's logit_scale_init_value is 2.6592 = log(1/0.07)
    assert tiny_xclip.logit_scale.item() == pytest.approx(1 / 0.07, rel=1e-4)
    with torch.no_grad():
        tiny_xclip.model.logit_scale.fill_(math.log(50.0))
    try:
        assert tiny_xclip.logit_scale.item() == pytest.approx(50.0, rel=1e-6)
    finally:
        with torch.no_grad():
            tiny_xclip.model.logit_scale.fill_(2.6592)


def test_video_text_logits_equal_xclip_forward(tiny_xclip, pixels):
    tok = tiny_xclip.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        ref = tiny_xclip.model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"],
                               pixel_values=pixels).logits_per_video
        ours = tiny_xclip.video_text_logits(pixels, TEXTS)
        ours_from_encoding = tiny_xclip.video_text_logits(tiny_xclip.encode_video_outputs(pixels), TEXTS)
        video = tiny_xclip.model.get_video_features(pixel_values=pixels).pooler_output
    assert ours.shape == (2, 3)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours_from_encoding, ref, rtol=1e-5, atol=1e-5)
    # encode_video is get_video_features' embedding, normalised
    torch.testing.assert_close(tiny_xclip.encode_video(pixels).detach(), F.normalize(video, dim=-1))


def test_conditioned_text_differs_from_unconditioned(tiny_xclip, pixels):
    with torch.no_grad():
        conditioned = tiny_xclip.video_text_logits(pixels, TEXTS)
        plain = tiny_xclip.logit_scale * tiny_xclip.encode_video(pixels) @ tiny_xclip.encode_text(TEXTS).t()
    assert (conditioned - plain).abs().max().item() > 1e-3


def test_ensemble_is_mean_of_unit_vectors_renormalised(tiny_xclip):
    bank = TextBank(torch.tensor([[[3.0, 4.0]], [[0.0, 2.0]]]))  # M=2 templates, K=1, D=2
    # units (0.6, 0.8) and (0, 1); mean (0.3, 0.9); norm sqrt(0.9)
    torch.testing.assert_close(bank.features, torch.tensor([[0.3 / math.sqrt(0.9), 0.9 / math.sqrt(0.9)]]))
    prompts = [["a person is waving.", "jump."], ["human action of waving.", "a jump."]]
    with torch.no_grad():
        got = tiny_xclip.encode_class_texts(prompts)
        expected = F.normalize(tiny_xclip.encode_text(prompts[0]) + tiny_xclip.encode_text(prompts[1]), dim=-1)
    assert got.raw.shape == (2, 2, TINY_DIM)
    torch.testing.assert_close(got.features, expected, rtol=1e-5, atol=1e-6)


def test_preprocess_reads_saved_processor_config(tiny_xclip):
    spec = tiny_xclip.preprocess_spec
    assert spec.mean == tuple(XCLIP_MEAN) and spec.std == tuple(XCLIP_STD)
    assert spec.interpolation == "bicubic" and spec.crop == (TINY_IMAGE, TINY_IMAGE)
    frames = torch.full((1, TINY_FRAMES, 48, 64, 3), 51, dtype=torch.uint8)  # 51/255 = 0.2
    px = tiny_xclip.preprocess(frames)
    assert px.shape == (1, TINY_FRAMES, 3, TINY_IMAGE, TINY_IMAGE)
    expected = torch.tensor([(0.2 - 0.25) / 0.2, (0.2 - 0.5) / 0.4, (0.2 - 0.75) / 0.5])
    torch.testing.assert_close(px[0, 0, :, 5, 7], expected)


def test_preprocess_fallback_is_videomae_processor_default():
    spec = xclip_preprocess_spec(None, 224)
    assert (spec.size, spec.crop, spec.mean, spec.std) == (224, (224, 224), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert (spec.interpolation, spec.resize_mode) == ("bilinear", "shortest")


def test_wrong_frame_count_and_pixel_shape_are_named(tiny_xclip):
    with pytest.raises(ValueError, match="expected T=4 frames, got 3"):
        tiny_xclip.encode_video(torch.zeros(1, 3, 3, TINY_IMAGE, TINY_IMAGE))
    with pytest.raises(ValueError, match=r"pixels must be \(B, T, 3, 32, 32\)"):
        tiny_xclip.encode_video(torch.zeros(1, 4, 3, 16, 16))


def test_config_num_frames_must_match_checkpoint(tiny_xclip_dir):
    with pytest.raises(ValueError, match="num_frames=8 but the checkpoint .* is built for 4"):
        build_backend(VLMConfig(backend="xclip", model=str(tiny_xclip_dir), num_frames=8))


def test_missing_model_error_names_id_places_and_command(tmp_path):
    cache = tmp_path / "empty_cache"
    cache.mkdir()
    with pytest.raises(ModelNotFoundError) as info:
        build_backend(VLMConfig(backend="xclip", model="microsoft/xclip-base-patch16-kinetics-600",
                                cache_dir=str(cache)))
    msg = str(info.value)
    assert "'microsoft/xclip-base-patch16-kinetics-600'" in msg
    assert str(cache) in msg
    assert "hf download microsoft/xclip-base-patch16-kinetics-600" in msg


def test_state_dict_round_trip_carries_kind_and_config(tiny_xclip, tiny_xclip_dir):
    from vg4d_core.vlm import backend_from_state_dict

    sd = tiny_xclip.state_dict()
    assert sd["_extra_state"]["backend"] == "xclip"
    assert sd["_extra_state"]["config"]["model"] == str(tiny_xclip_dir)
    sd = {k: (v + 1.0 if k == "model.logit_scale" else v) for k, v in sd.items()}
    rebuilt = backend_from_state_dict(sd)
    assert rebuilt.logit_scale.item() == pytest.approx(math.exp(2.6592 + 1.0), rel=1e-4)
