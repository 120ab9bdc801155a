"""`vg4d preprocess ntu` and the NTU dataset over its cache: real clip, failures, resume, alignment."""
from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from missing_data import skip_or_fail
from waiting import wait_for
from vg4d_core.data import ntu
from vg4d_core.data.cache import CachedVideo, read_index, video_path
from vg4d_core.data.depth import KINECT_V2_DEPTH, depth_to_points
from vg4d_core.data.ntu_dataset import NtuDataset
from vg4d_core.data.preprocess_cli import main
from vg4d_core.data.rgb import align_to_depth, read_video

SAMPLE = "S001C001P001R001A058"


@pytest.fixture(scope="module")
def sample_root(shared_data):
    root = shared_data / "ntu_sample"
    if not (root / ntu.DEPTH_DIR / SAMPLE).is_dir():
        skip_or_fail(f"NTU sample not found under {root}")
    return root


def _run(*args):
    return main(["ntu", "--no-progress", *[str(a) for a in args]])


def _make_root(tmp_path, sample_root, videos: dict[str, list[int] | None], rgb_for=()):
    """A raw root whose videos link the sample's depth frames (a subset, by index); rgb_for names get
    the sample AVI."""
    root = tmp_path / "raw"
    src = ntu.list_depth_frames(sample_root / ntu.DEPTH_DIR / SAMPLE)
    for name, frames in videos.items():
        d = root / ntu.DEPTH_DIR / name
        d.mkdir(parents=True)
        for i, f in enumerate(frames if frames is not None else range(len(src))):
            os.symlink(src[f], d / f"MDepth-{i + 1:08d}.png")
    (root / ntu.RGB_DIR).mkdir(parents=True)
    for name in rgb_for:
        os.symlink(sample_root / ntu.RGB_DIR / "S001C001P001R001A001_rgb.avi", root / ntu.RGB_DIR / f"{name}_rgb.avi")
    return root


def test_real_clip_depth_only_cache_and_dataset(tmp_path, sample_root):
    out = tmp_path / "cache"
    assert _run("--root", sample_root, "--out", out, "--workers", 1, "--no-rgb") == 0
    assert [e.name for e in read_index(out)] == [SAMPLE]
    video = CachedVideo(video_path(out, SAMPLE))
    frames = ntu.list_depth_frames(sample_root / ntu.DEPTH_DIR / SAMPLE)
    assert video.num_frames == 71
    for f in (0, 35, 70):
        full = depth_to_points(ntu.read_depth_png(frames[f]), KINECT_V2_DEPTH)
        assert video.counts[f] == min(full.shape[0], 2048)
        cached = video.gather(f, np.arange(video.counts[f]))
        # every cached point is one of the frame's points, to the 1 mm quantisation
        dist, _ = cKDTree(full).query(cached)
        assert dist.max() <= 0.5e-3 * np.sqrt(3) + 1e-6
        assert 3.3 <= cached[:, 2].min() and cached[:, 2].max() <= 4.2
        assert np.unique(cached, axis=0).shape[0] == cached.shape[0]  # no repeated pixel
    ds = NtuDataset(out, "ntu60_cs", "train", num_frames=23, points_per_frame=1024)
    assert len(ds) == 1 and ds.num_classes == 60
    item = ds[0]
    assert item["label"] == 57 and item["video"] == SAMPLE and item["points"].shape == (23, 1024, 3)
    assert len(NtuDataset(out, "ntu60_cs", "test")) == 0  # performer 1 trains
    with pytest.raises(ValueError, match="pstnet"):
        NtuDataset(out, "ntu60_cs", "train", convention="pstnet")
    with pytest.raises(ValueError, match="stores only 2048"):
        NtuDataset(out, "ntu60_cs", "train", points_per_frame=4096)
    with pytest.raises(ValueError, match="no RGB"):
        NtuDataset(out, "ntu60_cs", "train", rgb=True)


def test_missing_rgb_fails_by_name_with_nonzero_exit(tmp_path, sample_root, capsys):
    out = tmp_path / "cache"
    assert _run("--root", sample_root, "--out", out, "--workers", 1) == 1
    err = capsys.readouterr().err
    assert f"missing RGB video {sample_root / ntu.RGB_DIR / (SAMPLE + '_rgb.avi')}" in err
    report = json.loads((out / "report.json").read_text())
    assert report["videos_failed"] == 1 and report["failures"][0]["name"] == SAMPLE
    assert not video_path(out, SAMPLE).exists() and read_index(out) == []


def test_rgb_frames_are_aligned_with_depth(tmp_path, sample_root):
    name = "S001C002P003R001A001"  # the sample's depth (71 frames) paired with the sample AVI (103 frames)
    root = _make_root(tmp_path, sample_root, {name: None}, rgb_for=[name])
    out = tmp_path / "cache"
    assert _run("--root", root, "--out", out, "--workers", 1, "--rgb-size", 64) == 0
    ds = NtuDataset(out, "ntu60_cv", "train", num_frames=8, points_per_frame=256, rgb=True, rgb_size=64)
    item = ds[0]
    assert item["rgb"].shape == (8, 64, 64, 3) and item["rgb"].dtype == torch.uint8
    rgb_idx = align_to_depth(71, 103)[item["frame_indices"].numpy()]
    direct, n = read_video(root / ntu.RGB_DIR / f"{name}_rgb.avi", size=64, frames=rgb_idx)
    assert n == 103
    diff = np.abs(direct.astype(int) - item["rgb"].numpy().astype(int)).mean(axis=(1, 2, 3))
    assert diff.max() < 4  # JPEG loss only; a one-frame shift differs far more:
    shifted, _ = read_video(root / ntu.RGB_DIR / f"{name}_rgb.avi", size=64, frames=np.minimum(rgb_idx + 8, 102))
    assert np.abs(shifted.astype(int) - item["rgb"].numpy().astype(int)).mean() > diff.mean()
    small = NtuDataset(out, "ntu60_cv", "train", num_frames=8, points_per_frame=256, rgb=True, rgb_size=32)[0]
    assert small["rgb"].shape == (8, 32, 32, 3)


def test_corrupt_empty_frames_resume_and_summary(tmp_path, sample_root, capsys):
    good, corrupt, holey, blank = ("S001C001P001R001A001", "S001C001P002R001A002", "S001C001P004R001A003",
                                   "S002C001P001R001A004")
    root = _make_root(tmp_path, sample_root, {good: [0, 1, 2, 3], corrupt: [0, 1, 2], holey: [0, 1, 2, 3]})
    bad_png = root / ntu.DEPTH_DIR / corrupt / "MDepth-00000002.png"
    bad_png.unlink()
    bad_png.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    zero = root / ntu.DEPTH_DIR / holey / "MDepth-00000003.png"
    zero.unlink()
    cv2.imwrite(str(zero), np.zeros((424, 512), np.uint16))
    (root / ntu.DEPTH_DIR / blank).mkdir()
    for i in range(2):
        cv2.imwrite(str(root / ntu.DEPTH_DIR / blank / f"MDepth-{i + 1:08d}.png"), np.zeros((424, 512), np.uint16))
    (root / ntu.DEPTH_DIR / "S003C001P001R001A005").mkdir()  # a video folder without frames
    out = tmp_path / "cache"
    (out / "videos").mkdir(parents=True)
    (out / "videos" / f".{good}.999.tmp").write_bytes(b"half a file from a killed run")

    assert _run("--root", root, "--out", out, "--workers", 2, "--no-rgb") == 1
    err = capsys.readouterr().err
    assert f"{bad_png}: corrupt" in err
    assert f"all-zero depth frame {zero}" in err
    assert "every depth frame is empty" in err and blank in err
    assert "S003C001P001R001A005" in err and "no MDepth-*.png frames" in err
    assert "converted 2 videos" in err and "failed 3" in err
    assert sorted(e.name for e in read_index(out)) == sorted([good, holey])
    assert not list((out / "videos").glob(".*.tmp"))
    # the hole is kept empty in the cache and filled from a neighbour when sampled
    assert CachedVideo(video_path(out, holey)).counts.tolist()[2] == 0
    ds = NtuDataset(out, "ntu120_cset", "test", num_frames=4, points_per_frame=64, sampling="dense")
    assert sorted(ds.video_ids) == sorted([good, holey])
    item = ds[ds.video_ids.index(holey)]
    assert torch.count_nonzero(item["points"][2]) > 0

    # resume: finished videos are skipped; fixing the corrupt frame adds its video
    before = video_path(out, good).stat().st_mtime_ns
    bad_png.unlink()
    os.symlink(ntu.list_depth_frames(sample_root / ntu.DEPTH_DIR / SAMPLE)[1], bad_png)
    assert _run("--root", root, "--out", out, "--workers", 1, "--no-rgb") == 1  # blank and frameless still fail
    err = capsys.readouterr().err
    assert "2 already cached" in err and "converted 1 videos" in err
    assert video_path(out, good).stat().st_mtime_ns == before
    assert sorted(e.name for e in read_index(out)) == sorted([good, corrupt, holey])

    # other settings on the same cache are refused
    assert _run("--root", root, "--out", out, "--no-rgb", "--points", 1024) == 2
    assert "other settings" in capsys.readouterr().err


def test_worker_count_does_not_change_the_cache(tmp_path, sample_root):
    names = {"S001C001P001R001A001": [0, 5, 10], "S001C001P002R001A120": [1, 2, 3, 4]}
    root = _make_root(tmp_path, sample_root, names)
    arrays = {}
    for workers in (1, 2):
        out = tmp_path / f"cache{workers}"
        assert _run("--root", root, "--out", out, "--workers", workers, "--no-rgb") == 0
        arrays[workers] = {n: CachedVideo(video_path(out, n)).points for n in names}
    for n in names:
        np.testing.assert_array_equal(arrays[1][n], arrays[2][n])
    # action 120 is kept (PSTNet's script skips 100-120)
    assert NtuDataset(tmp_path / "cache1", "ntu120_csub", "train", points_per_frame=64)[1]["label"] == 119


def test_pstnet_convention_cache(tmp_path, sample_root):
    root = _make_root(tmp_path, sample_root, {SAMPLE: [0]})
    out = tmp_path / "cache"
    assert _run("--root", root, "--out", out, "--no-rgb", "--convention", "pstnet", "--workers", 1) == 0
    z = CachedVideo(video_path(out, SAMPLE)).gather(0, np.arange(100))[:, 2]
    assert np.all((z > 3.3 * 1.5259) & (z < 4.2 * 1.526))  # PSTNet units ~ 1.526 x metres
    ds = NtuDataset(out, "ntu60_cs", "train", convention="pstnet", points_per_frame=32, num_frames=2)
    assert ds[0]["points"].shape == (2, 32, 3)


def test_synthetic_ntu_layout_through_preprocess_to_dataset(tmp_path):
    from vg4d_core.data.synthetic import main as synth_main

    raw = tmp_path / "raw"
    assert synth_main(["--out", str(raw), "--videos", "10", "--min-frames", "6", "--max-frames", "7"]) == 0
    out = tmp_path / "cache"
    assert _run("--root", raw, "--out", out, "--workers", 2, "--rgb-size", 32) == 0
    train = NtuDataset(out, "ntu60_cs", "train", num_frames=4, points_per_frame=128, rgb=True, rgb_size=32)
    test = NtuDataset(out, "ntu60_cs", "test", num_frames=4, points_per_frame=128, rgb=True, rgb_size=32)
    assert len(train) + len(test) == 10 and len(train) > 0 and len(test) > 0
    item = train[0]
    assert item["points"].shape == (4, 128, 3) and item["rgb"].shape == (4, 32, 32, 3)
    assert 0 <= item["label"] < 8
    batch = next(iter(torch.utils.data.DataLoader(test, batch_size=2, num_workers=0)))
    assert batch["rgb"].shape == (2, 4, 32, 32, 3)


def test_killed_run_resumes_without_redoing_finished_videos(tmp_path, sample_root):
    import signal
    import subprocess
    import sys

    names = {f"S001C001P{p:03d}R001A001": None for p in range(1, 17)}
    root = _make_root(tmp_path, sample_root, names)
    out = tmp_path / "cache"
    cmd = [sys.executable, "-m", "vg4d_core.cli", "preprocess", "ntu", "--root", str(root), "--out", str(out),
           "--workers", "1", "--no-rgb", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # kill -9 once two videos are cached (or the run finished: then nothing is left to redo)
        wait_for(lambda: len(list((out / "videos").glob("*.npz"))) >= 2, proc, "two videos were cached",
                 exit_ok=True, poll_s=0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    finished = {p.stem for p in (out / "videos").glob("*.npz")}
    assert finished, "the run was killed before finishing any video"
    for name in finished:  # whatever is in place is complete and readable
        assert CachedVideo(video_path(out, name)).num_frames == 71
    mtimes = {n: video_path(out, n).stat().st_mtime_ns for n in finished}
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{len(finished)} already cached" in done.stderr
    assert {n: video_path(out, n).stat().st_mtime_ns for n in finished} == mtimes
    assert len(read_index(out)) == 16 and not list((out / "videos").glob(".*.tmp"))
