"""VLMClassifier: outputs, what trains when the backend is locked."""
from __future__ import annotations

import pytest
import torch

from tiny_vlm import TINY_DIM
from vg4d_core.vlm import VLMClassifier, VLMConfig, build_backend, class_prompts

NAMES = ["waving", "clapping", "jumping"]


@pytest.fixture
def classifier(tiny_xclip_dir):
    backend = build_backend(VLMConfig(backend="xclip", model=str(tiny_xclip_dir)))
    with torch.no_grad():
        bank = backend.encode_class_texts(class_prompts(NAMES, ["a person {}.", "{}"]))
    return VLMClassifier(backend, num_classes=3, class_texts=bank)


def test_outputs(classifier, pixels):
    out = classifier(pixels)
    assert out["video_embedding"].shape == (2, TINY_DIM)
    assert out["rgb_logits"].shape == (2, 3) and out["video_text_logits"].shape == (2, 3)
    with torch.no_grad():
        direct = classifier(pixels, ["a person waving.", "a person clapping.", "a person jumping."])
    assert direct["video_text_logits"].shape == (2, 3)


def test_locked_backend_gets_no_gradient_and_does_not_change(classifier, pixels):
    classifier.lock(backend=True).train()
    assert not classifier.backend.training and classifier.head.training
    trainable = classifier.trainable_parameters()
    head = [classifier.head.weight, classifier.head.bias, classifier.head_norm.weight, classifier.head_norm.bias]
    assert {id(p) for p in trainable} == {id(p) for p in head}  # the RGB head (norm + linear) only
    before = {k: v.clone() for k, v in classifier.backend.state_dict().items() if torch.is_tensor(v)}
    head_before = classifier.head.weight.detach().clone()
    opt = torch.optim.SGD(trainable, lr=1.0)
    out = classifier(pixels)
    loss = torch.nn.functional.cross_entropy(out["rgb_logits"], torch.tensor([0, 2]))
    loss.backward()
    opt.step()
    assert all(p.grad is None for p in classifier.backend.parameters())
    for k, v in classifier.backend.state_dict().items():
        if torch.is_tensor(v):
            assert torch.equal(v, before[k]), k
    assert not torch.equal(classifier.head.weight, head_before)


def test_unlocked_backend_trains(classifier, pixels):
    classifier.lock(backend=False).train()
    assert classifier.backend.training
    out = classifier(pixels)
    (out["video_text_logits"].sum() + out["rgb_logits"].sum()).backward()
    assert classifier.backend.model.visual_projection.weight.grad is not None
    assert classifier.backend.model.prompts_generator.alpha.grad is not None


def test_class_count_mismatch_is_named(classifier, pixels):
    with pytest.raises(ValueError, match="2 class texts for 3 classes"):
        classifier(pixels, ["a.", "b."])
