"""MSR-Action3D: names, split, conversion against an independent computation, items, caching."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import torch
from torch.utils.data import DataLoader

from missing_data import skip_or_fail
from vg4d_core.data.config import AugmentConfig
from vg4d_core.data.msr_action3d import (CLASS_NAMES, MSRAction3D, list_videos, load_depth_video, parse_name,
                                         video_length)
from vg4d_core.data.sampling import num_dense_clips

SHORT = "a18_s03_e02_sdepth.mat"  # 13 frames, train
LONG_TRAIN = "a01_s01_e01_sdepth.mat"  # 54 frames
TEST_FILE = "a20_s10_e02_sdepth.mat"


@pytest.fixture(scope="module")
def msr_root(shared_data):
    root = shared_data / "msr_action3d"
    if not root.is_dir():
        skip_or_fail(f"MSR-Action3D not found at {root}")
    return root


def test_parse_name():
    n = parse_name("a07_s06_e02_sdepth.mat")
    assert (n.action, n.subject, n.repetition, n.label, n.split, n.video_id) == (7, 6, 2, 6, "test", "a07_s06_e02")
    assert parse_name("/x/y/a20_s05_e03_sdepth.mat").split == "train"
    for bad in ("a7_s06_e02_sdepth.mat", "a21_s01_e01_sdepth.mat", "a01_s11_e01_sdepth.mat", "a01_s01_e01.mat"):
        with pytest.raises(ValueError, match="a"):
            parse_name(bad)


def test_split_sizes_and_short_videos(msr_root):
    train, test = list_videos(msr_root, "train"), list_videos(msr_root, "test")
    assert (len(train), len(test)) == (266, 290)
    assert {parse_name(p.name).subject for p in train} == {1, 2, 3, 4, 5}
    assert {parse_name(p.name).subject for p in test} == {6, 7, 8, 9, 10}
    assert len({parse_name(p.name).label for p in train + test}) == len(CLASS_NAMES) == 20
    lengths = [video_length(p) for p in train + test]
    assert sum(n < 24 for n in lengths) == 23 and min(lengths) == 13


def test_header_length_matches_loaded_video(msr_root):
    for name in (SHORT, LONG_TRAIN):
        assert video_length(msr_root / name) == load_depth_video(msr_root / name).shape[0]


def test_conversion_matches_independent_formula(msr_root):
    ds = MSRAction3D(msr_root, "train", files=[msr_root / LONG_TRAIN], num_frames=4, points_per_frame=64)
    source = ds._frames(0)
    raw = scipy.io.loadmat(str(msr_root / LONG_TRAIN))["depth"]  # (240, 320, F)
    for f in (0, 17, raw.shape[2] - 1):
        img = raw[:, :, f].astype(np.float64)
        rows, cols = np.nonzero(img)  # raster order
        z = img[rows, cols]
        expected = np.stack([(cols - 160) * z / 280 / 300, (rows - 120) * z / 280 / 300, z / 300], axis=1)
        got = source.frame_points(f)
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    # a standing person: ~1.1 units tall, ~1.7 units away (units of raw / 300, ~1.5 m)
    first = source.frame_points(0)
    assert 1.5 < np.median(first[:, 2]) < 1.9
    assert 0.9 < np.ptp(first[:, 1]) < 1.35


def test_dense_items_shapes_labels_and_short_video_clamp(msr_root):
    ds = MSRAction3D(msr_root, "train", files=[msr_root / LONG_TRAIN, msr_root / SHORT], num_frames=24,
                     points_per_frame=128, sampling="dense")
    assert ds.num_classes == 20 and ds.class_names == list(CLASS_NAMES)
    assert len(ds) == num_dense_clips(54, 24) + 1 == 32
    item = ds[0]
    assert item["points"].shape == (24, 128, 3) and item["points"].dtype == torch.float32
    assert item["label"] == 0 and item["video"] == "a01_s01_e01"
    assert item["frame_indices"].dtype == torch.int64
    torch.testing.assert_close(item["frame_indices"], torch.arange(24))
    short = ds[len(ds) - 1]
    assert short["video"] == "a18_s03_e02" and short["label"] == 17
    assert short["frame_indices"].tolist() == list(range(13)) + [12] * 11
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["points"].shape == (4, 24, 128, 3) and batch["label"].shape == (4,)
    assert batch["video"] == ["a01_s01_e01"] * 4


def test_segment_mode_one_item_per_video_and_middle_frames_in_test(msr_root):
    ds = MSRAction3D(msr_root, "test", files=[msr_root / TEST_FILE], num_frames=8, points_per_frame=32,
                     sampling="segment")
    assert len(ds) == 1
    n = ds.video_lengths[0]
    bounds = np.arange(9) * n // 8
    assert ds[0]["frame_indices"].tolist() == (bounds[:-1] + (bounds[1:] - bounds[:-1]) // 2).tolist()


def test_items_are_reproducible_per_epoch_and_independent_of_workers(msr_root):
    ds = MSRAction3D(msr_root, "train", files=[msr_root / LONG_TRAIN, msr_root / SHORT], num_frames=8,
                     points_per_frame=64, sampling="segment", seed=3)
    a = [ds[i] for i in range(len(ds))]
    b = [ds[i] for i in range(len(ds))]
    for x, y in zip(a, b):
        torch.testing.assert_close(x["points"], y["points"])
    ds.set_epoch(1)
    c = ds[0]
    assert not torch.equal(a[0]["points"], c["points"])
    batches = {}
    for workers in (0, 2):
        loader = DataLoader(ds, batch_size=1, num_workers=workers, shuffle=False)
        batches[workers] = [bt["points"] for bt in loader]
    for x, y in zip(batches[0], batches[2]):
        torch.testing.assert_close(x, y)
    torch.testing.assert_close(batches[0][0][0], c["points"])


def test_test_split_ignores_epoch(msr_root):
    ds = MSRAction3D(msr_root, "test", files=[msr_root / TEST_FILE], num_frames=8, points_per_frame=64)
    first = ds[0]["points"]
    ds.set_epoch(5)
    torch.testing.assert_close(ds[0]["points"], first)


def test_augmentation_is_a_per_axis_scaling_of_the_clip(msr_root):
    kwargs = dict(files=[msr_root / LONG_TRAIN], num_frames=8, points_per_frame=64, sampling="segment", seed=1)
    plain = MSRAction3D(msr_root, "train", augment=AugmentConfig(enabled=False), **kwargs)[0]["points"]
    scaled = MSRAction3D(msr_root, "train", augment=AugmentConfig(scale_range=(0.9, 1.1)), **kwargs)[0]["points"]
    ratio = (scaled / plain).reshape(-1, 3)
    ok = plain.reshape(-1, 3).abs() > 1e-3
    for axis in range(3):
        r = ratio[ok[:, axis], axis]
        assert 0.9 <= r.min() and r.max() <= 1.1
        torch.testing.assert_close(r, torch.full_like(r, float(r[0])), rtol=1e-4, atol=1e-5)


def test_empty_frames_borrow_neighbours_and_empty_video_gives_zeros(tmp_path, msr_root):
    depth = scipy.io.loadmat(str(msr_root / LONG_TRAIN))["depth"][:, :, :6].copy()
    depth[:, :, 2] = 0  # an all-zero frame
    scipy.io.savemat(str(tmp_path / "a01_s01_e01_sdepth.mat"), {"depth": depth})
    scipy.io.savemat(str(tmp_path / "a02_s01_e01_sdepth.mat"), {"depth": np.zeros((240, 320, 5), np.uint16)})
    ds = MSRAction3D(tmp_path, "train", num_frames=6, points_per_frame=32, sampling="dense",
                     augment=AugmentConfig(enabled=False))
    assert len(ds) == 2
    item = ds[0]
    assert item["frame_indices"].tolist() == [0, 1, 2, 3, 4, 5]
    # frame 2 is empty: its points come from frame 1 (tie between 1 and 3 -> earlier)
    frame1 = {tuple(p) for p in ds._frames(0).frame_points(1).round(5).tolist()}
    assert {tuple(p) for p in item["points"][2].numpy().round(5).tolist()} <= frame1
    empty = ds[1]
    assert empty["label"] == 1 and torch.count_nonzero(empty["points"]) == 0


def test_corrupt_and_wrong_files_are_named(tmp_path):
    bad = tmp_path / "a01_s01_e01_sdepth.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file" + b"\x00" * 40)
    with pytest.raises(ValueError, match="a01_s01_e01_sdepth.mat"):
        load_depth_video(bad)
    with pytest.raises(ValueError, match="a01_s01_e01_sdepth.mat"):
        MSRAction3D(tmp_path, "train")
    wrong = tmp_path / "a02_s01_e01_sdepth.mat"
    scipy.io.savemat(str(wrong), {"depth": np.zeros((10, 10, 3), np.uint16)})
    with pytest.raises(ValueError, match=r"shape \(10, 10, 3\)"):
        load_depth_video(wrong)
    with pytest.raises(FileNotFoundError, match="no MSR-Action3D test videos"):
        MSRAction3D(tmp_path, "test")


def test_npz_cache_is_written_once_and_gives_the_same_items(tmp_path, msr_root):
    kwargs = dict(files=[msr_root / SHORT], num_frames=8, points_per_frame=64, sampling="segment",
                  cache_dir=tmp_path / "cache", max_cached_points=512)
    first = MSRAction3D(msr_root, "train", **kwargs)
    a = first[0]["points"]
    files = list((tmp_path / "cache").glob("*.npz"))
    assert len(files) == 1
    assert first.cached_bytes > 0 and np.all(first._frames(0).counts <= 512)
    second = MSRAction3D(msr_root, "train", **kwargs)
    torch.testing.assert_close(second[0]["points"], a)
    assert list((tmp_path / "cache").glob("*.npz")) == files
