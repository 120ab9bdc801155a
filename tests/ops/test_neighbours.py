"""Ball query: all implementations agree index for index, pointnet2 semantics."""
from __future__ import annotations

import pytest
import torch

from vg4d_core.ops import ball_query, ball_query_naive, numba_cpu

FAST_IMPLS = ("numba", "torch")


def _centers(xyz: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Centres: half of them points of the cloud, half random in (and around) its box."""
    g = torch.Generator().manual_seed(seed)
    b, n, _ = xyz.shape
    on = xyz[:, torch.randint(0, n, (max(1, n // 4),), generator=g)]
    lo, hi = xyz.amin(1, keepdim=True), xyz.amax(1, keepdim=True)
    span = (hi - lo).clamp_min(1e-3)
    off = lo - 0.2 * span + 1.4 * span * torch.rand(b, max(1, n // 4), 3, generator=g)
    return torch.cat([on, off], 1)


@pytest.mark.parametrize("name", ["uniform", "gaussian_blobs", "duplicates", "all_identical", "lattice",
                                  "single_point", "large_coords"])
@pytest.mark.parametrize("empty", ["nearest", "zero"])
def test_matches_naive(cases, name, empty):
    xyz = cases[name]
    centers = _centers(xyz)
    scale = float((xyz.amax(1) - xyz.amin(1)).max().clamp_min(1.0))
    # radius 0, small (often empty), the 1/4 lattice step (points exactly on the
    # sphere), moderate, and larger than the cloud
    for radius in (0.0, 0.03 * scale, 0.25, 0.2 * scale, 10.0 * scale):
        # k = 1000 exceeds every neighbourhood and N; a smaller k's answer is
        # its prefix (hits in index order, then the first hit repeated)
        widest = ball_query_naive(xyz, centers, radius, 1000, empty)
        for k in (1, 9, 1000):
            expected = widest[..., :k]
            for impl in FAST_IMPLS:
                got = ball_query(xyz, centers, radius, k, empty, impl=impl)
                assert got.dtype == torch.int64 and got.shape == (*centers.shape[:2], k)
                assert torch.equal(got, expected), f"{impl} != naive on {name}, r={radius}, k={k}, {empty}"


def test_smaller_k_is_a_prefix_in_the_reference(cases):
    xyz = cases["gaussian_blobs"]
    centers = _centers(xyz)
    assert torch.equal(ball_query_naive(xyz, centers, 0.1, 9), ball_query_naive(xyz, centers, 0.1, 50)[..., :9])


def test_first_k_in_index_order_not_nearest():
    xyz = torch.tensor([[[0.9, 0, 0], [0.1, 0, 0], [0.5, 0, 0], [0.0, 0, 0], [5.0, 0, 0]]])
    centers = torch.zeros(1, 1, 3)
    for impl in ("naive",) + FAST_IMPLS:
        # hits in index order are 0, 1, 2, 3 (point 3 is the nearest, not first)
        assert ball_query(xyz, centers, 1.0, 2, impl=impl).tolist() == [[[0, 1]]]
        # fewer hits than k: pad with the first hit
        assert ball_query(xyz, centers, 1.0, 6, impl=impl).tolist() == [[[0, 1, 2, 3, 0, 0]]]


def test_strict_inside_test():
    xyz = torch.tensor([[[0.5, 0, 0], [0.25, 0, 0]]])
    centers = torch.zeros(1, 1, 3)
    for impl in ("naive",) + FAST_IMPLS:
        # point 0 lies exactly on the sphere of radius 0.5: outside (pointnet2's d < r^2)
        assert ball_query(xyz, centers, 0.5, 2, impl=impl).tolist() == [[[1, 1]]]


def test_empty_rows_nearest_or_zero():
    xyz = torch.tensor([[[0.0, 0, 0], [3.0, 0, 0], [2.0, 0, 0], [2.0, 0, 0]]])
    centers = torch.tensor([[[2.2, 0, 0]]])
    for impl in ("naive",) + FAST_IMPLS:
        # nothing within 0.1: the nearest point (2 and 3 tie; the lower index wins)
        assert ball_query(xyz, centers, 0.1, 3, impl=impl).tolist() == [[[2, 2, 2]]]
        assert ball_query(xyz, centers, 0.1, 3, "zero", impl=impl).tolist() == [[[0, 0, 0]]]


def test_radius_zero_is_always_empty():
    xyz = torch.rand(2, 30, 3, generator=torch.Generator().manual_seed(0))
    for impl in ("naive",) + FAST_IMPLS:
        # the centre is a point of the cloud: its nearest point is itself
        got = ball_query(xyz, xyz, 0.0, 4, impl=impl)
        assert torch.equal(got, torch.arange(30).expand(2, 30)[..., None].expand(2, 30, 4))
        assert ball_query(xyz, xyz, 0.0, 4, "zero", impl=impl).eq(0).all()


def test_flattened_clip_batch():
    g = torch.Generator().manual_seed(4)
    frames = torch.rand(6, 300, 3, generator=g)
    centers = torch.rand(6, 50, 3, generator=g)
    flat = ball_query(frames, centers, 0.2, 9)
    for i in range(6):
        assert torch.equal(flat[i:i + 1], ball_query(frames[i:i + 1], centers[i:i + 1], 0.2, 9))


def test_numba_grid_cell_cap():
    """A radius tiny against the cloud's extent would need billions of cells: the
    grid caps its cell count (cells grow past the radius) and stays exact."""
    g = torch.Generator().manual_seed(6)
    xyz = torch.rand(2, 400, 3, generator=g) * 100.0
    xyz[:, 200:] = xyz[:, :200] + 1e-4  # close pairs, so the tiny ball has hits
    centers = xyz[:, ::3].contiguous()
    r2 = float(torch.tensor(2e-4) ** 2)
    got = torch.from_numpy(numba_cpu.ball_query(xyz.numpy(), centers.numpy(), r2, 3, True))
    assert torch.equal(got, ball_query_naive(xyz, centers, 2e-4, 3))
    assert (got[:, :67, 1] != got[:, :67, 0]).any()  # pairs were found


def test_centers_may_differ_in_count_and_precision():
    g = torch.Generator().manual_seed(8)
    xyz = torch.rand(2, 100, 3, generator=g, dtype=torch.float64)
    centers = torch.rand(2, 7, 3, generator=g, dtype=torch.float64)
    got = ball_query(xyz, centers, 0.3, 5)
    assert torch.equal(got, ball_query_naive(xyz.float(), centers.float(), 0.3, 5))
