"""Furthest point sampling: all implementations agree index for index."""
from __future__ import annotations

import pytest
import torch

from vg4d_core.ops import furthest_point_sample, furthest_point_sample_naive, numba_cpu

FAST_IMPLS = ("numba", "torch")


@pytest.mark.parametrize("impl", FAST_IMPLS)
@pytest.mark.parametrize("name", ["uniform", "gaussian_blobs", "duplicates", "all_identical", "lattice",
                                  "single_point", "large_coords"])
def test_matches_naive(cases, name, impl):
    xyz = cases[name]
    n = xyz.shape[1]
    for m in sorted({1, min(2, n), n // 3 or 1, n}):  # m = N included
        expected = furthest_point_sample_naive(xyz, m)
        got = furthest_point_sample(xyz, m, impl=impl)
        assert got.dtype == torch.int64 and got.shape == (xyz.shape[0], m)
        assert torch.equal(got, expected), f"{impl} differs from naive on {name}, m={m}"


def test_reference_semantics():
    # on a line 0, 1, 3, 10 the order is: 0 (first), 10 (far end), then 3
    # (distance 3 to {0, 10}) before 1 (distance 1)
    xyz = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [3, 0, 0], [10, 0, 0]]])
    assert furthest_point_sample_naive(xyz, 4).tolist() == [[0, 3, 2, 1]]


def test_ties_go_to_lowest_index():
    # the corners of a square: after corner 0 the diagonal corner 2 is furthest,
    # then corners 1 and 3 tie (distance 1 to both) and the lower index wins
    xyz = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]])
    for impl in ("naive",) + FAST_IMPLS:
        assert furthest_point_sample(xyz, 4, impl=impl).tolist() == [[0, 2, 1, 3]]


def test_all_identical_repeats_zero():
    xyz = torch.zeros(1, 10, 3)
    assert furthest_point_sample(xyz, 10).tolist() == [[0] * 10]


def test_m_equals_n_is_a_permutation():
    xyz = torch.rand(2, 300, 3, generator=torch.Generator().manual_seed(3))
    idx = furthest_point_sample(xyz, 300)
    for row in idx:
        assert sorted(row.tolist()) == list(range(300))


@pytest.mark.parametrize("leaf_size", [1, 3, 8])
def test_numba_kd_leaves_small_leaves(cases, leaf_size):
    """Tiny leaves stress the k-d pruning (many skipped leaves, deep trees)."""
    for name in ("uniform", "duplicates", "lattice", "gaussian_blobs"):
        xyz = cases[name]
        m = xyz.shape[1] // 2
        got = numba_cpu.furthest_point_sample(xyz.numpy(), m, leaf_size)
        assert torch.equal(torch.from_numpy(got), furthest_point_sample_naive(xyz, m)), name


def test_numba_kd_leaves_partition():
    x, y, z = torch.rand(3, 500, generator=torch.Generator().manual_seed(5)).numpy()
    perm, bounds = numba_cpu._kd_leaves(x, y, z, 16)
    assert sorted(perm.tolist()) == list(range(500))
    assert bounds[0] == 0 and bounds[-1] == 500
    sizes = bounds[1:] - bounds[:-1]
    assert (sizes >= 1).all() and (sizes <= 16).all()


def test_float64_and_half_inputs_computed_in_float32():
    xyz = torch.rand(2, 100, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = furthest_point_sample_naive(xyz.float(), 30)
    assert torch.equal(furthest_point_sample(xyz, 30), expected)
    half = xyz.half()
    assert torch.equal(furthest_point_sample(half, 30), furthest_point_sample_naive(half.float(), 30))


def test_flattened_clip_batch():
    """(B*T, N, 3) frames are independent: the batch result equals per-frame results."""
    clip = torch.rand(2, 5, 200, 3, generator=torch.Generator().manual_seed(2))
    flat = furthest_point_sample(clip.reshape(10, 200, 3), 64)
    for i in range(10):
        assert torch.equal(flat[i:i + 1], furthest_point_sample(clip.reshape(10, 200, 3)[i:i + 1], 64))


def test_requires_grad_input_is_fine():
    xyz = torch.rand(1, 50, 3, requires_grad=True)
    got = furthest_point_sample(xyz, 5)
    assert got.shape == (1, 5) and not got.requires_grad
    assert torch.equal(got, furthest_point_sample_naive(xyz.detach(), 5))
