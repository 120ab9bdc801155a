"""Fused BatchNorm + ReLU + max over neighbours against the unfused PyTorch chain."""
from __future__ import annotations

import copy

import pytest
import torch

from vg4d_core.models.bn_relu_max import bn_relu_max


def _bn(c: int, seed: int) -> torch.nn.BatchNorm1d:
    gen = torch.Generator().manual_seed(seed)
    bn = torch.nn.BatchNorm1d(c)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(c, generator=gen))  # about half the scales negative: min branch
        bn.bias.copy_(torch.randn(c, generator=gen) * 0.5)
        bn.running_mean.copy_(torch.randn(c, generator=gen))
        bn.running_var.copy_(torch.rand(c, generator=gen) + 0.3)
    return bn


def _unfused(h: torch.Tensor, bn: torch.nn.BatchNorm1d) -> torch.Tensor:
    p, k, c = h.shape
    return torch.relu(bn(h.reshape(p * k, c))).reshape(p, k, c).max(dim=1).values


@pytest.mark.parametrize("training", [True, False])
def test_forward_backward_and_running_stats_match_unfused(training):
    gen = torch.Generator().manual_seed(0)
    h = (torch.randn(50, 7, 6, generator=gen) * 2 + 1).double()
    g = torch.randn(50, 6, generator=gen).double()
    bn_ref = _bn(6, 1).double()
    bn = copy.deepcopy(bn_ref)
    assert (bn.weight < 0).any() and (bn.weight > 0).any()
    bn.train(training), bn_ref.train(training)

    h_ref = h.clone().requires_grad_(True)
    out_ref = _unfused(h_ref, bn_ref)
    (out_ref * g).sum().backward()
    h_new = h.clone().requires_grad_(True)
    out = bn_relu_max(h_new, bn)
    (out * g).sum().backward()

    torch.testing.assert_close(out, out_ref)
    assert (out > 0).any() and (out == 0).any()  # both sides of the ReLU are exercised
    torch.testing.assert_close(h_new.grad, h_ref.grad)
    torch.testing.assert_close(bn.weight.grad, bn_ref.weight.grad)
    torch.testing.assert_close(bn.bias.grad, bn_ref.bias.grad)
    torch.testing.assert_close(bn.running_mean, bn_ref.running_mean)
    torch.testing.assert_close(bn.running_var, bn_ref.running_var)
    assert int(bn.num_batches_tracked) == int(bn_ref.num_batches_tracked)


def test_gradcheck_batch_statistics():
    gen = torch.Generator().manual_seed(2)
    h = torch.randn(6, 4, 3, generator=gen, dtype=torch.double, requires_grad=True)
    bn = _bn(3, 3).double()
    bn.track_running_stats = False  # keep the check free of buffer updates
    bn.running_mean = bn.running_var = None
    w = bn.weight
    assert torch.autograd.gradcheck(lambda x, weight: bn_relu_max(x, bn) * weight.sum(), (h, w))


def test_float32_close_to_unfused():
    gen = torch.Generator().manual_seed(4)
    h = torch.randn(300, 9, 16, generator=gen) * 3 + 2
    bn_ref = _bn(16, 5)
    bn = copy.deepcopy(bn_ref)
    torch.testing.assert_close(bn_relu_max(h, bn), _unfused(h, bn_ref), rtol=1e-5, atol=1e-5)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"h must have shape \(P, k, 4\)"):
        bn_relu_max(torch.zeros(3, 4), torch.nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match="needs an affine BatchNorm"):
        bn_relu_max(torch.zeros(3, 2, 4), torch.nn.BatchNorm1d(4, affine=False))
    with pytest.raises(ValueError, match="more than one value per channel"):
        bn_relu_max(torch.zeros(1, 1, 4), torch.nn.BatchNorm1d(4))


@pytest.mark.parametrize("training", [True, False])
def test_no_grad_path_matches_autograd_path(training):
    gen = torch.Generator().manual_seed(6)
    h = torch.randn(40, 5, 8, generator=gen, dtype=torch.double)
    bn_a, bn_b = _bn(8, 7).double(), _bn(8, 7).double()
    bn_a.train(training), bn_b.train(training)
    with torch.no_grad():
        fast = bn_relu_max(h, bn_a)
    slow = bn_relu_max(h.clone().requires_grad_(True), bn_b)
    torch.testing.assert_close(fast, slow.detach())
    torch.testing.assert_close(bn_a.running_var, bn_b.running_var)
