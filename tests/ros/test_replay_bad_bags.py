"""Bad bags through `vg4d replay`: each one a clear error naming the problem or a counted warning."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from replay_helpers import tiny_checkpoint
from vg4d_ros.bags.bagio import BagWriter, header
from vg4d_ros.bags.ntu2bag import depth_image_msg

W, H, FX = 64, 48, 60.0
T0 = 1_700_000_000 * 1_000_000_000
DT = 33_333_333
CLASSES = ["wave", "bow"]


def _info(ts, stamp):
    T = ts.types
    return T["sensor_msgs/msg/CameraInfo"](
        header=header(ts, stamp, "cam"), height=H, width=W, distortion_model="plumb_bob", d=np.zeros(5),
        k=np.array([FX, 0, W / 2, 0, FX, H / 2, 0, 0, 1.0]), r=np.eye(3).reshape(-1), p=np.zeros(12), binning_x=0,
        binning_y=0, roi=T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                                do_rectify=False))


def _depth(i):
    d = np.zeros((H, W), np.uint16)
    d[10:40, 16 + i % 20: 28 + i % 20] = 1500
    return d


def make_bag(path: Path, storage="mcap", n=12, *, info=True, info_from=0, stamps=None, label="wave",
             depth_topic="/camera/depth/image_raw", extra=None):
    """A small depth bag; ``label``: the ground truth of every frame, or {frame: label} published at those only."""
    labels = label if isinstance(label, dict) else dict.fromkeys(range(n), label)
    with BagWriter(path, storage) as w:
        ts = w.typestore
        for i in range(n):
            stamp = stamps[i] if stamps is not None else T0 + i * DT
            if info and i >= info_from:
                w.write("/camera/depth/camera_info", "sensor_msgs/msg/CameraInfo", T0 + i * DT - 1000, _info(ts, stamp))
            w.write(depth_topic, "sensor_msgs/msg/Image", T0 + i * DT, depth_image_msg(ts, _depth(i), stamp, "cam"))
            if i in labels:
                w.write("/vg4d/ground_truth", "std_msgs/msg/String", T0 + i * DT,
                        ts.types["std_msgs/msg/String"](data=labels[i]))
        if extra:
            extra(w)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from vg4d_ros.config import load_recognizer_config
    from vg4d_ros.pipeline.model import load_model

    root = tmp_path_factory.mktemp("bad")
    ck = tiny_checkpoint(root / "t.pt", CLASSES, {"name": "synthetic", "num_frames": 8, "points_per_frame": 64,
                                                  "seed": 0})
    config = load_recognizer_config(None, [f"inference.checkpoint={ck}", "inference.device=cpu", "window.min_coverage=0",
                                           "window.min_frames=4", "window.hop_frames=4"])
    return config, load_model(config)


def _run(setup, *bags):
    from vg4d_ros.bags.replay import ReplayOptions, replay

    config, model = setup
    return replay(list(bags), config, ReplayOptions(), None, model=model)


def test_a_good_bag_has_no_warnings(setup, tmp_path):
    report = _run(setup, make_bag(tmp_path / "ok"))
    s = report["summary"]
    assert s["bags_failed"] == 0 and s["windows"] == 4  # at frames 4, 8, 12 + the end window
    assert s["labelled_windows"] == 4 and set(s["warnings"].values()) == {0}


def test_missing_topics_are_an_error_listing_what_the_bag_has(setup, tmp_path):
    report = _run(setup, make_bag(tmp_path / "other", depth_topic="/kinect2/sd/image_depth_rect"))
    err = report["bags"][0]["error"]
    assert "missing depth /camera/depth/image_raw" in err
    assert "/kinect2/sd/image_depth_rect (sensor_msgs/msg/Image, 12 messages)" in err
    assert "/camera/depth/camera_info (sensor_msgs/msg/CameraInfo, 12 messages)" in err
    assert report["summary"]["bags_failed"] == 1 and report["summary"]["windows"] == 0


def test_depth_without_camera_info(setup, tmp_path):
    report = _run(setup, make_bag(tmp_path / "noinfo", info=False))
    assert "depth without camera info" in report["bags"][0]["error"]
    report = _run(setup, make_bag(tmp_path / "lateinfo", info_from=3))
    bag = report["bags"][0]
    assert not bag["error"] and bag["warnings"]["waiting_for_camera_info"] == 3


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_truncated_bags_are_errors(setup, tmp_path, storage):
    bag = make_bag(tmp_path / "cut", storage, n=30)
    (data,) = [p for p in bag.iterdir() if p.suffix in (".mcap", ".db3")]
    raw = data.read_bytes()
    data.write_bytes(raw[: len(raw) // 2])
    err = _run(setup, bag)["bags"][0]["error"]
    assert err and ("cannot open bag" in err or "corrupt or cut short" in err)


def test_sqlite_cut_near_its_end_is_an_error_not_a_short_answer(setup, tmp_path):
    bag = make_bag(tmp_path / "cutend", "sqlite3", n=30)
    (data,) = bag.glob("*.db3")
    raw = data.read_bytes()
    data.write_bytes(raw[: len(raw) - 4096])
    err = _run(setup, bag)["bags"][0]["error"]
    assert err and ("cannot open bag" in err or "corrupt or cut short" in err)


def test_missing_and_empty_bags(setup, tmp_path):
    report = _run(setup, tmp_path / "nowhere")
    assert "does not exist" in report["bags"][0]["error"]
    empty = make_bag(tmp_path / "empty", n=0)
    err = _run(setup, empty)["bags"][0]["error"]
    assert err and ("cannot open bag" in err or "no messages" in err or "missing depth" in err)


def test_unknown_types_elsewhere_are_ignored_and_undecodable_payloads_counted(setup, tmp_path):
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    custom = get_typestore(Stores.ROS2_HUMBLE)  # a project's own message type, unknown to the replay's store
    custom.register(get_types_from_msg("int32 x\n", "acme_msgs/msg/Blob"))

    def extra(w):
        w.write_raw("/acme/blob", "acme_msgs/msg/Blob", T0, b"\x00\x01\x00\x00\x05\x00\x00\x00", typestore=custom)
        # an Image connection whose payload is not an Image
        w.write_raw("/camera/depth/image_raw", "sensor_msgs/msg/Image", T0 + 12 * DT, b"\x00\x01\x00\x00garbage")
    report = _run(setup, make_bag(tmp_path / "unknown", extra=extra))
    bag = report["bags"][0]
    assert not bag["error"] and "/acme/blob" in bag["topics"]
    assert bag["warnings"]["undecodable_messages"] == 1
    assert bag["recognizer"]["malformed_total"] == 1


def test_wrong_type_on_an_input_topic_is_an_error(setup, tmp_path):
    path = tmp_path / "wrongtype"
    with BagWriter(path, "mcap") as w:
        w.write("/camera/depth/camera_info", "sensor_msgs/msg/CameraInfo", T0, _info(w.typestore, T0))
        w.write("/camera/depth/image_raw", "std_msgs/msg/String", T0, w.typestore.types["std_msgs/msg/String"](data="x"))
    err = _run(setup, path)["bags"][0]["error"]
    assert "wrong type: depth /camera/depth/image_raw is std_msgs/msg/String, expected sensor_msgs/msg/Image" in err


def test_stamps_going_backwards_are_counted(setup, tmp_path):
    stamps = [T0 + i * DT for i in range(12)]
    stamps[6] = stamps[4]  # one frame re-stamped into the past
    bag = _run(setup, make_bag(tmp_path / "back", stamps=stamps))["bags"][0]
    assert bag["warnings"]["stamps_backwards"] == 2  # the depth image and its camera info carry the stamp
    assert bag["warnings"]["frames_out_of_order"] == 1


def test_labels_that_are_not_classes_are_counted(setup, tmp_path):
    bag = _run(setup, make_bag(tmp_path / "typo", label="wvae"))["bags"][0]
    assert bag["warnings"]["unknown_labels"] == 1
    assert bag["window_accuracy"] is None  # no window the model could have got right: no accuracy, not 0 %
    assert all(w["unknown_label"] and w["correct"] is None for w in bag["windows"])


def _cli(setup, tmp_path, capsys, *inputs):
    from vg4d_core.cli import main as vg4d

    config, _ = setup
    status = vg4d(["replay", *map(str, inputs), "--checkpoint", config.inference.checkpoint, "--out",
                   str(tmp_path / "out"), "inference.device=cpu", "window.min_coverage=0", "window.min_frames=4", "window.hop_frames=4"])
    return status, json.loads((tmp_path / "out" / "report.json").read_text()), capsys.readouterr().out


def test_a_folder_with_bad_members_is_replayed_with_them_skipped(setup, tmp_path, capsys):
    folder = tmp_path / "session"
    make_bag(folder / "a_good")
    (folder / "b_notes.txt").write_text("recorded on Tuesday\n")
    cut = make_bag(folder / "c_cut", n=30)
    (data,) = cut.glob("*.mcap")
    data.write_bytes(data.read_bytes()[:2000])
    status, report, out = _cli(setup, tmp_path, capsys, folder)
    assert status == 3  # finished, something skipped
    skipped = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {"b_notes.txt", "c_cut"} and all(skipped.values())
    s = report["summary"]
    assert s["bags"] == 3 and s["bags_failed"] == 2 and s["windows"] == 4 and s["labelled_windows"] == 4
    assert s["window_accuracy"] is not None
    for name in skipped:
        assert f"skipped {folder / name}: " in out
    assert "3 bag(s) (2 skipped)" in out


def test_the_exit_statuses_are_documented(capsys):
    from vg4d_ros.bags.replay import main

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "exit status:" in text and "3  finished, but some input was skipped" in text
    assert "2  nothing was replayed" in text and "0  every bag was replayed" in text


def test_unknown_labels_are_named_once_and_left_out_of_the_accuracy(setup, tmp_path, capsys):
    status, report, out = _cli(setup, tmp_path, capsys, make_bag(tmp_path / "good"),
                               make_bag(tmp_path / "typo", label="wvae"))
    assert status == 0
    s = report["summary"]
    assert s["unknown_labels"] == {"labels": ["wvae"], "windows": 4, "videos": 1}
    assert s["labelled_windows"] == 4 and s["videos"] == 1  # the good bag's only
    assert s["window_accuracy"] == report["bags"][0]["window_accuracy"]
    line = "labels the checkpoint has no class for, excluded from the accuracies: 'wvae' (4 window(s), 1 video(s))"
    assert out.count(line) == 1


def test_the_last_label_of_a_sparse_label_topic_holds_to_the_end_of_the_bag(setup, tmp_path):
    # labels published on change only: "wave" at frame 0, "bow" at frame 6, then nothing to the end (14 frames)
    bag = _run(setup, make_bag(tmp_path / "sparse", n=14, label={0: "wave", 6: "bow"}))["bags"][0]
    labels = [(w["kind"], w["num_frames"], w["label"]) for w in bag["windows"]]
    assert labels == [("window", 4, "wave"), ("window", 8, "bow"), ("window", 12, "bow"), ("end", 14, "bow")]
    assert bag["warnings"]["unlabelled_windows"] == 0 and bag["video"]["label"] == "bow"


def test_a_malformed_message_of_a_compressed_sub_topic_is_logged_under_that_topic(setup, tmp_path):
    # the raw topic is configured, the recording holds its compressedDepth sub-topic (replay reads that):
    # a message that does not decode is reported under the topic it came from, not the configured one
    from vg4d_ros.bags.replay import ReplayOptions, replay
    from vg4d_ros.pipeline.compressed import encode_depth

    sub = "/camera/depth/image_raw/compressedDepth"
    path = tmp_path / "compressed"
    with BagWriter(path, "mcap") as w:
        T = w.typestore.types
        for i in range(8):
            stamp = T0 + i * DT
            w.write("/camera/depth/camera_info", "sensor_msgs/msg/CameraInfo", stamp - 1000, _info(w.typestore, stamp))
            fields = encode_depth(_depth(i), header(w.typestore, stamp, "cam"))
            data = np.frombuffer(fields["data"], np.uint8)
            if i == 5:
                data = data[: len(data) // 2]  # a truncated PNG
            w.write(sub, "sensor_msgs/msg/CompressedImage", stamp,
                    T["sensor_msgs/msg/CompressedImage"](header=fields["header"], format=fields["format"], data=data))
    logged = []
    config, model = setup
    report = replay([path], config, ReplayOptions(), None, model=model, log=lambda level, text: logged.append(text))
    bag = report["bags"][0]
    assert not bag["error"] and bag["recognizer"]["malformed_total"] == 1
    (line,) = [t for t in logged if "malformed message" in t]
    assert line.startswith(f"malformed message on {sub}: "), line
