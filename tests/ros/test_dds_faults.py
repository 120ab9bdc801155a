"""README's fault table over real DDS: one test per row, against the `vg4d recognize --transport dds` process.

Each test starts the recogniser on a loopback DDS domain of its own with a tiny random checkpoint, plays a
few seconds of a 30 Hz synthetic camera into it with `vg4d soak`'s fault publisher
(:class:`vg4d_ros.programs.soak.Player` driven by :func:`vg4d_ros.programs.soak.play` on a hand-made schedule), and checks
what was (not) published on ``~/action`` / ``~/label``, the ``/diagnostics`` and the log; then that the
process is still alive and exits 0 on SIGINT. No wall-clock figure is asserted: outcomes are awaited
(tests/waiting.py) with a hang guard only; stamps come from frame indices, not the clock.

Rows covered elsewhere:

* an input with no publisher, and a writer that leaves while an input is silent / comes back:
  tests/ros/test_dds_writer_leaves.py (and test_dds_recognizer_e2e.py's silent-input test);
* no transform into ``input_frame``: tests/ros/test_dds_tf.py and tests/ros/test_faults.py;
* input far larger than a depth camera's: tests/ros/test_input_limits.py;
* a bad setting: tests/ros/test_config_validation.py (one line, exit status 2).

The sensor readers are best effort (keep-last 5): a sample may be lost under load, so no test depends
on any single frame arriving.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from vg4d_ros.bags.ntu2bag import DEFAULT_TOPICS
from vg4d_ros.programs.soak import (LOOPBACK, RATE_HZ, Fault, Observer, Player, Scene, TINY_CLASSES, play,
                           start_recognizer)
from waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "recognize.yaml"
GUARD_S = 600.0  # hang guard of every wait (never reached by a healthy run, however loaded)
SIZE = (128, 96)  # depth and colour W x H: the soak's scene, small
WINDOW_FRAMES = 30  # window.window_s = 1 s at 30 Hz
TOPICS = {k: DEFAULT_TOPICS[k] for k in ("depth", "camera_info", "rgb")}
# silence_timeout_s: long, so that the end of a stream is not a current fault in the last diagnostics;
# the tests of silence set their own. Colour is not subscribed unless a test sets topics.rgb.
COMMON = ("inference.device=cpu", "window.min_coverage=0", "inference.threads=1", "window.window_s=1.0", "window.min_frames=8",
          "window.hop_frames=10", "output.diagnostics_period_s=0.25", "silence_timeout_s=30",
          *(f"topics.{k}={v}" for k, v in TOPICS.items() if k != "rgb"), "topics.rgb=")
_domains = itertools.count()


def stamp_of(message) -> int:
    return message.header.stamp.sec * 1_000_000_000 + message.header.stamp.nanosec


def values(status) -> dict[str, str]:
    return {kv.key: kv.value for kv in status.values}


def input_status(array, role: str):
    """The status the recogniser's DiagnosticArray gives input ``role`` (None when it has none)."""
    return next((s for s in array.status if s.name.endswith(f": input {role}")), None)


class Outputs(Observer):
    """The soak's observer, keeping what arrived: actions, labels and DiagnosticArrays, in order."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.action_msgs, self.label_msgs, self.diagnostic_msgs = [], [], []

    def drain(self) -> None:
        self.action_msgs += self.action.take(256)
        self.label_msgs += self.label.take(256)
        self.diagnostic_msgs += self.diagnostics.take(64)

    @property
    def stamps(self) -> list[int]:
        return [stamp_of(m) for m in self.action_msgs]

    def own(self) -> list:
        """The recogniser's own status of every DiagnosticArray (its inputs' statuses follow it)."""
        return [a.status[0] for a in self.diagnostic_msgs if a.status]


class Rig:
    """The recogniser subprocess (log in a file), this process's observer and, once asked, the camera."""

    def __init__(self, tmp_path: Path, checkpoint: Path, domain: int, overrides: tuple[str, ...]) -> None:
        from vg4d_ros.config import load_recognizer_config
        from vg4d_ros.topics import resolve_topic
        from vg4d_ros.typestore import ros_typestore

        self.domain, self.ts = domain, ros_typestore()
        overrides = (*COMMON, *overrides)
        config = load_recognizer_config(CONFIG, list(overrides))
        self.out = Outputs(domain, {k: resolve_topic(getattr(config.output, k), "recognizer")
                                    for k in ("action", "label", "label_info", "diagnostics")}, self.ts)
        self.log, self.stats_path = tmp_path / "recognizer.log", tmp_path / "stats.json"
        self.rec = start_recognizer(checkpoint, CONFIG, domain, overrides, self.stats_path, self.log)
        self.player: Player | None = None
        # label_info goes out once the model is loaded and warmed up, right before the loop starts
        self.wait(lambda: self.out.label_info.take_raw(1), "the recogniser's start-up (label_info)")

    def wait(self, event, what: str) -> None:
        """Drain the outputs until ``event()``; a recogniser that exits first fails with its log."""
        try:
            wait_for(lambda: self.out.drain() or event(), self.rec, what, poll_s=0.05, guard_s=GUARD_S)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- recogniser log ---\n{self.text()[-3000:]}") from None

    def camera(self, *, info_latched: bool = False) -> Player:
        self.player = Player(Scene(SIZE, SIZE), self.domain, TOPICS, self.ts, RATE_HZ, info_latched)
        self.wait(self.player.camera.matched, "the camera's writers matching the recogniser")
        return self.player

    def play(self, seconds: float, *faults: Fault) -> None:
        """``seconds`` of 30 Hz frames with ``faults`` (a new camera unless :meth:`camera` made one)."""
        player = self.player or self.camera()
        run = play(player, list(faults), seconds, self.rec, self.out, progress=False)
        assert run["died_at_s"] is None, f"the recogniser died at {run['died_at_s']} s\n{self.text()}"

    def stamp(self, t: float) -> int:
        """The stamp of the frame ``t`` seconds into the stream (before any jump)."""
        from vg4d_ros.bags.ntu2bag import DEFAULT_START_S, frame_stamp_ns

        return frame_stamp_ns(DEFAULT_START_S * 1_000_000_000, round(t * RATE_HZ), RATE_HZ)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def finish(self) -> tuple[str, dict]:
        """Every test's end: the recogniser is alive, stops on SIGINT with status 0, no traceback."""
        self.out.drain()
        assert self.rec.poll() is None, f"the recogniser died ({self.rec.returncode})\n{self.text()}"
        self.rec.send_signal(signal.SIGINT)
        status = self.rec.wait(timeout=GUARD_S)  # hang guard
        text = self.text()
        assert status == 0, text
        assert "Traceback" not in text, text
        return text, json.loads(self.stats_path.read_text())

    def close(self) -> None:
        if self.rec.poll() is None:
            self.rec.kill()
            self.rec.wait()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from vg4d_core.bench.random_checkpoint import random_checkpoint

    return random_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", model="lite", frames=12, points=64,
                             class_names=TINY_CLASSES)


@pytest.fixture
def rig(tmp_path, monkeypatch):
    """``rig(checkpoint, *overrides)``: a started :class:`Rig` on a DDS domain of this test's own."""
    monkeypatch.setenv("CYCLONEDDS_URI", LOOPBACK)
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    rigs = []

    def make(checkpoint: Path, *overrides: str) -> Rig:
        domain = 1 + (os.getpid() + 43 + 7 * next(_domains)) % 230
        rigs.append(Rig(tmp_path, checkpoint, domain, overrides))
        return rigs[-1]

    yield make
    for r in rigs:
        r.close()


# -- nobody in view ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["no_person", "no_person_nan"], ids=["all_zero_16UC1", "all_nan_32FC1"])
def test_nobody_in_view_withholds_labels_until_a_person_is_back(rig, tiny, kind):
    r = rig(tiny)
    r.play(4.5, Fault(kind, 1.0, 2.0))  # a person 0-1 s, nobody 1-3 s, the person again 3-4.5 s
    empty_from, empty_to = r.stamp(1.0), r.stamp(3.0)
    r.wait(lambda: any(s > empty_to for s in r.out.stamps), "a label once the person is back")
    r.wait(lambda: len(r.out.label_msgs) >= len(r.out.action_msgs), "every action's label")
    text, stats = r.finish()
    # no window of nobody only was labelled: neither ~/action nor ~/label (one of each per result)
    nobody = r.stamp(1.0 + WINDOW_FRAMES / RATE_HZ)
    assert not [s for s in r.out.stamps if nobody <= s < empty_to], (r.out.stamps, empty_from)
    assert len(r.out.label_msgs) == len(r.out.action_msgs)
    warns = [s.message for s in r.out.own() if s.level == 1 and "no person in view" in s.message]
    assert warns and re.search(r"no person in view: \d+ of \d+ frames have < 64 foreground points", warns[0])
    assert r.out.own()[-1].level == 0 or "no person" not in r.out.own()[-1].message  # cleared
    assert stats["windows_no_person"] >= 1 and stats["no_person"] == "" and stats["malformed_total"] == 0
    assert r.player.published["depth_empty"] == 60


# -- top-1 below the confidence threshold ----------------------------------------------------------------------
def test_unsure_labels_are_withheld_and_diagnostics_stay_ok(rig, tiny):
    r = rig(tiny, "guards.confidence_threshold=0.99")  # 4 random classes: never that sure
    r.play(1.5)
    r.wait(lambda: any("withheld below confidence 0.99" in s.message for s in r.out.own()), "an 'unsure' diagnostic")
    _, stats = r.finish()
    assert r.out.action_msgs == [] and r.out.label_msgs == []
    assert stats["windows_unsure"] >= 1 and stats["windows_unsure"] == stats["windows_inferred"]
    assert all(s.level == 0 for s in r.out.own()), [s.message for s in r.out.own()]  # not a fault


# -- malformed messages ------------------------------------------------------------------------------------------
def test_malformed_depth_is_counted_logged_once_per_reason_and_labels_go_on(rig, tiny):
    r = rig(tiny)
    burst = 4.5 / RATE_HZ  # five frames in a row of each (best effort may lose some)
    r.play(3.0, Fault("malformed_short", 1.0, burst), Fault("malformed_encoding", 1.5, burst))
    r.wait(lambda: any(s > r.stamp(2.0) for s in r.out.stamps), "labels after the malformed bursts")
    seen = len(r.out.diagnostic_msgs)
    r.wait(lambda: len(r.out.diagnostic_msgs) >= seen + 2, "diagnostics after the last malformed message")
    text, stats = r.finish()
    counts = stats["malformed"]["depth"]
    assert {k for k in counts} <= {k for k in counts if "expected height*step" in k or "'rgb8' is not a depth" in k}
    assert sum(counts.values()) == stats["malformed_total"] >= 2 and max(counts.values()) >= 2, counts
    for reason in counts:  # named once, however often it came (repeats are summarised every 10 s)
        assert text.count(f"malformed message on {TOPICS['depth']}: {reason}") == 1, text
    last = r.out.own()[-1]
    assert values(last)["malformed_total"] == str(stats["malformed_total"])
    assert last.level == 1 and f"{stats['malformed_total']} malformed message(s)" in last.message
    assert r.player.published["malformed_short"] == r.player.published["malformed_encoding"] == 5


# -- stamp jumps -------------------------------------------------------------------------------------------------
def assert_increasing(stamps: list[int]) -> None:
    assert all(a < b for a, b in zip(stamps, stamps[1:])), stamps


def test_stamps_jumping_back_reset_the_window_and_never_go_back_on_the_output(rig, tiny):
    r = rig(tiny)
    r.play(4.0, Fault("stamp_back", 1.5, jump_s=-2.0))  # a bag loop: the frames of 1.5-4 s are stamped 0-2 s
    r.wait(lambda: any(s > r.stamp(1.6) for s in r.out.stamps), "labels once the stamps pass the published ones")
    text, stats = r.finish()
    assert_increasing(r.out.stamps)
    assert any(s < r.stamp(1.5) for s in r.out.stamps)  # labelled before the jump, too
    assert len(re.findall(r"stamps jumped back by 1\.9\d s \(bag loop or sim-time reset\): window buffer "
                          r"restarted", text)) == 1, text
    assert stats["stamp_resets"] == {"back": 1} and stats["results_not_newer"] >= 1
    assert json.loads(values(r.out.own()[-1])["stamp_resets"]) == {"back": 1}
    assert "1 stamp reset(s) (last: /camera/depth/image_raw stamps jumped back" in r.out.own()[-1].message


def test_stamps_jumping_forward_60_s_reset_the_window(rig, tiny):
    r = rig(tiny)
    r.play(2.5, Fault("stamp_forward", 1.0, jump_s=60.0))
    r.wait(lambda: any(s > r.stamp(61.0) for s in r.out.stamps), "labels after the jump")
    text, stats = r.finish()
    assert_increasing(r.out.stamps)
    assert len(re.findall(r"stamps jumped forward by 60\.\d\d s \(a gap in the stream\): window buffer restarted",
                          text)) == 1, text
    assert stats["stamp_resets"] == {"forward": 1}
    assert json.loads(values(r.out.own()[-1])["stamp_resets"]) == {"forward": 1}


# -- camera_info latched -----------------------------------------------------------------------------------------
def test_camera_info_published_once_latched_is_enough(rig, tiny):
    r = rig(tiny, "silence_timeout_s=1.0")
    player = r.camera(info_latched=True)  # published once, before the readers matched: only the history has it
    r.play(3.0)  # three times silence_timeout_s of depth without another camera_info
    r.wait(lambda: len(r.out.action_msgs) >= 2, "labels")
    r.wait(lambda: any(input_status(a, "depth") and values(input_status(a, "depth"))["state"] == "ok"
                       and values(input_status(a, "camera_info"))["state"] == "ok" for a in r.out.diagnostic_msgs),
           "diagnostics with depth and camera_info ok")
    _, stats = r.finish()
    assert player.published["camera_info"] == 1 and stats["messages"]["camera_info"] >= 1
    # from the first depth frame on (before it, the camera may not have existed for a whole timeout)
    first = next(i for i, a in enumerate(r.out.diagnostic_msgs) if values(input_status(a, "depth"))["state"] == "ok")
    since = r.out.diagnostic_msgs[first:]
    states = {values(input_status(a, "camera_info"))["state"] for a in since}
    assert states == {"ok"}, states
    assert not [a.status[0].message for a in since if "camera_info" in a.status[0].message]
    assert stats["topics"]["camera_info"]["state"] == "ok"


# -- publishers whose type does not match ------------------------------------------------------------------------
def test_a_publisher_of_another_type_is_named_with_its_offer_and_the_fix(rig, tiny):
    from vg4d_ros.transports.dds import DdsPublisher

    r = rig(tiny, "silence_timeout_s=1.0")
    # reliable, volatile, keep_last 10 String on the depth topic: discovered by the recogniser, never delivered
    wrong = DdsPublisher(r.out.participant, TOPICS["depth"], "std_msgs/msg/String", "results", r.ts)
    for _ in range(3):
        wrong.publish(r.ts.types["std_msgs/msg/String"](data="not an image"))

    def depth_silent() -> bool:
        return any(values(input_status(a, "depth"))["state"] == "silent" for a in r.out.diagnostic_msgs)

    r.wait(depth_silent, "the depth input reported silent")
    _, stats = r.finish()
    depth = next(input_status(a, "depth") for a in r.out.diagnostic_msgs
                 if values(input_status(a, "depth"))["state"] == "silent")
    assert depth.level == 1
    assert (f"{TOPICS['depth']}: 1 publisher(s) but nothing delivered" in depth.message
            and "offers type std_msgs/msg/String; this node subscribes sensor_msgs/msg/Image: publish that type "
                "or remap the topic" in depth.message), depth.message
    assert values(depth)["publisher0"].endswith(": reliable, volatile, keep_last 10")  # the offered QoS
    assert any(depth.message in s.message and s.level == 1 for s in r.out.own())
    assert r.out.action_msgs == [] and r.out.label_msgs == [] and stats["messages"].get("depth", 0) == 0


# -- colour on another clock -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def four_scores(tmp_path_factory) -> Path:
    """A pretrain -> vlm -> crossmodal checkpoint on a tiny X-CLIP (pc, pc_text, rgb, rgb_text; ~10 s CPU)."""
    sys.path.insert(0, str(REPO / "tests" / "training"))
    from stage_chain import recipes
    from vg4d_core.cli import main as vg4d
    from vg4d_core.vlm.tiny import write_tiny_xclip

    d = tmp_path_factory.mktemp("chain")
    stages = recipes(d, write_tiny_xclip(d / "xclip"))
    for stage, out in (("pretrain", "pre"), ("vlm", "vlm"), ("crossmodal", "cross")):
        assert vg4d(["train", "--config", str(stages[stage]), "--out", str(d / out), "progress=false"]) == 0
    return d / "cross" / "last.pt"


def test_colour_on_another_clock_labels_from_depth_until_pairs_come_back(rig, four_scores):
    r = rig(four_scores, f"topics.rgb={TOPICS['rgb']}", "guards.depth_only_after_frames=10")
    r.play(5.0, Fault("colour_clock", 1.0, 2.5))  # colour stamped +1000 s from 1 s to 3.5 s
    reason = "colour and depth stamps differ by 1000.00 s, no pair within 0.05 s"
    r.wait(lambda: any(reason in s.message and s.level == 1 for s in r.out.own()), "the other-clock warning")
    r.wait(lambda: any(s > r.stamp(4.2) for s in r.out.stamps), "labels once colour pairs again")
    text, stats = r.finish()
    assert_increasing(r.out.stamps)
    assert any(r.stamp(1.5) < s < r.stamp(3.5) for s in r.out.stamps), "no label from depth alone"
    assert text.count(f"{reason}: labelling from depth alone") == 1, text
    assert "colour and depth pair again" in text
    assert stats["frames_depth_only"] >= 1 and stats["depth_only"] == ""
    assert r.player.published["rgb_other_clock"] == 75
