"""TopicWatch on a fake clock: silent inputs are named with their publishers' QoS."""
from __future__ import annotations

from vg4d_ros.pipeline.silence import NO_PUBLISHER, OK, SILENT, STOPPED, UNKNOWN, WAITING, PublisherInfo, TopicWatch


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


TOPICS = {"depth": "/cam/depth", "camera_info": "/cam/info", "rgb": "/cam/rgb"}


def make(pubs):
    clock, logs = Clock(), []
    watch = TopicWatch(TOPICS, 3.0, publishers_of=lambda t: pubs.get(t), log=lambda l, m: logs.append((l, m)),
                       clock=clock)
    watch.activate()
    return watch, clock, logs


def states(watch):
    return {s.role: s.state for s in watch.check()}


def test_nothing_is_reported_before_the_timeout():
    watch, clock, logs = make({"/cam/depth": []})
    clock.t += 2.9
    assert states(watch) == {"depth": WAITING, "camera_info": WAITING, "rgb": WAITING}
    assert logs == []


def test_each_silent_topic_is_named_once_with_the_offered_qos():
    be = PublisherInfo("/camera_driver", "best_effort, volatile, keep_last 5")
    watch, clock, logs = make({"/cam/depth": [], "/cam/info": None, "/cam/rgb": [be]})
    clock.t += 3.0
    assert states(watch) == {"depth": NO_PUBLISHER, "camera_info": UNKNOWN, "rgb": SILENT}
    texts = [m for _, m in logs]
    assert texts[0] == "/cam/depth: no publisher in 3.0 s"
    assert texts[1] == "/cam/info: nothing received in 3.0 s (publishers: unknown)"
    assert texts[2] == ("/cam/rgb: 1 publisher(s) but nothing delivered in 3.0 s - QoS or type mismatch? "
                        "(/camera_driver offers best_effort, volatile, keep_last 5)")
    assert all(level == "warn" for level, _ in logs)
    clock.t += 1.0
    watch.check()
    assert len(logs) == 3  # unchanged states are not logged again


def test_missing_camera_info_while_depth_arrives_is_named_specifically():
    watch, clock, logs = make({"/cam/info": []})
    for _ in range(4):
        clock.t += 1.0
        watch.on_message("depth")
    st = {s.role: s for s in watch.check()}
    assert st["depth"].state == OK and st["depth"].count == 4
    assert st["camera_info"].state == NO_PUBLISHER
    assert st["camera_info"].message.startswith("depth arrives on /cam/depth but no camera_info on /cam/info")


def test_a_stream_that_stops_is_reported_and_recovery_logged():
    watch, clock, logs = make({})
    watch.on_message("rgb")
    clock.t += 1.0
    assert states(watch)["rgb"] == OK
    clock.t += 3.5
    assert states(watch)["rgb"] == STOPPED
    assert ("warn", "/cam/rgb: no message for 4.5 s (had 1)") in logs
    watch.on_message("rgb")
    assert states(watch)["rgb"] == OK
    assert logs[-1] == ("info", "/cam/rgb: receiving")
