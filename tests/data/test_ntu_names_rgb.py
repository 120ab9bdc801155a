"""NTU RGB+D names, protocols, raw depth frames and RGB decoding."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from missing_data import skip_or_fail
from vg4d_core.data import ntu
from vg4d_core.data.rgb import align_to_depth, count_frames, read_video, resize_frame


def test_parse_and_format_names():
    n = ntu.parse_name("S017C003P040R002A120")
    assert (n.setup, n.camera, n.performer, n.replication, n.action, n.label) == (17, 3, 40, 2, 120, 119)
    assert str(n) == "S017C003P040R002A120"
    assert ntu.parse_name("/data/nturgb+d_rgb/S001C001P001R001A001_rgb.avi").action == 1
    for bad, match in [("S001C001P001R001A1", "SsssCccc"), ("S033C001P001R001A001", "setup 33"),
                       ("S001C004P001R001A001", "camera 4"), ("S001C001P001R001A121", "action 121"),
                       ("S001C001P107R001A001", "performer 107")]:
        with pytest.raises(ValueError, match=match):
            ntu.parse_name(bad)


def test_all_120_classes_named():
    assert len(ntu.CLASS_NAMES) == 120 and len(set(ntu.CLASS_NAMES)) == 120
    assert ntu.CLASS_NAMES[0] == "drink water" and ntu.CLASS_NAMES[57] == "handshaking"
    assert ntu.CLASS_NAMES[99] == "butt kicks (kick backward)"  # A100: the first class PSTNet's script skips


def test_protocol_membership_counts():
    assert len(ntu.NTU60_CS_TRAIN_PERFORMERS) == 20
    assert len(ntu.NTU120_CSUB_TRAIN_PERFORMERS) == 53
    assert ntu.NTU60_CS_TRAIN_PERFORMERS < ntu.NTU120_CSUB_TRAIN_PERFORMERS
    assert max(ntu.NTU60_CS_TRAIN_PERFORMERS) <= ntu.NTU60_NUM_PERFORMERS
    assert ntu.NTU120_CSET_TRAIN_SETUPS == frozenset(range(2, 33, 2)) and len(ntu.NTU120_CSET_TRAIN_SETUPS) == 16

    def count(protocol, field, values, **fixed):
        p = ntu.get_protocol(protocol)
        base = dict(setup=1, camera=1, performer=1, replication=1, action=1)
        base.update(fixed)
        out = {"train": 0, "test": 0, None: 0}
        for v in values:
            base[field] = v
            out[p.split_of(ntu.NtuName(**base))] += 1
        return out

    assert count("ntu60_cs", "performer", range(1, 41)) == {"train": 20, "test": 20, None: 0}
    assert count("ntu120_csub", "performer", range(1, 107)) == {"train": 53, "test": 53, None: 0}
    assert count("ntu60_cv", "camera", range(1, 4)) == {"train": 2, "test": 1, None: 0}
    assert count("ntu120_cset", "setup", range(1, 33)) == {"train": 16, "test": 16, None: 0}
    # NTU60 protocols contain setups 1-17 and actions 1-60 only
    assert count("ntu60_cs", "setup", range(1, 33)) == {"train": 17, "test": 0, None: 15}
    assert count("ntu60_cv", "action", range(1, 121), camera=1) == {"train": 0, "test": 60, None: 60}
    assert count("ntu120_cset", "action", range(1, 121), setup=2) == {"train": 120, "test": 0, None: 0}
    with pytest.raises(ValueError, match="unknown NTU protocol"):
        ntu.get_protocol("ntu60_xsub")


def test_sample_layout_and_frame_order(shared_data):
    root = shared_data / "ntu_sample"
    if not root.is_dir():
        skip_or_fail(f"NTU sample not found at {root}")
    assert ntu.list_depth_videos(root) == ["S001C001P001R001A058"]
    frames = ntu.list_depth_frames(ntu.depth_video_dir(root, "S001C001P001R001A058"))
    assert [p.name for p in frames[:2]] == ["MDepth-00000001.png", "MDepth-00000002.png"] and len(frames) == 71
    assert ntu.rgb_video_path(root, "S001C001P001R001A001").is_file()


def test_corrupt_and_wrong_depth_pngs_are_named(tmp_path):
    bad = tmp_path / "MDepth-00000001.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage")
    with pytest.raises(ValueError, match="MDepth-00000001.png: corrupt"):
        ntu.read_depth_png(bad)
    empty = tmp_path / "MDepth-00000002.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="MDepth-00000002.png"):
        ntu.read_depth_png(empty)
    eight_bit = tmp_path / "MDepth-00000003.png"
    cv2.imwrite(str(eight_bit), np.zeros((424, 512), np.uint8))
    with pytest.raises(ValueError, match="16-bit"):
        ntu.read_depth_png(eight_bit)
    small = tmp_path / "MDepth-00000004.png"
    cv2.imwrite(str(small), np.zeros((10, 12), np.uint16))
    with pytest.raises(ValueError, match="12x10"):
        ntu.read_depth_png(small)


# -- RGB ----------------------------------------------------------------------
def test_real_rgb_video_decodes_resized(shared_data):
    path = shared_data / "ntu_sample" / "nturgb+d_rgb" / "S001C001P001R001A001_rgb.avi"
    if not path.is_file():
        skip_or_fail(f"NTU sample video not found at {path}")
    assert count_frames(path) == 103
    some, n = read_video(path, size=112, frames=[50, 0, 50, 102])
    assert n == 103 and some.shape == (4, 112, 112, 3) and some.dtype == np.uint8
    np.testing.assert_array_equal(some[0], some[2])
    assert some.std() > 10  # real image content, not a blank frame
    with pytest.raises(ValueError, match="has 103 frames"):
        read_video(path, size=32, frames=[103])


def _write_video(path, frames_bgr):
    h, w = frames_bgr[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (w, h))
    for f in frames_bgr:
        writer.write(f)
    writer.release()


def test_rgb_channel_order_fits_and_frame_selection(tmp_path):
    frames = []
    for i in range(6):
        f = np.zeros((48, 96, 3), np.uint8)
        f[..., 2] = 220  # red in BGR
        f[:, 40:56, 1] = 40 * i  # a green bar in the centre, brighter each frame
        frames.append(f)
    path = tmp_path / "clip.avi"
    _write_video(path, frames)
    allf, n = read_video(path, size=24, fit="stretch")
    assert n == 6 and allf.shape == (6, 24, 24, 3)
    assert allf[..., 0].mean() > 180 and allf[..., 2].mean() < 30  # RGB order: red first
    picked, _ = read_video(path, size=24, fit="stretch", frames=[5, 1])
    np.testing.assert_array_equal(picked, allf[[5, 1]])
    assert picked[0, :, 12, 1].mean() > picked[1, :, 12, 1].mean() + 100
    crop = resize_frame(frames[5], 24, "crop")  # keeps the centre 48x48: the bar is wider there
    pad = resize_frame(frames[5], 24, "pad")
    assert crop.shape == pad.shape == (24, 24, 3)
    assert (pad[:6] == 0).all() and (crop[:6, :, 0] > 150).all()  # letterbox vs full-height crop
    with pytest.raises(ValueError, match="fit"):
        resize_frame(frames[0], 24, "zoom")


def test_missing_and_corrupt_videos_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing_rgb.avi"):
        read_video(tmp_path / "nothing_rgb.avi")
    bad = tmp_path / "bad_rgb.avi"
    bad.write_bytes(b"RIFF" + bytes(2000))
    with pytest.raises(ValueError, match="bad_rgb.avi"):
        read_video(bad)


def test_align_to_depth():
    np.testing.assert_array_equal(align_to_depth(71, 71), np.arange(71))
    idx = align_to_depth(71, 103)
    assert idx.shape == (71,) and idx[0] == 0 and idx[-1] == 102 and np.all(np.diff(idx) >= 1)
    short = align_to_depth(100, 98)
    assert short.max() == 97 and np.all(np.diff(short) >= 0) and np.all(np.abs(short - np.arange(100)) <= 2)
    with pytest.raises(ValueError, match="num_rgb"):
        align_to_depth(10, 0)


# Literal protocol lists, copied from the dataset papers, not from the code:
# Shahroudy et al., "NTU RGB+D", CVPR 2016, Sec. 4 (cross-subject training IDs;
# cross-view: cameras 2 and 3 train); Liu et al., "NTU RGB+D 120", TPAMI 2019,
# Sec. 5 (cross-subject training IDs; cross-setup: even setup IDs train).
PAPER_NTU60_CS_TRAIN = [1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38]
PAPER_NTU120_CSUB_TRAIN = [
    1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38, 45, 46, 47, 49, 50, 52, 53, 54, 55,
    56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103]
PAPER_NTU60_CV_TRAIN = [2, 3]
PAPER_NTU120_CSET_TRAIN = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32]


@pytest.mark.parametrize("protocol, field, values, expected", [
    ("ntu60_cs", "performer", range(1, 41), PAPER_NTU60_CS_TRAIN),
    ("ntu120_csub", "performer", range(1, 107), PAPER_NTU120_CSUB_TRAIN),
    ("ntu60_cv", "camera", range(1, 4), PAPER_NTU60_CV_TRAIN),
    ("ntu120_cset", "setup", range(1, 33), PAPER_NTU120_CSET_TRAIN),
])
def test_protocol_training_sets_are_the_papers(protocol, field, values, expected):
    """Membership, not counts: every ID lands in the split the paper puts it in."""
    p = ntu.get_protocol(protocol)
    base = dict(setup=2, camera=1, performer=1, replication=1, action=1)
    train = []
    for v in values:
        split = p.split_of(ntu.NtuName(**{**base, field: v}))
        assert split in ("train", "test"), (protocol, field, v, split)
        if split == "train":
            train.append(v)
    assert train == expected
