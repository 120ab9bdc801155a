"""End to end over DDS: camera process -> `vg4d recognize --transport dds` process -> this process.

Loopback only, a DDS domain of its own (from the pid), a tiny 12 x 64 checkpoint.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recognizer_helpers import CLASS_NAMES, tiny_checkpoint

LOOPBACK = ('<CycloneDDS><Domain Id="any"><General><Interfaces><NetworkInterface name="lo"/>'
            '</Interfaces></General></Domain></CycloneDDS>')
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
T0, PERIOD = 5_000_000_000, 33_333_333


@pytest.fixture(scope="module")
def domain_id():
    os.environ.setdefault("CYCLONEDDS_URI", LOOPBACK)
    return 1 + (os.getpid() + 101) % 230


def env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), CYCLONEDDS_URI=LOOPBACK,
                OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")


def start_recognizer(ckpt, domain, prefix, stats, *extra):
    cmd = [sys.executable, "-m", "vg4d_core.cli", "recognize", "--transport", "dds", "--checkpoint", str(ckpt),
           "--config", str(REPO / "config/recognize.yaml"), "--domain", str(domain), "--duration", "600",
           "--stats-json", str(stats), f"topics.depth={prefix}/depth", f"topics.camera_info={prefix}/camera_info",
           f"topics.rgb={prefix}/rgb", "inference.device=cpu", "inference.top_k=3", "window.hop_frames=15",
           "window.min_frames=8", "window.min_coverage=0", *extra]
    return subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stream(domain, prefix, frames, *flags):
    return subprocess.Popen([sys.executable, str(HERE / "dds_stream.py"), str(domain), prefix, str(frames), *flags],
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def collect(subs, until, timeout_s):
    got = {k: [] for k in subs}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not until(got):
        for k, s in subs.items():
            if s.wait(0.05):
                got[k] += s.take()
    return got


def finish(rec, timeout_s=60):
    rec.send_signal(signal.SIGTERM)
    out, _ = rec.communicate(timeout=timeout_s)
    return out


@pytest.mark.parametrize("bad", [False, True], ids=["clean", "malformed"])
def test_recognizer_labels_a_live_stream(tmp_path, domain_id, bad):
    from vg4d_ros.transports.dds import DdsSubscriber, participant

    ckpt = tiny_checkpoint(tmp_path / "tiny.pt")
    prefix = f"/vg4d_e2e_{os.getpid()}_{int(bad)}"
    stats_path = tmp_path / "stats.json"
    dp = participant(domain_id)
    subs = {"action": DdsSubscriber(dp, "/recognizer/action", "vision_msgs/msg/Classification", "results"),
            "label": DdsSubscriber(dp, "/recognizer/label", "std_msgs/msg/String", "results"),
            "info": DdsSubscriber(dp, "/recognizer/label_info", "vision_msgs/msg/LabelInfo", "latched"),
            "events": DdsSubscriber(dp, "/recognizer/events", "vg4d_msgs/msg/ActionEvent", "results")}
    rec = start_recognizer(ckpt, domain_id, prefix, stats_path)
    cam = stream(domain_id, prefix, 60, *(["--bad"] if bad else []))
    try:
        got = collect(subs, lambda g: len(g["action"]) >= 3 and g["info"] and len(g["label"]) >= 3, 150)
        cam_out, _ = cam.communicate(timeout=150)
        assert cam.returncode == 0, cam_out
    finally:
        if cam.poll() is None:
            cam.kill()
        out = finish(rec)
    assert rec.returncode == 0, out
    # the recogniser closes the open segment when it stops: that event arrives after the labels
    more = collect({"events": subs["events"]}, lambda g: any(e.ended_by == "stream_end" for e in g["events"]), 20)
    events = got["events"] + more["events"]
    published = {T0 + i * PERIOD for i in range(60)}

    def ns(t):
        return t.sec * 1_000_000_000 + t.nanosec

    # vg4d_msgs/ActionEvent over DDS: started / ended pairs of the labelled windows' stamps, the last one
    # closed by the stop
    assert events and events[0].state == "started" and events[-1].state == "ended", events
    assert events[-1].ended_by == "stream_end"
    for e in events:
        assert e.label == CLASS_NAMES[e.class_id] and e.header.frame_id == "camera_depth_optical_frame"
        assert {ns(e.start), ns(e.end)} <= published and ns(e.start) < ns(e.end)
    assert got["info"] and [(c.class_id, c.class_name) for c in got["info"][0].class_map] == list(enumerate(CLASS_NAMES))
    assert len(got["action"]) >= 3, out
    for msg in got["action"]:
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        assert stamp in published and msg.header.frame_id == "camera_depth_optical_frame"
        assert len(msg.results) == 3 and {h.class_id for h in msg.results} <= {str(i) for i in range(len(CLASS_NAMES))}
        scores = [h.score for h in msg.results]
        assert scores == sorted(scores, reverse=True)
    assert [m.data for m in got["label"]][: len(got["action"])] == [
        CLASS_NAMES[int(m.results[0].class_id)] for m in got["action"]][: len(got["label"])]
    stats = json.loads(stats_path.read_text())
    assert "no RGB score" in out  # the tiny checkpoint has no RGB head: one warning, RGB ignored
    assert out.count("RGB is ignored") == 1
    if bad:
        # best-effort transport: each kind was sent three times (dds_stream.py); every one that arrived
        # is counted under its reason, and processing went on
        counts = stats["malformed"]["depth"]
        assert set(counts) == {
            "sensor_msgs/Image(depth) (sensor_msgs__msg__Image).data has 100 bytes, expected height*step=6144",
            "sensor_msgs/Image(depth) (sensor_msgs__msg__Image).encoding='rgb8' is not a depth encoding "
            "['16UC1', '32FC1', 'mono16']"}, stats
        assert all(1 <= n <= 3 for n in counts.values()), stats
        assert stats["malformed_total"] == sum(counts.values())
    else:
        assert stats["malformed_total"] == 0
    assert stats["windows_formed"] >= 3 and stats["windows_inferred"] >= 3


def test_compressed_depth_and_colour_topics_over_dds(tmp_path, domain_id):
    # image_transport's compressed sub-topic: the reader takes CompressedImage there, and the frames decode
    from vg4d_ros.transports.dds import DdsSubscriber, participant

    ckpt = tiny_checkpoint(tmp_path / "tiny.pt")
    prefix = f"/vg4d_e2e_{os.getpid()}_packed"
    stats_path = tmp_path / "stats.json"
    dp = participant(domain_id)
    subs = {"action": DdsSubscriber(dp, "/recognizer/action", "vision_msgs/msg/Classification", "results")}
    rec = start_recognizer(ckpt, domain_id, prefix, stats_path, f"topics.depth={prefix}/depth/compressedDepth",
                           f"topics.rgb={prefix}/rgb/compressed")
    cam = stream(domain_id, prefix, 45, "--compressed")
    try:
        got = collect(subs, lambda g: len(g["action"]) >= 2, 150)
        cam_out, _ = cam.communicate(timeout=150)
        assert cam.returncode == 0, cam_out
    finally:
        if cam.poll() is None:
            cam.kill()
        out = finish(rec)
    assert rec.returncode == 0, out
    assert len(got["action"]) >= 2, out
    stats = json.loads(stats_path.read_text())
    assert stats["malformed_total"] == 0, stats
    assert stats["messages"]["depth"] >= 2, stats  # (this checkpoint has no colour score: colour is not read)


def test_people_mode_publishes_detections_over_dds(tmp_path, domain_id):
    from vg4d_ros.transports.dds import DdsSubscriber, participant

    ckpt = tiny_checkpoint(tmp_path / "tiny.pt")
    prefix = f"/vg4d_people_{os.getpid()}"
    dp = participant(domain_id)
    sub = DdsSubscriber(dp, "/recognizer/detections", "vision_msgs/msg/Detection3DArray", "results")
    rec = start_recognizer(ckpt, domain_id, prefix, tmp_path / "stats.json", "people.enabled=true",
                           "people.min_height_m=0")
    cam = stream(domain_id, prefix, 60)
    try:
        got = collect({"detections": sub}, lambda g: len(g["detections"]) >= 2, 150)
        cam.communicate(timeout=150)
    finally:
        if cam.poll() is None:
            cam.kill()
        out = finish(rec)
    assert rec.returncode == 0, out
    assert len(got["detections"]) >= 2, out
    published = {T0 + i * PERIOD for i in range(60)}
    for msg in got["detections"]:
        assert msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec in published
        assert [d.id for d in msg.detections] == ["p1"] and len(msg.detections[0].results) == 3
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["people"]["tracks_born"] == 1


def test_bad_checkpoint_fails_fast_with_the_reason(tmp_path, domain_id):
    rec = start_recognizer(tmp_path / "missing.pt", domain_id, "/vg4d_e2e_missing", tmp_path / "s.json")
    out, _ = rec.communicate(timeout=120)
    assert rec.returncode == 2
    assert f"checkpoint not found: {tmp_path / 'missing.pt'}" in out


def test_silent_inputs_are_named_with_the_offered_type(tmp_path, domain_id):
    from vg4d_ros.transports.dds import DdsPublisher, DdsSubscriber, participant

    prefix = f"/vg4d_e2e_silent_{os.getpid()}"
    dp = participant(domain_id)
    # a writer of the wrong type on the depth topic: discovered, never matched
    wrong = DdsPublisher(dp, f"{prefix}/depth", "std_msgs/msg/String", "results")
    stats_path = tmp_path / "stats.json"
    rec = start_recognizer(tiny_checkpoint(tmp_path / "tiny.pt"), domain_id, prefix, stats_path,
                           "silence_timeout_s=2.0")
    info = DdsSubscriber(dp, "/recognizer/label_info", "vision_msgs/msg/LabelInfo", "latched")
    try:
        # label_info comes out right before the watch starts: from then on, 2 s to report
        assert collect({"info": info}, lambda g: g["info"], 120)["info"], "the recogniser never came up"
        for _ in range(20):
            wrong.publish(wrong.typestore.types["std_msgs/msg/String"](data="not an image"))
            time.sleep(0.2)
    finally:
        out = finish(rec)
    assert rec.returncode == 0, out
    topics = json.loads(stats_path.read_text())["topics"]
    assert topics["depth"]["state"] == "silent", topics
    # the cause is named: the writer's type (the DDS name normalised to ROS's), and what this node takes
    message = topics["depth"]["message"]
    assert "offers type std_msgs/msg/String" in message and "subscribes sensor_msgs/msg/Image" in message
    assert topics["camera_info"]["state"] == "no_publisher"
    assert f"{prefix}/depth: 1 publisher(s) but nothing delivered" in out
    assert f"{prefix}/camera_info: no publisher" in out


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_soak_ten_minutes_at_30_hz(tmp_path, domain_id):
    """10 minutes of 30 Hz depth + camera_info + RGB: no crash, resident memory grows < 50 MB."""
    from vg4d_ros.transports.dds import DdsSubscriber, participant

    minutes = float(os.environ.get("VG4D_SOAK_MINUTES", "10"))
    frames = int(minutes * 60 * 30)
    ckpt = tiny_checkpoint(tmp_path / "tiny.pt")
    prefix = f"/vg4d_soak_{os.getpid()}"
    stats_path = tmp_path / "stats.json"
    dp = participant(domain_id)
    action = DdsSubscriber(dp, "/recognizer/action", "vision_msgs/msg/Classification", "results")
    rec = start_recognizer(ckpt, domain_id, prefix, stats_path)
    cam = stream(domain_id, prefix, frames)
    received, rss = 0, []
    try:
        start = time.monotonic()
        while cam.poll() is None and time.monotonic() - start < minutes * 60 + 180:
            if action.wait(1.0):
                received += len(action.take(256))
            elapsed = time.monotonic() - start
            if not rss or elapsed - rss[-1][0] >= 10:
                assert rec.poll() is None, "the recogniser died"
                rss.append((elapsed, rss_mb(rec.pid)))
        assert cam.returncode == 0, cam.communicate()[0]
    finally:
        if cam.poll() is None:
            cam.kill()
        out = finish(rec, 120)
    assert rec.returncode == 0, out
    stats = json.loads(stats_path.read_text())
    warm = [m for t, m in rss if t >= 60] or [m for _, m in rss]
    growth = max(warm) - warm[0]
    print(f"soak: {frames} frames, {stats['windows_formed']} windows, {stats['windows_inferred']} labelled, "
          f"{stats['windows_dropped']} dropped, {received} received, RSS {warm[0]:.0f} -> {max(warm):.0f} MB")
    assert growth < 50, rss
    assert stats["windows_inferred"] > 0 and stats["malformed_total"] == 0
