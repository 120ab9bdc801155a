"""Bad input gets a clear error naming the problem; implementation choice."""
from __future__ import annotations

import pytest
import torch

from vg4d_core import ops
from vg4d_core.ops import ball_query, default_impl, furthest_point_sample, group_points, use_impl
from vg4d_core.ops.dispatch import select_impl

XYZ = torch.rand(2, 10, 3)


@pytest.mark.parametrize("xyz, m, exc, match", [
    (XYZ.numpy(), 3, TypeError, "xyz must be a torch.Tensor"),
    (torch.rand(2, 10), 3, ValueError, r"xyz must have shape \(B, N, 3\)"),
    (torch.rand(2, 10, 2), 3, ValueError, r"xyz must have shape \(B, N, 3\)"),
    (torch.randint(0, 5, (2, 10, 3)), 3, TypeError, "floating-point"),
    (XYZ, 11, ValueError, "m=11 is larger than the number of points N=10"),
    (XYZ, 0, ValueError, "m must be >= 1"),
    (XYZ, 2.0, TypeError, "m must be an int"),
    (XYZ, True, TypeError, "m must be an int"),
    (torch.rand(2, 0, 3), 1, ValueError, "at least one point"),
])
def test_fps_errors(xyz, m, exc, match):
    with pytest.raises(exc, match=match):
        furthest_point_sample(xyz, m)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_coordinates(bad):
    xyz = XYZ.clone()
    xyz[1, 4, 2] = bad
    with pytest.raises(ValueError, match=r"xyz contains NaN or infinite coordinates \(first at index \(1, 4, 2\)\)"):
        furthest_point_sample(xyz, 3)
    with pytest.raises(ValueError, match="xyz contains NaN"):
        ball_query(xyz, XYZ, 0.1, 3)
    with pytest.raises(ValueError, match="centers contains NaN"):
        ball_query(XYZ, xyz, 0.1, 3)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(radius=-0.1), ValueError, "radius must be finite and >= 0"),
    (dict(radius=float("nan")), ValueError, "radius must be finite"),
    (dict(radius="0.1"), TypeError, "radius must be a real number"),
    (dict(k=0), ValueError, "k must be >= 1, got k=0"),
    (dict(k=2.5), TypeError, "k must be an int"),
    (dict(empty="first"), ValueError, "empty must be one of"),
    (dict(centers=torch.rand(3, 4, 3)), ValueError, "centers has batch size 3 but xyz has 2"),
    (dict(centers=torch.rand(2, 4)), ValueError, r"centers must have shape \(B, N, 3\)"),
    (dict(impl="cuda"), ValueError, "impl must be one of"),
])
def test_ball_query_errors(kwargs, exc, match):
    args = dict(xyz=XYZ, centers=XYZ[:, :4], radius=0.2, k=3, empty="nearest")
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        ball_query(**args)


@pytest.mark.parametrize("features, idx, exc, match", [
    (torch.rand(2, 10), torch.zeros(2, 3, 4, dtype=torch.long), ValueError, r"features must have shape \(B, C, N\)"),
    (torch.rand(2, 3, 10), torch.zeros(2, 3, dtype=torch.long), ValueError, r"idx must have shape \(B, M, k\)"),
    (torch.rand(2, 3, 10), torch.zeros(2, 3, 4), TypeError, "idx must be int64 or int32"),
    (torch.rand(2, 3, 10).long(), torch.zeros(2, 3, 4, dtype=torch.long), TypeError, "features must be a floating"),
    (torch.rand(2, 3, 10), torch.zeros(1, 3, 4, dtype=torch.long), ValueError, "idx has batch size 1"),
    (torch.rand(2, 3, 10), torch.full((2, 3, 4), 10), ValueError, r"idx values must lie in \[0, N=10\), got min 10"),
    (torch.rand(2, 3, 10), torch.full((2, 3, 4), -1), ValueError, "got min -1"),
])
def test_group_errors(features, idx, exc, match):
    with pytest.raises(exc, match=match):
        group_points(features, idx)


def test_dispatch_defaults_and_forcing():
    assert default_impl(torch.device("cpu")) == "numba"
    assert default_impl(torch.device("cuda")) == "triton"
    assert default_impl(torch.device("mps")) == "torch"
    assert select_impl(None, torch.device("cpu")) == "numba"
    with use_impl("torch"):
        assert select_impl(None, torch.device("cpu")) == "torch"
        assert select_impl("naive", torch.device("cpu")) == "naive"  # explicit impl= wins
        with use_impl(None):
            assert select_impl(None, torch.device("cpu")) == "numba"
    assert select_impl(None, torch.device("cpu")) == "numba"
    with pytest.raises(ValueError, match="impl must be one of"):
        with use_impl("fast"):
            pass


def test_forced_implementation_is_used(monkeypatch):
    calls = []
    from vg4d_core.ops import sampling

    monkeypatch.setitem(sampling._IMPLS, "torch", lambda xyz, m: calls.append(m) or torch.zeros(2, m, dtype=torch.long))
    with use_impl("torch"):
        ops.furthest_point_sample(XYZ, 4)
    assert calls == [4]


def test_device_mismatch_errors():
    with pytest.raises(ValueError, match="impl='numba' runs on CPU tensors only"):
        select_impl("numba", torch.device("cuda"))
    from vg4d_core.ops import triton_gpu

    if not triton_gpu.INTERPRETED:
        with pytest.raises(ValueError, match="impl='triton' needs CUDA tensors"):
            furthest_point_sample(XYZ, 3, impl="triton")


@pytest.mark.parametrize("impl", ["naive", "numba", "torch"])
def test_empty_batches_and_empty_centre_sets(impl):
    assert furthest_point_sample(torch.rand(0, 10, 3), 4, impl=impl).shape == (0, 4)
    assert ball_query(torch.rand(0, 10, 3), torch.rand(0, 5, 3), 0.2, 3, impl=impl).shape == (0, 5, 3)
    assert ball_query(torch.rand(2, 10, 3), torch.rand(2, 0, 3), 0.2, 3, impl=impl).shape == (2, 0, 3)
    assert group_points(torch.rand(0, 3, 10), torch.zeros(0, 5, 2, dtype=torch.long), impl=impl).shape == (0, 3, 5, 2)
