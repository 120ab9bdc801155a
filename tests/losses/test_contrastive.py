"""Cross-modal losses against values computed by hand on a 3-sample batch.

Batch: N = 3, D = 2, K = 2, labels (0, 1, 1), scale s = 2.
  P (point embeddings) = (1, 0), (0, 1), (0.6, 0.8)
  T (class texts)      = (1, 0), (0, 1)
  V (video features)   = (1, 0), (0, 1), (0, -1)
Each expected value is written out literally and re-derived with plain
``math`` (no torch) so a wrong literal cannot hide a wrong loss.
"""
from __future__ import annotations

import math

import pytest
import torch

from vg4d_core.losses.contrastive import (CrossModalLossConfig, CrossModalObjective, LogitScale,
                                          VideoTextObjective, pc_text_loss, pc_video_loss)

P = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
T = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
V = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
LABELS = torch.tensor([0, 1, 1])
PC_LOGITS = torch.tensor([[2.0, 1.0], [0.0, 0.0], [1.0, 3.0]])
RGB_LOGITS = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])

# s P T^T rows: (2, 0), (0, 2), (1.2, 1.6); targets 0, 1, 1
L_TEXT = 0.2556237582
assert L_TEXT == pytest.approx((2 * math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-0.4))) / 3)
# s P V^T rows: (2, 0, 0), (0, 2, -2), (1.2, 1.6, -1.6); targets 0, 1, 2
L_VIDEO = 1.3732008199
assert L_VIDEO == pytest.approx((math.log(1 + 2 * math.exp(-2)) + math.log(1 + math.exp(-2) + math.exp(-4))
                                 + 1.6 + math.log(math.exp(1.2) + math.exp(1.6) + math.exp(-1.6))) / 3)
L_PC = 0.3777789597
assert L_PC == pytest.approx((math.log(1 + math.exp(-1)) + math.log(2) + math.log(1 + math.exp(-2))) / 3)
L_RGB = 1.1065568519
assert L_RGB == pytest.approx((2 * math.log(1 + math.e) + math.log(2)) / 3)


def _scale(value: float) -> LogitScale:
    ls = LogitScale()
    with torch.no_grad():
        ls.log_scale.fill_(math.log(value))
    return ls


def test_pc_text_and_pc_video_by_hand():
    assert pc_text_loss(P, T, LABELS, 2.0).item() == pytest.approx(L_TEXT, rel=1e-6)
    assert pc_video_loss(P, V, 2.0).item() == pytest.approx(L_VIDEO, rel=1e-6)
    # embeddings are re-normalised: scaling a vector does not change the loss
    assert pc_video_loss(P * 3.0, V, 2.0).item() == pytest.approx(L_VIDEO, rel=1e-6)


def test_final_objective_by_hand():
    obj = CrossModalObjective(a=1.0, b=0.5, c=2.0, d=0.25, text_features=T, logit_scale=_scale(2.0))
    out = obj({"embedding": P, "logits": PC_LOGITS, "rgb_logits": RGB_LOGITS},
              {"video_features": V, "label": LABELS})
    assert set(out) == {"loss", "loss_pc_video", "loss_pc_text", "loss_pc", "loss_rgb"}
    assert out["loss_pc_video"].item() == pytest.approx(L_VIDEO, rel=1e-6)
    assert out["loss_pc_text"].item() == pytest.approx(L_TEXT, rel=1e-6)
    assert out["loss_pc"].item() == pytest.approx(L_PC, rel=1e-6)
    assert out["loss_rgb"].item() == pytest.approx(L_RGB, rel=1e-6)
    total = 1.0 * 1.3732008199 + 0.5 * 0.2556237582 + 2.0 * 0.3777789597 + 0.25 * 1.1065568519  # 2.5344
    assert out["loss"].item() == pytest.approx(total, rel=1e-6)
    assert out["loss"].requires_grad and not out["loss_pc"].requires_grad


def test_zero_weight_terms_are_skipped_and_not_required():
    obj = CrossModalObjective(a=0.0, b=0.0, c=1.0, d=0.0)
    out = obj({"logits": PC_LOGITS}, {"label": LABELS})  # no embedding, video_features, rgb_logits
    assert set(out) == {"loss", "loss_pc"}
    assert out["loss"].item() == pytest.approx(L_PC, rel=1e-6)
    assert obj.logit_scale is None and obj.text_features is None


def test_missing_input_is_named():
    obj = CrossModalObjective(a=0.0, b=0.0, c=1.0, d=1.0)
    with pytest.raises(KeyError, match=r"outputs\['rgb_logits'\] is missing; it is needed for L_rgb"):
        obj({"logits": PC_LOGITS}, {"label": LABELS})
    with pytest.raises(ValueError, match="b > 0 needs text_features"):
        CrossModalObjective(a=1.0, b=1.0, c=0.0, d=0.0)


def test_gradient_reaches_the_logit_scale():
    obj = CrossModalObjective(a=1.0, b=1.0, c=0.0, d=0.0, text_features=T, logit_scale=_scale(2.0))
    obj({"embedding": P}, {"video_features": V, "label": LABELS})["loss"].backward()
    # dL/dlog s = s * mean_i (E_softmax(s z_i)[z_i] - z_i,target), for both terms, by hand
    def dlog(rows, targets, s=2.0):
        acc = 0.0
        for z, y in zip(rows, targets):
            w = [math.exp(s * v) for v in z]
            acc += sum(wi * zi for wi, zi in zip(w, z)) / sum(w) - z[y]
        return s * acc / len(rows)
    expected = dlog([[1, 0], [0, 1], [0.6, 0.8]], [0, 1, 1]) + \
        dlog([[1, 0, 0], [0, 1, -1], [0.6, 0.8, -0.8]], [0, 1, 2])
    assert obj.logit_scale.log_scale.grad.item() == pytest.approx(expected, rel=1e-5)
    assert expected == pytest.approx(0.535192, abs=1e-6)  # > 0: sample 2 matches its video badly


def test_logit_scale_init_and_clamp():
    ls = LogitScale()
    assert ls().item() == pytest.approx(1 / 0.07, rel=1e-6)  # 14.2857
    with torch.no_grad():
        ls.log_scale.fill_(math.log(200.0))
    value = ls()
    value.backward()
    assert value.item() == pytest.approx(100.0, rel=1e-6)
    assert ls.log_scale.grad.item() == 0.0
    assert [p for p in CrossModalObjective(1, 0, 0, 0).parameters()] != []  # the loop optimises it


def test_from_config():
    obj = CrossModalObjective.from_config(CrossModalLossConfig(a=0.0, b=1.0, c=0.0, d=0.0, init_temperature=0.5), T)
    assert obj.logit_scale().item() == pytest.approx(2.0, rel=1e-6)
    out = obj({"embedding": P}, {"label": LABELS})
    assert out["loss"].item() == pytest.approx(L_TEXT, rel=1e-6)


def test_video_text_objective_by_hand():
    obj = VideoTextObjective(video_text=1.0, rgb=0.5)
    out = obj({"video_text_logits": PC_LOGITS, "rgb_logits": RGB_LOGITS}, {"label": LABELS})
    assert out["loss_video_text"].item() == pytest.approx(L_PC, rel=1e-6)
    assert out["loss_rgb"].item() == pytest.approx(L_RGB, rel=1e-6)
    assert out["loss"].item() == pytest.approx(0.3777789597 + 0.5 * 1.1065568519, rel=1e-6)
    only_vt = VideoTextObjective(video_text=1.0, rgb=0.0)({"video_text_logits": PC_LOGITS}, {"label": LABELS})
    assert set(only_vt) == {"loss", "loss_video_text"}


@pytest.mark.parametrize("log_value,cap", [(2.0, 100.0), (5.0, 100.0), (5.0, 50.0), (3.0, 20.0)])
def test_a_stored_log_scale_gives_the_scale_training_used(log_value, cap):
    """Checkpoints (finalize) and the predictor read a stored log-scale with the training clamp, one rule."""
    from vg4d_core.losses.contrastive import LogitScale, logit_scale_value

    module = LogitScale(max_scale=cap)
    with torch.no_grad():
        module.log_scale.fill_(log_value)
    assert logit_scale_value(module.log_scale, cap) == float(module())
    assert logit_scale_value(log_value, cap) <= cap * (1 + 1e-6)
