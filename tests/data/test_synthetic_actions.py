"""Synthetic RGB-D actions: determinism, dataset items, and that each class pair is separable by the
modality it is designed for (and not, or only weakly, by the other one)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vg4d_core.data.config import SyntheticConfig
from vg4d_core.data.depth import depth_to_points
from vg4d_core.data.synthetic import (APPEARANCE_PAIRS, CLASS_NAMES, DEPTH_PAIRS, Renderer, SyntheticActions,
                                      colour_class, depth_mirror, pose, render_video, synthetic_intrinsics,
                                      video_nuisance)

CFG = SyntheticConfig(num_train=16, num_test=8, min_frames=16, max_frames=20, image_scale=0.5)
INTR = synthetic_intrinsics(CFG.image_scale)


@pytest.fixture(scope="module")
def renderer():
    return Renderer(INTR)


def _videos(renderer, action, n, seed=11):
    return [render_video(action, video_nuisance(seed, "test", i, CFG), renderer=renderer,
                         depth_noise_mm=CFG.depth_noise_mm) for i in range(n)]


def test_class_design():
    assert len(CLASS_NAMES) >= 8
    paired = [c for pair in APPEARANCE_PAIRS + DEPTH_PAIRS for c in pair]
    assert sorted(paired) == list(range(len(CLASS_NAMES)))


def test_rendering_is_deterministic_and_depth_is_masked_mm(renderer):
    nu = video_nuisance(0, "train", 5, CFG)
    a, b = render_video(3, nu, renderer=renderer), render_video(3, nu, renderer=renderer)
    np.testing.assert_array_equal(a.depth, b.depth)
    np.testing.assert_array_equal(a.rgb, b.rgb)
    assert a.depth.dtype == np.uint16 and a.rgb.dtype == np.uint8
    assert a.depth.shape == (nu.num_frames, INTR.height, INTR.width) and a.rgb.shape == a.depth.shape + (3,)
    valid = a.depth[a.depth > 0]
    assert 2500 < valid.min() and valid.max() < 4600  # a person 3-4 m away, in millimetres
    # background is masked out: most of the frame is 0
    assert (a.depth == 0).mean() > 0.9
    other = video_nuisance(1, "train", 5, CFG)
    assert other != nu


def _chroma_counts(rgb, mask):
    px = rgb[mask].astype(np.float64)
    chroma = px / np.maximum(px.sum(axis=1, keepdims=True), 1)
    red = np.linalg.norm(chroma - [0.77, 0.115, 0.115], axis=1) < 0.08
    blue = np.linalg.norm(chroma - [0.10, 0.20, 0.70], axis=1) < 0.08
    return red.sum(), blue.sum()


def test_appearance_pairs_identical_in_depth_separable_in_rgb(renderer):
    for a, b in APPEARANCE_PAIRS:
        for i in range(3):  # same nuisance: depth (hence points) bit-identical, RGB not
            nu = video_nuisance(5, "train", i, CFG)
            va, vb = render_video(a, nu, renderer=renderer), render_video(b, nu, renderer=renderer)
            np.testing.assert_array_equal(va.depth, vb.depth)
            assert not np.array_equal(va.rgb, vb.rgb)
    # an RGB-only rule separates the cup colours over different nuisances
    for label, videos in ((0, _videos(renderer, 0, 8)), (1, _videos(renderer, 1, 8))):
        for v in videos:
            red, blue = _chroma_counts(v.rgb, v.depth > 0)
            assert (red > blue) == (label == 0), (label, red, blue)
    # ... and the board texture: the checkerboard has bright white cells, the plain board none
    for label, videos in ((2, _videos(renderer, 2, 8)), (3, _videos(renderer, 3, 8))):
        for v in videos:
            px = v.rgb[v.depth > 0].astype(int)
            white = ((px.min(axis=1) >= 243) & (np.ptp(px, axis=1) <= 3)).sum()
            assert (white > 20) == (label == 3), (label, white)


def _top_and_body_depth(video):
    """Per frame: mean z of the top 15 % of points (head) and median z of all points, metres."""
    rows = []
    for d in video.depth:
        p = depth_to_points(d, INTR)
        top = p[p[:, 1] < np.quantile(p[:, 1], 0.15)]
        rows.append((top[:, 2].mean(), np.median(p[:, 2])))
    return np.array(rows)


def test_depth_pairs_separable_in_depth_identical_in_rgb(renderer):
    # depth rule: the head moves towards (lean toward) or away from the camera relative to the body
    for label in (4, 5):
        for v in _videos(renderer, label, 6):
            f = _top_and_body_depth(v)
            rel = f[:, 0] - f[:, 1] - (f[0, 0] - f[0, 1])
            peak = rel[np.argmax(np.abs(rel))]
            assert abs(peak) > 0.12 and (peak < 0) == (label == 4), (label, peak)
    for label in (6, 7):
        for v in _videos(renderer, label, 6):
            f = _top_and_body_depth(v)
            moved = f[-3:, 1].mean() - f[:3, 1].mean()
            assert abs(moved) > 0.15 and (moved < 0) == (label == 6), (label, moved)
    # RGB: with the same nuisance the two classes of a depth pair are the same colour video, bit for
    # bit (as an appearance pair's depth is), with the same silhouette in depth and the head's depth
    # on opposite sides of the subject's plane
    for i in range(3):
        nu = video_nuisance(7, "test", i, CFG)
        for a, b in DEPTH_PAIRS:
            va, vb = render_video(a, nu, renderer=renderer), render_video(b, nu, renderer=renderer)
            np.testing.assert_array_equal(va.rgb, vb.rgb)
            assert not np.array_equal(va.depth, vb.depth)
            d3 = [np.linalg.norm(_head(da)[0] - _head(db)[0]) for da, db in zip(va.depth, vb.depth)]
            assert max(d3) > 0.3, (a, b, max(d3))
            for ma, mb in zip(va.depth > 0, vb.depth > 0):  # outlines agree but for rounding at the rim
                assert (ma & mb).sum() / (ma | mb).sum() > 0.97


def test_depth_mirror_keeps_the_image_and_reflects_depth(renderer):
    nu = video_nuisance(3, "train", 0, CFG)
    scene = pose(4, nu, 0.5)  # peak lean: the head is ~0.3 m in front of the pelvis
    mirrored = depth_mirror(scene, nu.z)
    z0, rgb0 = renderer.render(scene, renderer.background(nu))
    z1, rgb1 = renderer.render(mirrored, renderer.background(nu))
    # each sphere keeps its image (outline and shading): only the order in which overlapping spheres
    # occlude each other changes, so nearly every pixel's colour is the same
    assert np.array_equal(np.isfinite(z0), np.isfinite(z1))
    assert (np.abs(rgb0.astype(int) - rgb1.astype(int)).max(axis=2) <= 1).mean() > 0.97
    # each centre went along its ray to the other side of z = nu.z, its radius scaled alike
    c0, c1 = scene.spheres[:, :3], mirrored.spheres[:, :3]
    np.testing.assert_allclose(c1[:, 2], 2 * nu.z - c0[:, 2], rtol=1e-12)
    np.testing.assert_allclose(c1[:, :2] / c1[:, 2:3], c0[:, :2] / c0[:, 2:3], rtol=1e-12)
    np.testing.assert_allclose(mirrored.spheres[:, 3] / scene.spheres[:, 3], c1[:, 2] / c0[:, 2], rtol=1e-12)
    # mirroring twice is the identity; a plane that puts the scene behind the camera is refused
    np.testing.assert_allclose(depth_mirror(mirrored, nu.z).spheres, scene.spheres, rtol=1e-12)
    with pytest.raises(ValueError, match="behind the camera"):
        depth_mirror(scene, 1.0)
    # the mirrored class of a pair is seen in colour as its partner
    assert [colour_class(c) for c in range(len(CLASS_NAMES))] == [0, 1, 2, 3, 4, 4, 6, 6]


def _head(depth):
    """Mean 3D point (metres) and mean pixel (u, v) of the top 15 % of a frame's points."""
    p, pix = depth_to_points(depth, INTR, return_pixels=True)
    sel = p[:, 1] < np.quantile(p[:, 1], 0.15)
    return p[sel].mean(axis=0), pix[sel].mean(axis=0)


def test_dataset_items_rgb_and_reproducibility():
    ds = SyntheticActions("train", CFG, num_frames=8, points_per_frame=128, rgb=True, rgb_size=32, seed=2)
    assert len(ds) == 16 and ds.num_classes == 8 and ds.class_names == list(CLASS_NAMES)
    item = ds[9]
    assert item["label"] == 1 and item["video"] == "synthetic_train_00009"
    assert item["points"].shape == (8, 128, 3) and item["rgb"].shape == (8, 32, 32, 3)
    assert item["rgb"].dtype == torch.uint8
    # metres: the figure stands 3-4.3 m away
    z = item["points"][..., 2]
    assert 2.5 < float(z.min()) and float(z.max()) < 4.6
    again = SyntheticActions("train", CFG, num_frames=8, points_per_frame=128, rgb=True, rgb_size=32, seed=2)[9]
    torch.testing.assert_close(again["points"], item["points"])
    torch.testing.assert_close(again["rgb"], item["rgb"])
    assert again["frame_indices"].tolist() == item["frame_indices"].tolist()
    test = SyntheticActions("test", CFG, num_frames=8, points_per_frame=128, seed=2)
    assert len(test) == 8 and "rgb" not in test[0]
    assert test.video_lengths != ds.video_lengths[:8]  # different nuisance draws per split


def test_preload_renders_each_video_once_and_items_stay_the_same(monkeypatch):
    from vg4d_core.data.synthetic import dataset as synthetic_dataset
    from vg4d_core.training.validation import ItemSubset

    monkeypatch.setattr(synthetic_dataset, "_SHARED", type(synthetic_dataset._SHARED)())  # nothing rendered yet
    lazy = SyntheticActions("train", CFG, num_frames=8, points_per_frame=64, rgb=True, rgb_size=16, seed=5)
    expected = [lazy[i] for i in range(len(lazy))]
    monkeypatch.setattr(synthetic_dataset, "_SHARED", type(synthetic_dataset._SHARED)())
    ds = SyntheticActions("train", CFG, num_frames=8, points_per_frame=64, rgb=True, rgb_size=16, seed=5)
    calls = []
    render = ds.render
    monkeypatch.setattr(ds, "render", lambda v: calls.append(v) or render(v))
    ItemSubset(ds, [0, 3]).preload()  # the whole base set: its held-out videos are scored later
    assert sorted(calls) == list(range(len(ds)))
    for i in range(len(ds)):
        item = ds[i]
        torch.testing.assert_close(item["points"], expected[i]["points"])
        torch.testing.assert_close(item["rgb"], expected[i]["rgb"])
    assert sorted(calls) == list(range(len(ds)))  # nothing rendered twice


def test_factory_builds_synthetic_from_yaml():
    from vg4d_core.data import build_dataset, load_data_config

    cfg = load_data_config("synthetic", ["synthetic.num_train=4", "synthetic.num_test=2", "rgb_size=16",
                                         "points_per_frame=32", "num_frames=4"])
    train, test = build_dataset(cfg, "train"), build_dataset(cfg, "test")
    assert (len(train), len(test), train.num_classes) == (4, 2, 8)
    batch = next(iter(torch.utils.data.DataLoader(train, batch_size=4)))
    assert batch["points"].shape == (4, 4, 32, 3) and batch["rgb"].shape == (4, 4, 16, 16, 3)
    assert batch["label"].tolist() == [0, 1, 2, 3]


def test_ntu_layout_is_read_by_the_ntu_loaders(tmp_path):
    from vg4d_core.data import ntu
    from vg4d_core.data.depth import KINECT_V2_DEPTH
    from vg4d_core.data.rgb import count_frames
    from vg4d_core.data.synthetic import main, ntu_name

    assert main(["--out", str(tmp_path), "--videos", "3", "--min-frames", "6", "--max-frames", "8"]) == 0
    names = ntu.list_depth_videos(tmp_path)
    assert names == sorted(ntu_name(i) for i in range(3))
    assert [ntu.parse_name(n).action for n in sorted(names, key=lambda n: ntu.parse_name(n).action)] == [1, 2, 3]
    for name in names:
        frames = ntu.list_depth_frames(ntu.depth_video_dir(tmp_path, name))
        assert 6 <= len(frames) <= 8
        depth = ntu.read_depth_png(frames[0])
        pts = depth_to_points(depth, KINECT_V2_DEPTH)
        assert pts.shape[0] > 2000 and 2.5 < pts[:, 2].min() and pts[:, 2].max() < 4.6
        assert count_frames(ntu.rgb_video_path(tmp_path, name)) == len(frames)
    assert not list(tmp_path.rglob("*.tmp*"))
    # performers alternate between NTU60 cross-subject train and test
    splits = {ntu.get_protocol("ntu60_cs").split_of(ntu.parse_name(ntu_name(i))) for i in range(16)}
    assert splits == {"train", "test"}
