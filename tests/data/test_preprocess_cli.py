"""`vg4d preprocess ntu` options and roots that convert nothing: --limit validation, ignored entries."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from vg4d_core.data import ntu
from vg4d_core.data.cache import read_index
from vg4d_core.data.preprocess_cli import main


def _run(*args):
    return main(["ntu", "--no-progress", "--no-rgb", "--workers", "1", *[str(a) for a in args]])


def _video(root, name, frames=2):
    """A tiny depth video: a 3 x 2 pixel block at ~2 m in every 512 x 424 frame."""
    d = root / ntu.DEPTH_DIR / name
    d.mkdir(parents=True)
    for i in range(frames):
        img = np.zeros((424, 512), np.uint16)
        img[200:202, 250:253] = 2000 + i
        assert cv2.imwrite(str(d / f"MDepth-{i + 1:08d}.png"), img)


NAMES = ["S001C001P001R001A001", "S001C001P001R001A002", "S001C001P002R001A003"]


@pytest.mark.parametrize("limit", ["-1", "0", "-3"])
def test_limit_below_one_is_refused_with_status_2(tmp_path, capsys, limit):
    for n in NAMES:
        _video(tmp_path / "raw", n)
    with pytest.raises(SystemExit) as exc:
        _run("--root", tmp_path / "raw", "--out", tmp_path / "cache", "--limit", limit)
    assert exc.value.code == 2
    assert f"--limit must be >= 1 (a number of videos), got {limit}" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()


def test_limit_converts_the_first_videos_in_name_order(tmp_path):
    for n in NAMES:
        _video(tmp_path / "raw", n)
    assert _run("--root", tmp_path / "raw", "--out", tmp_path / "cache", "--limit", 2) == 0
    assert [e.name for e in read_index(tmp_path / "cache")] == NAMES[:2]
    # a limit beyond the number of videos converts them all (the last one too)
    assert _run("--root", tmp_path / "raw", "--out", tmp_path / "cache", "--limit", 10) == 0
    assert [e.name for e in read_index(tmp_path / "cache")] == NAMES


def test_root_with_only_misnamed_entries_fails_and_names_them(tmp_path, capsys):
    raw = tmp_path / "raw"
    for n in ("S001C001P001R001A001_copy", "s001c001p001r001a001", "S001C004P001R001A001", "video1"):
        _video(raw, n)  # suffix, lower case, camera 4 out of range, not a name
    (raw / ntu.DEPTH_DIR / "notes.txt").write_text("x")
    assert _run("--root", raw, "--out", tmp_path / "cache") == 2
    err = capsys.readouterr().err
    assert "no NTU video folder" in err and "all 5 entries are ignored" in err
    for n in ("'S001C001P001R001A001_copy'", "'S001C004P001R001A001'", "'notes.txt'", "'s001c001p001r001a001'",
              "'video1'"):
        assert n in err
    assert not (tmp_path / "cache").exists()  # no empty cache is left behind


def test_empty_depth_folder_fails(tmp_path, capsys):
    (tmp_path / "raw" / ntu.DEPTH_DIR).mkdir(parents=True)
    assert _run("--root", tmp_path / "raw", "--out", tmp_path / "cache") == 2
    assert "no video folders under" in capsys.readouterr().err


def test_ignored_entries_are_counted_in_summary_and_report(tmp_path, capsys):
    raw = tmp_path / "raw"
    _video(raw, NAMES[0])
    for i in range(7):
        _video(raw, f"bad{i}", frames=1)
    assert _run("--root", raw, "--out", tmp_path / "cache") == 0
    err = capsys.readouterr().err
    assert "converted 1 videos" in err and "ignored 7 entries that are not NTU video folders" in err
    assert "'bad0', 'bad1', 'bad2', 'bad3', 'bad4', ... (2 more)" in err
    report = json.loads((tmp_path / "cache" / "report.json").read_text())
    assert report["ignored"] == 7 and report["ignored_examples"] == [f"bad{i}" for i in range(5)]
    assert report["videos_converted"] == 1


def test_scan_depth_videos_splits_names_and_ignored(tmp_path):
    _video(tmp_path, NAMES[1], frames=1)
    _video(tmp_path, "S001C001P001R001A001x", frames=1)
    assert ntu.scan_depth_videos(tmp_path) == ([NAMES[1]], ["S001C001P001R001A001x"])
    assert ntu.list_depth_videos(tmp_path) == [NAMES[1]]
