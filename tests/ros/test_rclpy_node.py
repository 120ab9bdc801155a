"""The recogniser as a real rclpy lifecycle node, driven as on a robot.

In-process: the node and a driver node (see :mod:`rclpy_helpers`) in one
executor; every transition goes through the lifecycle services. The
subprocess tests are in ``test_rclpy_node_process.py``. Field types are
checked (``ROS_PYTHON_CHECK_FIELDS=1``), so a wrong type fails as on Humble.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import pytest

from missing_data import import_ros

rx = import_ros("rclpy_helpers")  # rclpy + vision_msgs: skipped without them, a failure under CI

import rclpy  # noqa: E402
import rclpy.parameter  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

import recognizer_helpers as rh  # noqa: E402
from vg4d_ros.transports.rclpy_node import RecognizerNode  # noqa: E402

pytestmark = pytest.mark.rclpy

WINDOW = {"window.min_frames": 6, "window.hop_frames": 6, "window.window_s": 0.5, "window.min_coverage": 0.0,
          "window.views": 1,
          "inference.device": "cpu",
          "silence_timeout_s": 1.0, "output.diagnostics_period_s": 0.2}


@pytest.fixture
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=rx.next_domain())
    yield ctx
    rclpy.try_shutdown(context=ctx)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return rh.tiny_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt")


def make_node(context, checkpoint, name: str = "recognizer", namespace: str = "", **params) -> RecognizerNode:
    values = {**WINDOW, "inference.checkpoint": str(checkpoint), **params}
    return RecognizerNode(name, context=context, namespace=namespace,
                          parameter_overrides=[Parameter(k, value=v) for k, v in values.items()])


@contextlib.contextmanager
def session(context, node: RecognizerNode, target: str = "/recognizer"):
    """(driver, node, spinner) spinning while the body runs; the node is released and destroyed after."""
    driver = rx.Driver(context, target)
    spin = rx.Spinner(context, node, driver.node)
    try:
        yield driver, node, spin
    finally:
        spin.close()
        node.release()
        node.destroy_node()


@pytest.fixture
def running(context, checkpoint):
    """(driver, node, spinner): a configured and active recogniser at the root namespace, no input yet.

    Its name is unique in the process (``driver.target`` is ``/<name>``), so its /rosout log is its own."""
    name = rx.unique_name()
    node = make_node(context, checkpoint, name=name)
    driver = rx.Driver(context, f"/{name}")
    spin = rx.Spinner(context, node, driver.node)
    assert driver.transition("configure") and driver.transition("activate")
    yield driver, node, spin
    spin.close()
    node.release()
    node.destroy_node()
    driver.node.destroy_node()


def test_depth_16uc1_gives_actions_and_labels_with_the_input_stamp_and_frame(running):
    driver, node, _ = running
    driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: driver.count("action") >= 3 and driver.count("label") >= 3, "3 actions and labels")
    sent = {rx.T0_NS + i * rx.PERIOD_NS for i in range(driver.frames_sent + 1)}
    names = rh.CLASS_NAMES
    for msg in driver.messages("action"):
        assert rx.stamp_ns(msg) in sent and msg.header.frame_id == "camera_depth_optical_frame"
        assert 1 <= len(msg.results) <= len(names)
        scores = [h.score for h in msg.results]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    labels = [m.data for m in driver.messages("label")]
    tops = [names[int(m.results[0].class_id)] for m in driver.messages("action")]
    n = min(len(labels), len(tops))
    assert labels[:n] == tops[:n]


def test_depth_32fc1_metres_with_nan(running):
    driver, _, _ = running
    driver.stream(rx.depth_32fc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: driver.count("action") >= 2, "actions from 32FC1 depth")


@pytest.mark.parametrize("make", [rx.depth_compressed, rx.depth_rvl], ids=["png", "rvl"])
def test_compressed_depth_topic_gives_the_labels_of_the_raw_one(context, checkpoint, make):
    # image_transport's naming: a depth topic ending in /compressedDepth is subscribed as CompressedImage
    topic = "/camera/depth/image_raw/compressedDepth"
    results = {}
    for key, depth_topic, frames in (("raw", "/camera/depth/image_raw", rx.depth_16uc1), ("packed", topic, make)):
        with session(context, make_node(context, checkpoint, **{"topics.depth": depth_topic})) as (driver, node, _):
            assert driver.transition("configure") and driver.transition("activate")
            driver.stream(frames, depth_topic, info_topic="/camera/depth/camera_info")
            rx.wait_until(lambda: driver.count("action") >= 3, f"3 actions from {depth_topic}")
            driver.stop_stream()
            results[key] = {rx.stamp_ns(m): [(h.class_id, round(h.score, 6)) for h in m.results]
                            for m in driver.messages("action")}
            assert not node._core.malformed
    common = sorted(set(results["raw"]) & set(results["packed"]))
    assert common, "no window at the same stamp in both runs"
    for stamp in common:  # lossless: the same points, so the same probabilities
        assert results["raw"][stamp] == results["packed"][stamp]


def test_pointcloud2_input(context, checkpoint):
    with session(context, make_node(context, checkpoint, input="cloud")) as (driver, node, spin):
        assert driver.transition("configure") and driver.transition("activate")
        driver.stream(rx.cloud, "/camera/depth/points")
        rx.wait_until(lambda: driver.count("action") >= 2, "actions from PointCloud2")
        assert all(m.header.frame_id == "camera_depth_optical_frame" for m in driver.messages("action"))


def test_colour_stream_alongside_depth_is_accepted(running):
    """A point-cloud checkpoint with a colour topic configured ignores the colour (said once) and labels."""
    driver, _, _ = running
    driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info",
                  rgb_topic="/camera/color/image_raw")
    rx.wait_until(lambda: driver.count("action") >= 2, "actions with a colour stream beside the depth")


def test_action_events_open_on_the_first_window_and_close_at_deactivate(running):
    """~/events (vg4d_msgs/ActionEvent): a segment is announced when it opens, with the input's frame and
    stamps; deactivating closes it (ended, stream_end) before the publishers go quiet."""
    driver, node, _ = running
    driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: driver.count("events") >= 1 and driver.count("action") >= 2, "a started event")
    sent = {rx.T0_NS + i * rx.PERIOD_NS for i in range(driver.frames_sent + 1)}
    first = driver.messages("events")[0]
    assert first.state == first.STARTED == "started" and first.ended_by == "" and first.track_id == ""
    assert first.label == rh.CLASS_NAMES[first.class_id] and 0.0 < first.score <= 1.0 and first.windows == 1
    assert first.header.frame_id == "camera_depth_optical_frame"
    start, end = rx.stamp_ns(first.start), rx.stamp_ns(first.end)
    assert {start, end, rx.stamp_ns(first.header)} <= sent and start < end == rx.stamp_ns(first.header)
    assert driver.transition("deactivate")
    rx.wait_until(lambda: any(e.state == "ended" and e.ended_by == "stream_end" for e in driver.messages("events")),
                  "the open segment closed by deactivate")
    events = driver.messages("events")
    states = [e.state for e in events]
    assert states[-1] == "ended" and all(a != b for a, b in zip(states, states[1:])), states  # started/ended pairs
    for opened, closed in zip(events[::2], events[1::2]):
        assert (opened.label, rx.stamp_ns(opened.start)) == (closed.label, rx.stamp_ns(closed.start))
        assert rx.stamp_ns(closed.end) >= rx.stamp_ns(opened.end) and closed.windows >= opened.windows


def test_people_mode_publishes_detections_with_track_ids(context, checkpoint):
    """people.enabled: ~/detections (vision_msgs/Detection3DArray) per tick, the person's box and top-k under
    their track id; ~/action keeps describing one person; events carry the track id."""
    name = rx.unique_name()
    with session(context, make_node(context, checkpoint, name=name, **{"people.enabled": True,
                                                                       "people.min_height_m": 0.0}),
                 f"/{name}") as (driver, node, spin):
        assert driver.transition("configure") and driver.transition("activate")
        driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
        rx.wait_until(lambda: driver.count("detections") >= 2 and driver.count("action") >= 2, "detections")
        sent = {rx.T0_NS + i * rx.PERIOD_NS for i in range(driver.frames_sent + 1)}
        for msg in driver.messages("detections"):
            assert rx.stamp_ns(msg) in sent and msg.header.frame_id == "camera_depth_optical_frame"
            assert [d.id for d in msg.detections] == ["p1"]
            (d,) = msg.detections
            assert d.results and d.bbox.size.x > 0 and d.bbox.size.y > 0
            assert d.results[0].hypothesis.class_id in {str(i) for i in range(len(rh.CLASS_NAMES))}
        action_stamps = {rx.stamp_ns(m) for m in driver.messages("action")}
        assert action_stamps <= {rx.stamp_ns(m) for m in driver.messages("detections")}
        rx.wait_until(lambda: driver.count("events") >= 1, "an event")
        assert {e.track_id for e in driver.messages("events")} == {"p1"}


def test_a_pair_model_extends_the_latched_label_map(context, checkpoint, tmp_path):
    """people.pairs with a pair checkpoint of other classes: LabelInfo holds the person model's classes and
    then the pair model's new ones, so every class id on ~/detections and ~/events has a name."""
    pair = rh.tiny_checkpoint(tmp_path / "pair.pt", class_names=["handshake", "wave", "hug"])
    name = rx.unique_name()
    with session(context, make_node(context, checkpoint, name=name, **{
            "people.enabled": True, "people.pairs.enabled": True, "people.pairs.checkpoint": str(pair)}),
            f"/{name}") as (driver, node, spin):
        assert driver.transition("configure") and driver.transition("activate")
        rx.wait_until(lambda: driver.count("label_info") >= 1, "label_info")
        info = driver.messages("label_info")[-1]
        assert [(c.class_id, c.class_name) for c in info.class_map] == list(
            enumerate(rh.CLASS_NAMES + ["handshake", "hug"]))


def test_events_off_needs_no_message_package_and_on_names_it(context, checkpoint, monkeypatch):
    for name in [m for m in sys.modules if m == "vg4d_msgs" or m.startswith("vg4d_msgs.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "vg4d_msgs", None)  # import vg4d_msgs -> ModuleNotFoundError
    name = rx.unique_name()
    with session(context, make_node(context, checkpoint, name=name), f"/{name}") as (driver, node, spin):
        assert driver.transition("configure") is False
        rx.wait_until(lambda: "configure failed" in driver.log_text(), "the reason on /rosout")
        assert "vg4d_msgs" in driver.log_text() and "output.events" in driver.log_text()
    name = rx.unique_name()
    with session(context, make_node(context, checkpoint, name=name, **{"output.events": ""}), f"/{name}") as (
            driver, node, spin):
        assert driver.transition("configure") and driver.transition("activate")
        driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
        rx.wait_until(lambda: driver.count("action") >= 2, "actions without ~/events")


def test_label_info_is_latched_for_late_subscribers_and_joins_the_class_ids(running):
    driver, _, _ = running
    late = rx.Driver(driver.context, driver.target, name="late_listener")  # subscribes after configure published
    running[2].add(late.node)
    rx.wait_until(lambda: late.count("label_info") >= 1, "label_info on a late subscriber")
    info = late.messages("label_info")[0]
    assert [(c.class_id, c.class_name) for c in info.class_map] == list(enumerate(rh.CLASS_NAMES))
    driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: driver.count("action") >= 1, "an action")
    lookup = {str(c.class_id): c.class_name for c in info.class_map}
    assert all(h.class_id in lookup for h in driver.messages("action")[0].results)


def test_diagnostics_levels_are_bytes_and_named_after_the_node(running):
    driver, _, _ = running
    rx.wait_until(lambda: driver.count("diagnostics") >= 3, "diagnostics")
    for array in driver.messages("diagnostics"):
        for status in array.status:
            assert status.level in (b"\x00", b"\x01", b"\x02", b"\x03"), status.level
            assert status.name.startswith(driver.target), status.name
    # nothing is published on the inputs: the silence watch warns and names the topic
    rx.wait_until(lambda: any(s.level == b"\x01" and "camera/depth/image_raw" in s.message
                              for a in driver.messages("diagnostics") for s in a.status), "a silence warning")


def test_deactivate_stops_the_output_and_activate_resumes_it(running):
    driver, _, _ = running
    driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: driver.count("action") >= 1, "an action")
    assert driver.transition("deactivate") and driver.state() == "inactive"
    settled = driver.count("action")
    sent_then = driver.frames_sent
    rx.wait_until(lambda: driver.frames_sent >= sent_then + 30, "30 more input frames")
    assert driver.count("action") == settled  # inputs keep coming, nothing is published
    assert driver.transition("activate") and driver.state() == "active"
    rx.wait_until(lambda: driver.count("action") > settled, "actions after re-activation")


def test_cleanup_then_configure_again_and_shutdown(running):
    driver, _, _ = running
    assert driver.transition("deactivate") and driver.transition("cleanup")
    assert driver.state() == "unconfigured"
    assert driver.transition("configure") and driver.state() == "inactive"
    assert driver.transition("cleanup") and driver.transition("shutdown")
    assert driver.state() == "finalized"


@pytest.mark.parametrize("problem", ["missing", "foreign", "class count"])
def test_configure_fails_with_the_reason_on_rosout(context, checkpoint, tmp_path, problem):
    import torch

    path = tmp_path / "ck.pt"
    if problem == "foreign":
        torch.save({"state_dict": {}}, path)  # somebody else's checkpoint
    elif problem == "class count":  # names that do not fit the classifier
        rh.tiny_checkpoint(path, extra={"class_names": [*rh.CLASS_NAMES, "extra"]})
    name = rx.unique_name()  # a logger of its own: the test reads /rosout
    with session(context, make_node(context, path if problem != "missing" else tmp_path / "nowhere.pt", name=name), f"/{name}") as (driver, node, spin):
        assert driver.transition("configure") is False
        assert driver.state() == "unconfigured"
        rx.wait_until(lambda: "configure failed" in driver.log_text(), "the reason on /rosout")
        text = driver.log_text()
        assert ("nowhere.pt" in text) if problem == "missing" else (str(path) in text)
        assert "weights_only=False" not in text


def test_configure_names_a_message_package_that_does_not_import(context, checkpoint, monkeypatch):
    for name in [m for m in sys.modules if m == "vision_msgs" or m.startswith("vision_msgs.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "vision_msgs", None)  # import vision_msgs -> ModuleNotFoundError
    name = rx.unique_name()  # a logger of its own: the test reads /rosout
    with session(context, make_node(context, checkpoint, name=name), f"/{name}") as (driver, node, spin):
        assert driver.transition("configure") is False
        rx.wait_until(lambda: "configure failed" in driver.log_text(), "the reason on /rosout")
        assert "vision_msgs" in driver.log_text() and "install" in driver.log_text()


def test_parameter_changes_are_refused_while_configured_and_applied_at_the_next_configure(context, checkpoint):
    with session(context, make_node(context, checkpoint)) as (driver, node, spin):
        assert driver.transition("configure")
        result = node.set_parameters([Parameter("inference.top_k", value=2)])[0]
        assert not result.successful and "read at configure" in result.reason
        assert node.get_parameter("inference.top_k").value == 5
        assert driver.transition("cleanup")
        assert node.set_parameters([Parameter("inference.top_k", value=2)])[0].successful
        assert driver.transition("configure") and driver.transition("activate")
        driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
        rx.wait_until(lambda: driver.count("action") >= 1, "an action")
        assert len(driver.messages("action")[0].results) == 2


def test_two_instances_in_namespaces_do_not_collide(context, checkpoint):
    a = make_node(context, checkpoint, name="recognizer", namespace="/left")
    b = make_node(context, checkpoint, name="recognizer", namespace="/right")
    da = rx.Driver(context, "/left/recognizer", name="driver_left")
    db = rx.Driver(context, "/right/recognizer", name="driver_right")
    spin = rx.Spinner(context, a, b, da.node, db.node)
    try:
        for d in (da, db):
            assert d.transition("configure") and d.transition("activate")
        # relative input topics resolve in each namespace: only the left camera publishes
        da.stream(rx.depth_16uc1, "/left/camera/depth/image_raw", info_topic="/left/camera/depth/camera_info")
        rx.wait_until(lambda: da.count("action") >= 2, "actions of the left recogniser")
        assert db.count("action") == 0
        rx.wait_until(lambda: {s.name.split(":")[0] for arr in da.messages("diagnostics") for s in arr.status}
                      >= {"/left/recognizer", "/right/recognizer"}, "diagnostics of both instances")
    finally:
        spin.close()
        for n in (a, b):
            n.release()
            n.destroy_node()


def test_use_sim_time_follows_clock(context, checkpoint):
    from builtin_interfaces.msg import Time
    from rosgraph_msgs.msg import Clock

    node = make_node(context, checkpoint, use_sim_time=True)
    driver = rx.Driver(context)  # on the wall clock: it plays the simulator that publishes /clock
    clock_pub = driver.node.create_publisher(Clock, "/clock", 10)
    spin = rx.Spinner(context, node, driver.node)
    try:
        assert driver.transition("configure") and driver.transition("activate")
        sim = {"t": 5000.0}

        def tick():
            sim["t"] += 0.1
            clock_pub.publish(Clock(clock=Time(sec=int(sim["t"]), nanosec=int(sim["t"] % 1 * 1e9))))
        driver.node.create_timer(0.02, tick)
        rx.wait_until(lambda: driver.count("diagnostics") >= 2, "diagnostics on simulated time")
        stamps = [rx.stamp_ns(a) * 1e-9 for a in driver.messages("diagnostics")]
        assert all(5000.0 <= s <= sim["t"] + 1 for s in stamps)  # the /clock time, not the wall clock
        # silence is measured on that clock from the first tick, not from time 0 before /clock arrived
        assert not any("5000" in st.message for a in driver.messages("diagnostics") for st in a.status)
        driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
        rx.wait_until(lambda: driver.count("action") >= 1, "an action under sim time")
        assert rx.stamp_ns(driver.messages("action")[0]) >= rx.T0_NS  # results keep the sensor's stamps
    finally:
        spin.close()
        node.release()
        node.destroy_node()


def test_latched_camera_info_published_once_is_enough(context, checkpoint):
    with session(context, make_node(context, checkpoint)) as (driver, node, spin):
        info_pub = driver.node.create_publisher(type(rx.camera_info()), "/camera/depth/camera_info", rx.LATCHED_QOS)
        info_pub.publish(rx.camera_info())  # once, before the node even subscribes
        assert driver.transition("configure") and driver.transition("activate")
        driver.stream(rx.depth_16uc1, "/camera/depth/image_raw")
        rx.wait_until(lambda: driver.count("action") >= 2, "actions with a latched camera_info")


def test_configure_warms_the_model_up(context, checkpoint, monkeypatch):
    """configure runs one inference of the live windows' shape, so the first real window is not the one
    that compiles the kernels."""
    import vg4d_ros.pipeline.warmup as warmup

    seen = []

    def recording_warm_up(model, settings):
        batch = warmup.warm_up_batch(settings, model.data_config)
        seen.append(tuple(batch["points"].shape))
        return real(model, settings)
    real = warmup.warm_up
    monkeypatch.setattr(warmup, "warm_up", recording_warm_up)
    import vg4d_ros.transports.rclpy_node as rclpy_node
    monkeypatch.setattr(rclpy_node, "warm_up", recording_warm_up)  # the node imports the name itself
    with session(context, make_node(context, checkpoint)) as (driver, node, spin):
        assert driver.transition("configure")
        assert seen == [(1, rh.FRAMES, rh.POINTS, 3)]


def test_invalid_parameter_fails_configure_with_one_line(context, checkpoint):
    name = rx.unique_name()  # a logger of its own: the test reads /rosout
    with session(context, make_node(context, checkpoint, name=name, **{"qos.sensor_depth": 0}), f"/{name}") as (driver, node, spin):
        assert driver.transition("configure") is False
        rx.wait_until(lambda: "configure failed" in driver.log_text(), "the reason on /rosout")
        assert "qos.sensor_depth" in driver.log_text()


def test_logging_at_every_severity_from_the_core(context, checkpoint):
    """The core logs info, warn and error through one callback: rclpy must accept each (it keys its
    logging context by calling line, and one line at two severities raised ValueError)."""
    node = make_node(context, checkpoint)
    try:
        for level in ("info", "warn", "error", "info", "warn"):
            node._log(level, f"a {level} line")
    finally:
        node.destroy_node()


# -- faults through the node (the fault matrix of the DDS tests, here under rclpy) -----------------------
def _empty_depth(i: int):
    msg = rx.depth_16uc1(i)
    msg.data = bytes(len(msg.data))  # all zero: no return anywhere, nobody in view
    return msg


def _diag_messages(driver) -> list[str]:
    return [s.message for a in driver.messages("diagnostics") for s in a.status if s.name == driver.target]


def test_an_empty_scene_gives_no_label_and_a_warning_then_a_person_clears_it(running):
    driver, node, _ = running
    driver.stream(_empty_depth, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: any("no person in view" in m for m in _diag_messages(driver)), "a no-person warning")
    assert driver.count("action") == 0 and driver.count("label") == 0
    driver.stop_stream()
    driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: driver.count("action") >= 1, "labels once a person is in view")
    warned = len(driver.messages("diagnostics"))
    rx.wait_until(lambda: len(driver.messages("diagnostics")) >= warned + 2, "two more diagnostics")
    assert not any("no person" in m for m in _diag_messages(driver)[-1:])


def test_malformed_depth_is_counted_and_the_node_carries_on(running):
    driver, node, _ = running

    def sometimes_truncated(i: int):
        msg = rx.depth_16uc1(i)
        if i % 3 == 0:
            msg.data = msg.data[:100]  # shorter than height x step
        return msg
    driver.stream(sometimes_truncated, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: driver.count("action") >= 2, "actions between malformed frames")
    rx.wait_until(lambda: any(kv.key == "malformed_total" and kv.value not in ("", "0")
                              for a in driver.messages("diagnostics") for s in a.status if s.name == driver.target
                              for kv in s.values), "malformed messages counted in diagnostics")
    rx.wait_until(lambda: "malformed message on" in driver.log_text(), "the malformed input named in the log")
    rx.wait_until(lambda: driver.frames_sent >= 60, "20 malformed frames sent")
    named = [line for line in driver.log_text().splitlines()
             if "malformed message on" in line and " in the last " not in line]
    assert len(named) == 1, driver.log_text()  # named once, then summarised, not a line per message


def test_a_publisher_that_leaves_and_comes_back(running):
    driver, node, spin = running
    camera = rx.Driver(driver.context, name="camera_driver", target="/nobody")
    spin.add(camera.node)
    camera.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: driver.count("action") >= 1, "actions from the first camera")
    camera.stop_stream()
    spin.remove(camera.node)  # the camera driver process is gone
    rx.wait_until(lambda: any("no message for" in m or "no publisher" in m for m in _diag_messages(driver)),
                  "the silence named")
    before = driver.count("action")
    again = rx.Driver(driver.context, name="camera_driver_restarted", target="/nobody")
    spin.add(again.node)
    again.stream(lambda i: rx.depth_16uc1(i + 10_000), "/camera/depth/image_raw",
                 info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: driver.count("action") > before, "actions after the camera came back")


def test_stamps_jumping_back_reset_the_window_and_output_stamps_never_go_back(running):
    driver, node, _ = running

    def looped(i: int):  # a bag replayed in a loop: after 60 frames the stamps start again
        return rx.depth_16uc1(i % 60)
    driver.stream(looped, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
    rx.wait_until(lambda: driver.frames_sent >= 150, "two and a half loops")
    rx.wait_until(lambda: any(kv.key == "stamp_resets" and '"back"' in kv.value
                              for a in driver.messages("diagnostics") for st in a.status if st.name == driver.target
                              for kv in st.values), "the reset counted in diagnostics")
    stamps = [rx.stamp_ns(m) for m in driver.messages("action")]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_foreground_cloud_shows_what_the_model_saw(context, checkpoint):
    from sensor_msgs.msg import PointCloud2

    from vg4d_ros.pipeline.decode import pointcloud2_to_xyz

    node = make_node(context, checkpoint, **{"output.foreground": "~/foreground"})
    driver = rx.Driver(context)
    driver.watch("/recognizer/foreground", PointCloud2, "foreground", rx.SENSOR_QOS)
    spin = rx.Spinner(context, node, driver.node)
    try:
        assert driver.transition("configure") and driver.transition("activate")
        driver.stream(rx.depth_16uc1, "/camera/depth/image_raw", info_topic="/camera/depth/camera_info")
        rx.wait_until(lambda: driver.count("foreground") >= 1, "a foreground cloud")
        cloud = driver.messages("foreground")[0]
        pts = pointcloud2_to_xyz(cloud)
        assert pts.shape == (rh.POINTS, 3) and cloud.header.frame_id == "camera_depth_optical_frame"
        # the scene's person stands 1.5 m away (the depth image's blob): the cloud is in metres
        assert 1.4 < float(np.median(pts[:, 2])) < 1.6
        # the cloud belongs to a labelled window: an action with its stamp is published too
        rx.wait_until(lambda: rx.stamp_ns(cloud) in {rx.stamp_ns(a) for a in driver.messages("action")},
                      "the action of the window the cloud shows")
    finally:
        spin.close()
        node.release()
        node.destroy_node()


# -- input_frame: clouds published in another frame, moved into the optical frame with /tf_static ----------
def _base_link_cloud(i: int):
    pts = rh.in_base_link(rh.optical_points(i))
    return rx.to_rclpy(rh.cloud_msg(rx._TS, pts, rx.T0_NS + i * rx.PERIOD_NS, "base_link"), rx.PointCloud2)


def test_a_cloud_in_base_link_is_moved_into_input_frame_with_tf_static(context, checkpoint):
    from tf2_msgs.msg import TFMessage

    with session(context, make_node(context, checkpoint, input="cloud", input_frame=rh.OPTICAL)) as (driver, node, spin):
        # a robot_state_publisher / static_transform_publisher: latched, published before the node subscribes
        tf_static = driver.node.create_publisher(TFMessage, "/tf_static", rx.LATCHED_QOS)
        tf_static.publish(rx.to_rclpy(rh.tf_message(rx._TS, [rh.CAMERA_LINK, rh.OPTICAL_LINK]), TFMessage))
        assert driver.transition("configure") and driver.transition("activate")
        driver.stream(_base_link_cloud, "/camera/depth/points")
        rx.wait_until(lambda: driver.count("action") >= 2, "actions from a base_link PointCloud2")
        assert all(m.header.frame_id == rh.OPTICAL for m in driver.messages("action"))


def test_no_transform_gives_no_label_names_the_missing_link_and_the_node_lives(context, checkpoint):
    name = rx.unique_name()  # a logger of its own: the test reads /rosout
    with session(context, make_node(context, checkpoint, name=name, input="cloud", input_frame=rh.OPTICAL), f"/{name}") as (driver, node, spin):
        assert driver.transition("configure") and driver.transition("activate")
        driver.stream(_base_link_cloud, "/camera/depth/points")  # and no /tf, no /tf_static
        want = f"no transform from base_link to {rh.OPTICAL} yet"
        rx.wait_until(lambda: any(want in m for m in _diag_messages(driver)), "the missing transform in diagnostics")
        rx.wait_until(lambda: driver.frames_sent >= 30, "30 clouds")
        assert driver.count("action") == 0 and driver.count("label") == 0
        named = [line for line in driver.log_text().splitlines() if want in line and " in the last " not in line]
        assert len(named) == 1  # named once (then summarised every guards.log_repeat_s)
        assert driver.state() == "active"


def test_a_signal_while_the_executor_builds_its_wait_set_is_a_normal_stop(context, checkpoint):
    """SIGTERM on a loaded machine: rclpy's handler shut the context down between the executor's checks and
    rcl raised "the given context is not valid" from the wait set instead of ExternalShutdownException
    (the installed node exited 1 with a traceback). A context shut down is a stop; an error while it is up
    is raised."""
    from vg4d_ros.transports.rclpy_node import spin_until_shutdown

    node = make_node(context, checkpoint, name=rx.unique_name())
    try:
        def broken(_node):
            raise RuntimeError("a callback failed")

        with pytest.raises(RuntimeError, match="a callback failed"):
            spin_until_shutdown(node, broken)

        def signalled(n):
            rclpy.shutdown(context=n.context)  # what rclpy's signal handler does
            raise RuntimeError("failed to initialize wait set: the given context is not valid")

        spin_until_shutdown(node, signalled)  # returns: a normal stop
        node._publish("action", object())  # publishing after the shutdown is skipped, not an error
    finally:
        node.release()
        node.destroy_node()
