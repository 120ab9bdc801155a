"""Grouping: the one gather (pointnet2 layout and channels-last) against the naive reference."""
from __future__ import annotations

import pytest
import torch

from vg4d_core.ops import gather_rows, group_points, group_points_naive

# every implementation name except "naive" runs the one gather
FAST_IMPLS = ("numba", "torch")


def _inputs(b=2, c=4, n=30, m=11, k=5, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(b, c, n, generator=g, dtype=dtype, requires_grad=True)
    idx = torch.randint(0, n, (b, m, k), generator=g)
    idx[:, 0, :] = 3  # one point grouped many times: its gradient accumulates
    return features, idx


@pytest.mark.parametrize("impl", ("naive",) + FAST_IMPLS)
def test_forward_is_a_gather(impl):
    features, idx = _inputs()
    out = group_points(features, idx, impl=impl)
    assert out.shape == (2, 4, 11, 5) and out.dtype == features.dtype
    for b in range(2):
        for i in range(11):
            for s in range(5):
                assert torch.equal(out[b, :, i, s], features[b, :, idx[b, i, s]])


@pytest.mark.parametrize("impl", ("naive",) + FAST_IMPLS)
def test_gradcheck(impl):
    features, idx = _inputs(c=2, n=9, m=3, k=4)
    assert torch.autograd.gradcheck(lambda f: group_points(f, idx, impl=impl), (features,))


@pytest.mark.parametrize("impl", FAST_IMPLS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_naive_forward_and_backward(impl, dtype):
    features, idx = _inputs(b=3, c=7, n=200, m=64, k=9, dtype=dtype, seed=1)
    grad = torch.randn(3, 7, 64, 9, dtype=dtype, generator=torch.Generator().manual_seed(2))
    ref = group_points_naive(features, idx)
    (ref_grad,) = torch.autograd.grad(ref, features, grad)
    out = group_points(features, idx, impl=impl)
    (out_grad,) = torch.autograd.grad(out, features, grad)
    assert torch.equal(out, ref)
    # sums of the same terms, possibly in another order
    torch.testing.assert_close(out_grad, ref_grad, rtol=1e-6, atol=1e-6)


def test_backward_is_exact_on_integers():
    features, idx = _inputs(b=2, c=3, n=50, m=40, k=9, dtype=torch.float32)
    grad = torch.randint(-4, 5, (2, 3, 40, 9)).float()  # integer sums are exact in any order
    (g1,) = torch.autograd.grad(group_points(features, idx), features, grad)
    (g2,) = torch.autograd.grad(group_points_naive(features, idx), features, grad)
    assert torch.equal(g1, g2)


def test_half_precision_gather_keeps_dtype():
    features, idx = _inputs(dtype=torch.float32)
    half = features.detach().half().requires_grad_()
    out = group_points(half, idx)
    assert out.dtype == torch.float16
    assert torch.equal(out, group_points_naive(half, idx))
    out.sum().backward()
    assert half.grad is not None and half.grad.dtype == torch.float16


def test_gather_rows_is_the_channels_last_gather():
    table = torch.arange(20.0).reshape(5, 4).requires_grad_()
    rows = torch.tensor([[0, 4], [4, 4], [2, 1]])
    out = gather_rows(table, rows)
    assert out.shape == (3, 2, 4)
    assert out[1, 0].tolist() == [16.0, 17.0, 18.0, 19.0] and out[2, 1].tolist() == [4.0, 5.0, 6.0, 7.0]
    out.sum().backward()
    # row 4 is gathered three times, row 3 never
    assert table.grad[:, 0].tolist() == [1.0, 1.0, 1.0, 0.0, 3.0]


def test_int32_indices_and_empty_shapes():
    features, idx = _inputs(dtype=torch.float32)
    assert torch.equal(group_points(features, idx.int()), group_points(features, idx))
    empty = torch.zeros(2, 0, 5, dtype=torch.long)
    for impl in ("naive",) + FAST_IMPLS:
        assert group_points(features, empty, impl=impl).shape == (2, 4, 0, 5)
    no_channels = torch.zeros(2, 0, 30)
    assert group_points(no_channels, idx).shape == (2, 0, 11, 5)


def test_grouping_displacements_from_ball_query():
    """The way PSTConv uses it: group xyz as (B, 3, N) features around anchors."""
    from vg4d_core.ops import ball_query, furthest_point_sample

    xyz = torch.rand(4, 256, 3, generator=torch.Generator().manual_seed(7))
    anchors_idx = furthest_point_sample(xyz, 64)
    anchors = torch.gather(xyz, 1, anchors_idx[..., None].expand(-1, -1, 3))
    idx = ball_query(xyz, anchors, 0.2, 9)
    grouped = group_points(xyz.transpose(1, 2).contiguous(), idx)  # (B, 3, 64, 9)
    disp = grouped - anchors.transpose(1, 2)[..., None]
    assert (disp.square().sum(1) < 0.2 ** 2 + 1e-6).all()
