"""Person candidates from one frame's foreground, on synthetic scenes (metres, camera optical frame:
x right, y down, z forward; the floor 1.2 m below the camera)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vg4d_ros.pipeline import people as people_module
from vg4d_ros.pipeline.people import (METHODS, PeopleSettings, horizontal_basis, label_components,
                                      label_components_naive, split_instance_mask, split_people, split_tops,
                                      split_wide)


def body(rng, x, z, n=900, height=1.7, width=0.5, depth=0.3, feet_y=1.2):
    """(n, 3) float32 points filling an upright elliptic cylinder: feet at y = feet_y, centre (x, z)."""
    r = np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * np.pi
    return np.stack([x + 0.5 * width * r * np.cos(a), feet_y - height * rng.random(n),
                     z + 0.5 * depth * r * np.sin(a)], axis=1).astype(np.float32)


def slab(rng, lo, hi, n):
    """(n, 3) float32 points uniform in the box [lo, hi]."""
    return (np.asarray(lo) + rng.random((n, 3)) * (np.asarray(hi) - np.asarray(lo))).astype(np.float32)


def partition(cands):
    return {frozenset(c.indices.tolist()) for c in cands}


def test_settings_validation():
    for bad in (dict(voxel_m=0), dict(voxel_m=float("inf")), dict(min_points=0), dict(min_points=1.5),
                dict(min_points=True), dict(min_height_m=-0.1), dict(max_height_m=0.4),
                dict(max_height_m=float("inf")), dict(max_width_m=0), dict(max_width_m=float("nan")),
                dict(up=(0, 0, 0)), dict(up=(0, 1)), dict(up=(0, float("nan"), 1)), dict(up="up"),
                dict(connectivity=8), dict(connectivity=True), dict(attach_m=-0.1), dict(attach_m=float("inf"))):
        field = next(iter(bad))
        with pytest.raises(ValueError, match=f"PeopleSettings.{field}"):
            PeopleSettings(**bad)
    s = PeopleSettings(up=[0, 2, 0], max_width_m=math.inf, connectivity=6)
    assert s.up == (0.0, 2.0, 0.0) and hash(s)


def test_two_separated_people_are_two_candidates():
    rng = np.random.default_rng(0)
    a, b = body(rng, 0.8, 3.0), body(rng, -0.7, 2.5, height=1.2)  # b is sitting / a child
    pts = np.concatenate([a, b])
    cands = split_people(pts)
    assert len(cands) == 2
    left, right = cands  # sorted by centroid x
    assert set(left.indices.tolist()) == set(range(900, 1800)) and set(right.indices.tolist()) == set(range(900))
    np.testing.assert_allclose(right.centroid, [0.8, 1.2 - 0.85, 3.0], atol=0.05)
    np.testing.assert_allclose([right.height_m, right.width_m, left.height_m], [1.7, 0.5, 1.2], atol=0.05)
    assert right.num_points == 900 and right.indices.dtype == np.int64 and right.centroid.dtype == np.float64
    np.testing.assert_array_equal(right.box_min, a.min(axis=0).astype(np.float64))
    np.testing.assert_array_equal(right.box_max, a.max(axis=0).astype(np.float64))
    with pytest.raises(ValueError):
        right.indices[0] = 5  # frozen: the arrays too


def test_order_is_by_centroid_x_then_z():
    rng = np.random.default_rng(1)
    near = body(rng, 0.0, 2.2)
    far = near + np.float32([0.0, 0.0, 1.3])  # the same x to the last bit: z decides
    pts = np.concatenate([far, body(rng, 1.0, 2.0), near, body(rng, -0.9, 4.0)])
    cands = split_people(pts)
    assert cands[1].centroid[0] == cands[2].centroid[0]
    assert [(round(c.centroid[0], 1), round(c.centroid[2], 1)) for c in cands] == [(-0.9, 4.0), (0, 2.2), (0, 3.5),
                                                                                   (1, 2.0)]


def test_noise_small_blobs_flat_and_tall_things_are_rejected():
    rng = np.random.default_rng(2)
    person = body(rng, 0.0, 3.0)
    specks = slab(rng, (-2, -1, 1.0), (2, 1.2, 1.7), 60)  # isolated noise points, nearer than everything
    small = slab(rng, (1.5, 0.3, 2.0), (1.6, 1.0, 2.1), 50)  # tall enough, but too few points
    table = slab(rng, (-2.2, 0.45, 2.0), (-1.2, 0.48, 2.6), 400)  # a table top: 3 cm tall
    pillar = slab(rng, (1.5, -1.3, 4.0), (1.7, 1.2, 4.2), 600)  # 2.5 m tall
    pts = np.concatenate([specks, person, small, table, pillar])
    cands = split_people(pts)
    assert partition(cands) == {frozenset(range(60, 960))}
    # the limits are the settings': a lower min_points keeps the small blob, a taller limit the pillar,
    # no height limit the table
    for settings, rows in ((PeopleSettings(min_points=30), range(960, 1010)),
                           (PeopleSettings(max_height_m=2.6), range(1410, 2010)),
                           (PeopleSettings(min_height_m=0.0), range(1010, 1410))):
        # (a noise speck may touch the blob)
        assert any(set(rows) <= c and len(c) <= len(rows) + 3 for c in partition(split_people(pts, settings)))


def test_empty_and_invalid_points():
    assert split_people(np.zeros((0, 3), np.float32)) == []
    rng = np.random.default_rng(3)
    pts = body(rng, 0.0, 3.0)
    pts[[5, 77]] = np.nan
    pts[100] = [np.inf, 0, 3]
    pts[200] = [0, 0, 1e9]  # beyond MAX_ABS_COORD_M: not a sensor's point
    (cand,) = split_people(pts)
    assert cand.num_points == 896 and not {5, 77, 100, 200} & set(cand.indices.tolist())
    assert np.all(np.isfinite(cand.centroid))
    assert split_people(np.full((10, 3), np.nan, np.float32)) == []
    labels = label_components(pts)
    assert np.all(labels[[5, 77, 100, 200]] == -1) and np.all(np.delete(labels, [5, 77, 100, 200]) == 0)
    for bad in (np.zeros((5, 2)), np.zeros(3), np.array([["a", "b", "c"]])):
        with pytest.raises(ValueError, match="points_m"):
            split_people(bad)
    with pytest.raises(ValueError, match="method"):
        split_people(pts, method="fast")


def random_scene(rng):
    """Random boxes of points at random places and sizes (some touching, some apart) plus noise; in half
    the scenes one box is moved kilometres away along one axis (the compression's sorted path)."""
    parts = [slab(rng, lo, lo + rng.uniform(0.05, 1.0, 3), int(rng.integers(5, 300)))
             for lo in rng.uniform(-2.0, 2.0, (int(rng.integers(1, 9)), 3))]
    if rng.random() < 0.5:
        parts[0] = parts[0] + np.float32(rng.choice([-3e3, 5e4])) * np.eye(3, dtype=np.float32)[rng.integers(3)]
    parts.append(slab(rng, (-3, -3, -3), (3, 3, 3), int(rng.integers(0, 200))))
    pts = np.concatenate(parts)
    return pts[rng.permutation(pts.shape[0])]


def test_fast_paths_equal_the_naive_reference_on_random_scenes():
    rng = np.random.default_rng(4)
    for trial in range(40):
        pts = random_scene(rng)
        settings = PeopleSettings(voxel_m=float(rng.choice([0.05, 0.1, 0.23])), min_points=int(rng.integers(1, 40)),
                                  min_height_m=0.0, max_height_m=5.0, max_width_m=float(rng.choice([0.5, 1.2, 9.0])),
                                  connectivity=int(rng.choice([6, 18, 26])))
        reference = label_components_naive(pts, settings)
        assert reference.max() >= 1 or pts.shape[0] < 50  # scenes have several components
        for method in ("dense", "sparse", "auto"):
            np.testing.assert_array_equal(label_components(pts, settings, method=method), reference,
                                          err_msg=f"trial {trial} {method} {settings}")
        expected = partition(split_people(pts, settings, method="naive"))
        for method in ("dense", "sparse"):
            assert partition(split_people(pts, settings, method=method)) == expected


def test_connectivity_decides_whether_diagonal_voxels_touch():
    # two voxels sharing a face, then one sharing only an edge, then one sharing only a corner
    pts = np.array([[0.05, 0.05, 0.05], [0.15, 0.05, 0.05], [0.25, 0.15, 0.05], [0.35, 0.25, 0.15]], np.float32)
    for conn, expected in ((6, [0, 0, 1, 2]), (18, [0, 0, 0, 1]), (26, [0, 0, 0, 0])):
        for method in METHODS:
            got = label_components(pts, PeopleSettings(connectivity=conn), method=method)
            np.testing.assert_array_equal(got, expected, err_msg=f"{conn} {method}")


def test_auto_falls_back_to_the_sparse_path_for_a_huge_grid(monkeypatch):
    rng = np.random.default_rng(5)
    pts = np.concatenate([body(rng, -1.0, 3.0), body(rng, 1.0, 3.0), slab(rng, (-30, -30, 1), (30, 30, 60), 400)])
    expected = label_components(pts, method="naive")

    def no_grid(*args):
        raise AssertionError("the dense path must not run above MAX_DENSE_VOXELS")

    monkeypatch.setattr(people_module, "MAX_DENSE_VOXELS", 1000)
    monkeypatch.setattr(people_module, "_label_dense", no_grid)
    np.testing.assert_array_equal(label_components(pts), expected)
    assert len(split_people(pts)) == 2


def test_a_far_stray_point_does_not_blow_up_the_grid(monkeypatch):
    """Coordinate compression: the grid is bounded by the points, not by their spread."""
    rng = np.random.default_rng(6)
    pts = np.concatenate([body(rng, 0.0, 3.0), np.array([[5e5, -5e5, 9e5]], np.float32)])
    monkeypatch.setattr(people_module, "_label_sparse", lambda *a: (_ for _ in ()).throw(AssertionError("sparse")))
    labels = label_components(pts)
    np.testing.assert_array_equal(labels, label_components_naive(pts))
    assert labels[-1] == 1 and len(split_people(pts)) == 1


def test_other_up_vectors_measure_height_and_width_the_same():
    """The same scene seen by a camera rolled 90 degrees: up is then camera +x, and the results agree."""
    rng = np.random.default_rng(7)
    pts = np.concatenate([body(rng, -0.8, 3.0), body(rng, 0.7, 2.6, height=1.1)])
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # camera frame of the rolled camera
    rolled = (pts @ rot.T).astype(np.float32)
    up = rot @ np.array([0.0, -1.0, 0.0])
    straight = split_people(pts)
    turned = split_people(rolled, PeopleSettings(up=tuple(up)))
    assert partition(straight) == partition(turned)
    for a in straight:
        b = next(c for c in turned if np.array_equal(c.indices, a.indices))
        np.testing.assert_allclose([a.height_m, a.width_m], [b.height_m, b.width_m], atol=1e-5)
        np.testing.assert_allclose(rot @ a.centroid, b.centroid, atol=1e-5)
    basis = horizontal_basis((0.0, -1.0, 0.0))
    np.testing.assert_allclose(basis, [[1, 0, 0], [0, 0, 1], [0, -1, 0]], atol=1e-12)


def test_instance_mask_groups_points_by_id():
    rng = np.random.default_rng(8)
    a, b = body(rng, -0.2, 3.0), body(rng, 0.25, 3.0)  # touching: one connected component
    bleed = slab(rng, (-0.3, -0.4, 4.4), (-0.2, 0.4, 4.5), 30)  # a's mask edge on the wall behind
    small = body(rng, 1.5, 2.0, n=30)
    room = slab(rng, (-2, -1, 4.5), (2, 1.2, 4.6), 500)
    pts = np.concatenate([a, b, bleed, small, room])
    ids = np.concatenate([np.full(900, 3), np.full(900, 7), np.full(30, 3), np.full(30, 9), np.zeros(500)])
    ids = ids.astype(np.uint16)  # a mono16 instance mask's values at the points' pixels
    assert len(split_people(pts[:1800])) == 1  # connectivity alone cannot part them
    cands = split_instance_mask(ids, pts)
    assert [c.instance_id for c in cands] == [3, 7]
    assert partition(cands) == {frozenset(range(900)), frozenset(range(900, 1800))}
    assert cands[0].box_max[2] < 3.2  # the bleed onto the wall is not part of the person
    whole = split_instance_mask(ids, pts, largest_component=False)
    assert set(whole[0].indices.tolist()) == set(range(900)) | set(range(1800, 1830))
    pts[0] = np.nan
    assert 0 not in split_instance_mask(ids, pts)[0].indices
    with pytest.raises(ValueError, match="instance_ids"):
        split_instance_mask(ids[:-1], pts)
    with pytest.raises(ValueError, match="instance_ids"):
        split_instance_mask(np.where(ids == 9, -1, ids.astype(np.int32)), pts)
    with pytest.raises(ValueError, match="instance_ids"):
        split_instance_mask(ids.astype(np.float32), pts)
    assert split_instance_mask(np.zeros(0, np.int32), np.zeros((0, 3), np.float32)) == []


def shoulder_to_shoulder(rng, gap_x=0.9):
    """Two people whose centres are gap_x apart, joined by a handshake (an arm bar between them)."""
    a, b = body(rng, -gap_x / 2, 3.0), body(rng, gap_x / 2, 3.0)
    arms = slab(rng, (-gap_x / 2, -0.05, 2.95), (gap_x / 2, 0.0, 3.05), 80)
    return np.concatenate([a, b, arms])


def test_a_wide_merged_candidate_is_split_without_seeds():
    rng = np.random.default_rng(9)
    pts = shoulder_to_shoulder(rng)  # extent 1.4 m > max_width_m 1.2: two people
    narrow = PeopleSettings(max_width_m=1.2)
    whole = split_people(pts, PeopleSettings(max_width_m=math.inf, split_dip_m=math.inf))
    assert len(whole) == 1 and whole[0].width_m > 1.3
    narrow = PeopleSettings(max_width_m=1.2, split_dip_m=math.inf)  # the width rule alone
    cands = split_people(pts, narrow)
    assert len(cands) == 2 and all(c.width_m <= 1.2 for c in cands)
    assert partition(cands) == {frozenset(c.indices.tolist()) for c in split_wide(pts, whole[0], None, narrow)}
    left, right = cands
    assert len(set(left.indices.tolist()) & set(range(900))) > 880  # the k-means cut is between the two
    assert len(set(right.indices.tolist()) & set(range(900, 1800))) > 880
    # three people in a row, 2.2 m: ceil(2.2 / 1.2) = 2 parts; with max_width_m 0.8, 3 parts
    three = np.concatenate([shoulder_to_shoulder(rng), body(rng, 1.3, 3.0),
                            slab(rng, (0.45, -0.05, 2.95), (1.3, 0.0, 3.05), 80)])
    assert len(split_people(three, PeopleSettings(split_dip_m=math.inf))) == 2
    assert len(split_people(three, PeopleSettings(max_width_m=0.8, split_dip_m=math.inf))) == 3
    # these flat-topped bodies are joined by an arm well below their tops: the valley rule parts all three
    assert len(split_people(three)) == 3
    # a narrow candidate has nothing to split
    (one,) = split_people(body(rng, 0, 3))
    assert split_wide(body(rng, 0, 3), one) == [one]


def test_a_merged_candidate_is_split_by_seeds():
    rng = np.random.default_rng(10)
    a, b = body(rng, -0.22, 3.0), body(rng, 0.22, 3.0)  # touching, 0.94 m: not wide, still two people
    pts = np.concatenate([a, b])
    (cand,) = split_people(pts)
    assert cand.width_m < 1.2
    seeds = np.array([[-0.22, 0.0, 3.0], [0.22, 0.5, 3.0]])  # the seeds' heights do not matter
    parts = split_wide(pts, cand, seeds)
    assert [len(set(p.indices.tolist()) & set(range(900 * i, 900 * (i + 1)))) > 850 for i, p in enumerate(parts)] \
        == [True, True]
    assert sorted(np.concatenate([p.indices for p in parts]).tolist()) == cand.indices.tolist()
    # one in front of the other (different depths, touching): the cut is across z
    c, d = body(rng, 0.0, 2.9), body(rng, 0.1, 3.2)
    pts2 = np.concatenate([c, d])
    (cand2,) = split_people(pts2)
    front, back = split_wide(pts2, cand2, np.array([[0.0, 0, 2.9], [0.1, 0, 3.2]]))
    assert front.centroid[2] < 3.0 < back.centroid[2] and front.num_points > 800 and back.num_points > 800
    # parts come in the seeds' order
    swapped = split_wide(pts, cand, seeds[::-1])
    assert swapped[0].centroid[0] > 0 > swapped[1].centroid[0]
    # a seed whose share is not a person gives it back: a seed past the edge gets a sliver under min_points
    edge = np.array([[-0.1, 0, 3.0], [0.9, 0, 3.0]])  # the cut at x = 0.4
    sliver = int(np.count_nonzero(pts[:, 0] > 0.4))  # a few dozen points, full height
    assert 10 < sliver < 200
    assert len(split_wide(pts, cand, edge, PeopleSettings(min_points=sliver))) == 2
    assert split_wide(pts, cand, edge, PeopleSettings(min_points=sliver + 1)) == [cand]
    assert split_wide(pts, cand, np.array([[-0.1, 0, 3.0], [1.5, 0, 3.0]])) == [cand]  # an empty share
    # a third seed with a sliver is dropped, the other two keep their people
    three = split_wide(pts, cand, np.array([[-0.22, 0, 3.0], [0.22, 0, 3.0], [0.0, 0, 3.5]]))
    assert len(three) == 2
    # no seeds: the no-seed rule (not wide: as it is)
    assert split_wide(pts, cand, np.zeros((0, 3))) == [cand]
    with pytest.raises(ValueError, match="seeds"):
        split_wide(pts, cand, np.array([[0.0, np.nan, 3.0]]))


def figure(rng, x, z, arms="down", height=1.75, feet_y=1.2, n=1500):
    """(n, 3) float32 points of a standing figure (legs, torso, head, arms; y down, feet at feet_y) centred at
    (x, z): arms "down" beside the torso, "up" raised above the head, "spread" out sideways at shoulder
    height, "wave" one raised arm out to the side (its hand above the head)."""
    k = height / 1.75
    parts = [  # (centre x offset, bottom height, top height, half width), metres above the feet
        (-0.09, 0.0, 0.85, 0.07), (0.09, 0.0, 0.85, 0.07),  # legs
        (0.0, 0.85, 1.45, 0.19),  # torso to the shoulders
        (0.0, 1.50, 1.72, 0.09),  # head, above the neck's gap
        (0.0, 1.45, 1.50, 0.05),  # neck
    ]
    if arms == "down":
        parts += [(-0.24, 0.80, 1.45, 0.04), (0.24, 0.80, 1.45, 0.04)]
    elif arms == "up":
        parts += [(-0.24, 1.35, 2.05, 0.04), (0.24, 1.35, 2.05, 0.04)]
    elif arms == "spread":
        parts += [(-0.5, 1.38, 1.45, 0.31), (0.5, 1.38, 1.45, 0.31)]
    elif arms == "wave":
        parts += [(-0.24, 0.80, 1.45, 0.04), (0.27, 1.40, 1.47, 0.09), (0.35, 1.40, 1.95, 0.05)]
    sizes = np.array([(top - bottom) * hw for _, bottom, top, hw in parts])
    counts = np.maximum(20, np.round(n * sizes / sizes.sum())).astype(int)
    out = []
    for (cx, bottom, top, hw), m in zip(parts, counts):
        out.append(np.stack([x + (cx + hw * (2 * rng.random(m) - 1)) * k,
                             feet_y - (bottom + (top - bottom) * rng.random(m)) * k,
                             z + 0.12 * (2 * rng.random(m) - 1)], axis=1))
    return np.concatenate(out).astype(np.float32)


def purity(cands, groups):
    """For each candidate, the largest share of its points that come from one of the index ranges."""
    return [max(len(set(c.indices.tolist()) & set(g)) for g in groups) / c.num_points for c in cands]


def test_people_side_by_side_closer_than_a_voxel_are_told_apart_by_their_heads():
    rng = np.random.default_rng(21)
    a, b = figure(rng, -0.25, 3.0), figure(rng, 0.25, 3.0)  # shoulders touching: one component
    pts = np.concatenate([a, b])
    groups = [range(len(a)), range(len(a), len(pts))]
    assert len(split_people(pts, PeopleSettings(split_dip_m=math.inf))) == 1
    cands = split_people(pts)
    assert len(cands) == 2 and min(purity(cands, groups)) > 0.95
    assert partition(cands) == partition(split_tops(pts, split_people(pts, PeopleSettings(split_dip_m=math.inf))[0]))
    # a shorter person beside a taller one (1.55 / 1.85 m: one's head at the other's shoulder), and three in
    # a row
    c, d = figure(rng, -0.25, 3.0, height=1.55), figure(rng, 0.26, 3.0, height=1.85)
    assert len(split_people(np.concatenate([c, d]))) == 2
    row = np.concatenate([figure(rng, x, 3.0) for x in (-0.5, 0.0, 0.5)])
    cands = split_people(row)
    assert len(cands) == 3
    assert min(purity(cands, [range(i * len(row) // 3, (i + 1) * len(row) // 3) for i in range(3)])) > 0.9


@pytest.mark.parametrize("arms", ["down", "up", "spread", "wave"])
def test_one_person_with_raised_or_spread_arms_stays_whole(arms):
    rng = np.random.default_rng(22)
    pts = figure(rng, 0.1, 3.0, arms=arms)
    assert len(split_people(pts)) == 1
    # and beside someone else, each stays whole
    other = figure(rng, 1.1 if arms == "spread" else 0.6, 3.0)
    cands = split_people(np.concatenate([pts, other]))
    assert len(cands) == 2
    # the cut is one vertical plane: an arm spread into the other person's side goes with them (~12 %)
    assert min(purity(cands, [range(len(pts)), range(len(pts), len(pts) + len(other))])) > 0.85


def test_split_settings_are_checked():
    for bad in (dict(split_dip_m=0), dict(split_dip_m=float("nan")), dict(split_ground_m=-0.1),
                dict(split_ground_m=math.inf)):
        with pytest.raises(ValueError, match="split_"):
            PeopleSettings(**bad)
    (one,) = split_people(np.zeros((0, 3), np.float32)) or [None]
    assert one is None


def test_two_real_people_shaking_hands_are_two_candidates(shared_data):
    # NTU RGB+D's sample clip A058 "handshaking" (Kinect v2, masked depth): two people joined by their
    # hands and by the floor patch NTU's masks keep under their feet - one connected component, narrower
    # than max_width_m, in every frame. The valley between their heads parts them.
    import cv2

    from missing_data import skip_or_fail
    from vg4d_core.data.depth import KINECT_V2_DEPTH, depth_to_points

    video = shared_data / "ntu_sample" / "nturgb+d_depth_masked" / "S001C001P001R001A058"
    files = sorted(video.glob("MDepth-*.png"))
    if not files:
        skip_or_fail(f"NTU sample not found at {video}")
    merged = two = 0
    for f in files:
        pts = depth_to_points(cv2.imread(str(f), cv2.IMREAD_UNCHANGED), KINECT_V2_DEPTH, depth_unit=1e-3)
        merged += len(split_people(pts, PeopleSettings(split_dip_m=math.inf))) == 1
        cands = split_people(pts)
        if len(cands) == 2:
            two += 1
            left, right = cands
            assert left.centroid[0] < -0.2 and right.centroid[0] > 0.2  # one each side of the handshake
            assert all(1.4 < c.height_m < 1.9 for c in cands)
    assert merged == len(files)
    assert two >= 0.9 * len(files)


def test_a_hand_held_towards_the_camera_stays_with_its_person():
    # a forearm 0.25 m in front of the body (the depth step leaves empty voxels between): no person by
    # itself (too short), it joins the person; farther away, taller than min_height_m, or as big as a
    # quarter of the person, a piece is left out; attach_m=0 never joins
    rng = np.random.default_rng(0)
    person = body(rng, 0.0, 3.0)  # 900 points, front surface at z ~ 2.85
    hand = slab(rng, [-0.05, 0.1, 2.45], [0.05, 0.2, 2.6], 80)
    pts = np.concatenate([person, hand])
    (one,) = split_people(pts)
    assert one.num_points == 980 and np.array_equal(one.indices, np.arange(980))
    np.testing.assert_allclose(one.box_min[2], hand[:, 2].min(), atol=1e-6)  # the box reaches the hand
    (alone,) = split_people(pts, PeopleSettings(attach_m=0))
    assert alone.num_points == 900 and np.array_equal(alone.indices, np.arange(900))
    for piece in (slab(rng, [-0.05, 0.1, 1.9], [0.05, 0.2, 2.05], 80),  # 0.8 m in front: something else
                  slab(rng, [0.45, -0.7, 2.9], [0.5, 1.2, 2.95], 60),  # a thin pole 1.9 m tall beside the person
                  slab(rng, [-0.4, 0.3, 2.4], [0.4, 0.34, 2.6], 300)):  # a table top of a third of the person
        (c,) = split_people(np.concatenate([person, piece]))
        assert c.num_points == 900, piece.mean(axis=0)
    # two people: a piece goes to the nearer one only
    other = body(rng, 1.2, 3.0)
    (a, b) = split_people(np.concatenate([person, other, hand]))
    assert (a.num_points, b.num_points) == (980, 900)
