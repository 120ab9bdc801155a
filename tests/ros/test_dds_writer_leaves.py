"""A DDS writer that comes and goes while an input is silent never brings the recogniser down.

When a writer leaves, the built-in publication topic delivers a dispose sample
carrying only the writer's key (no topic name); the silence watch polls that
topic only for inputs that never received a message. Loopback, a DDS domain of
its own, the tiny checkpoint and the camera subprocess of the end-to-end test.
"""
from __future__ import annotations

import gc
import json
import os

import pytest

from recognizer_helpers import tiny_checkpoint
from test_dds_recognizer_e2e import LOOPBACK, collect, finish, start_recognizer, stream


@pytest.fixture(scope="module")
def domain_id():
    os.environ.setdefault("CYCLONEDDS_URI", LOOPBACK)
    return 1 + (os.getpid() + 157) % 230


def depth_state(diagnostics, topic):
    """The state the recogniser's newest /diagnostics reports for its depth input, or None."""
    for array in reversed(diagnostics):
        for status in array.status:
            values = {kv.key: kv.value for kv in status.values}
            if values.get("topic") == topic:
                return values["state"]
    return None


def test_a_writer_leaving_a_silent_input_is_not_a_crash(tmp_path, domain_id):
    from vg4d_ros.transports.dds import DdsPublisher, DdsSubscriber, participant

    prefix = f"/vg4d_leave_{os.getpid()}"
    dp = participant(domain_id)
    # a writer of the wrong type on the depth topic: discovered, never delivers a message
    visitor = DdsPublisher(dp, f"{prefix}/depth", "std_msgs/msg/String", "results")
    stats_path = tmp_path / "stats.json"
    rec = start_recognizer(tiny_checkpoint(tmp_path / "tiny.pt"), domain_id, prefix, stats_path,
                           "silence_timeout_s=1.0", "topics.rgb=")
    diag = DdsSubscriber(dp, "/diagnostics", "diagnostic_msgs/msg/DiagnosticArray", "results")
    action = DdsSubscriber(dp, "/recognizer/action", "vision_msgs/msg/Classification", "results")
    cam = None
    try:
        # the watch polls the built-in publication topic only while the input is silent
        got = collect({"diag": diag}, lambda g: depth_state(g["diag"], f"{prefix}/depth") == "silent", 180)
        assert depth_state(got["diag"], f"{prefix}/depth") == "silent", "the recogniser never saw the visitor"
        del visitor
        gc.collect()  # the writer is deleted with its Python object: it leaves the domain now
        # its dispose sample carries no topic name (the crash was here); the recogniser forgets the writer
        got = collect({"diag": diag}, lambda g: depth_state(g["diag"], f"{prefix}/depth") == "no_publisher", 60)
        assert depth_state(got["diag"], f"{prefix}/depth") == "no_publisher", "the visitor was not forgotten"
        assert rec.poll() is None, "the recogniser died when the writer left"
        cam = stream(domain_id, prefix, 60)
        got = collect({"action": action}, lambda g: g["action"], 150)  # and it still labels what comes
        cam_out, _ = cam.communicate(timeout=150)
        assert cam.returncode == 0, cam_out
    finally:
        if cam is not None and cam.poll() is None:
            cam.kill()
        out = finish(rec)
    assert rec.returncode == 0, out
    assert "Traceback" not in out, out
    assert got["action"], out
    assert json.loads(stats_path.read_text())["windows_inferred"] >= 1
