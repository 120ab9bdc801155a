"""Live recognition under faults: the recogniser core never crashes and never publishes a confident lie.

Every test drives :class:`vg4d_ros.pipeline.recognizer.Recognizer` directly with duck-typed messages (no rclpy,
no DDS) and checks what reached ``on_result``, the counters, the log and the diagnostics.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from recognizer_helpers import (CLASS_NAMES, HEIGHT, WIDTH, bad_depth_msg, camera_info_msg, depth_msg, header,
                                rgb_msg)
from test_recognizer import PERIOD, T0, config, fake_model
from vg4d_core.runtime.predictor import Predictor
from vg4d_ros.transports.outputs import DIAG_OK, DIAG_WARN, diagnostics_msg
from vg4d_ros.pipeline.recognizer import Recognizer
from vg4d_ros.pipeline.model import LoadedModel
from vg4d_ros.pipeline.silence import INVALID, OK, SILENT, STOPPED, PublisherInfo, TopicWatch

SMALL = ("window.min_frames=6", "window.hop_frames=6", "window.min_coverage=0")


class Clock:
    """A fake monotonic clock (seconds) that only moves when told."""

    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Run:
    """A started recogniser that records what it delivered, withheld and logged."""

    def __init__(self, cfg, model, clock=None):
        self.results, self.withheld, self.logs = [], [], []
        kwargs = {"clock": clock} if clock is not None else {}
        self.rec = Recognizer(cfg, model, self.results.append, log=lambda lvl, t: self.logs.append((lvl, t)),
                              on_withheld=self.withheld.append, **kwargs)
        self.rec.start()

    def push(self, handler, msg) -> None:
        """One message; when it completed a window, wait until that window is inferred (no drops)."""
        formed = self.rec.windows_formed
        handler(msg)
        if self.rec.windows_formed != formed:
            assert self.rec.wait_idle(60)

    def depth(self, ts, stamps, make=None) -> None:
        for i, stamp in enumerate(stamps):
            self.push(self.rec.on_depth, (make or (lambda k, s: depth_msg(ts, k, s)))(i, stamp))

    def diagnostics(self, ts, topics=()):
        return diagnostics_msg(self.rec.stats(), list(topics), 0, ts).status[0]

    def texts(self, needle: str) -> list[str]:
        return [t for _, t in self.logs if needle in t]

    def close(self) -> None:
        assert self.rec.mailbox.alive  # the faults never ended the worker
        self.rec.stop()


def stamps(n, start=0, offset_ns=0):
    return [T0 + offset_ns + i * PERIOD for i in range(start, start + n)]


def zero_depth(ts, i, stamp):
    msg = depth_msg(ts, i, stamp)
    msg.data = np.zeros_like(msg.data)
    return msg


def nan_depth(ts, i, stamp):
    data = np.full((HEIGHT, WIDTH), np.nan, np.float32).view(np.uint8).reshape(-1)
    return ts.types["sensor_msgs/msg/Image"](header=header(ts, stamp), height=HEIGHT, width=WIDTH,
                                             encoding="32FC1", is_bigendian=0, step=WIDTH * 4, data=data)


def sparse_depth(ts, i, stamp):
    """A 5 x 6 = 30-pixel blob: fewer than min_points_per_frame (64) points."""
    d = np.zeros((HEIGHT, WIDTH), np.uint16)
    d[10:15, 20:26] = 1500
    msg = depth_msg(ts, i, stamp)
    msg.data = d.view(np.uint8).reshape(-1)
    return msg


# -- 1. no label from a scene that is not a person ---------------------------------------------------------
@pytest.mark.parametrize("scene", ["zero", "nan", "foreground_selects_nothing", "sparse"])
def test_a_scene_without_a_person_is_not_labelled_until_a_person_is_back(typestore, scene):
    makers = {"zero": zero_depth, "nan": nan_depth, "sparse": sparse_depth}
    fg = ["foreground.max_depth=1.0"] if scene == "foreground_selects_nothing" else []  # the blob is at 1.5 m
    run = Run(config("fake.pt", *SMALL, "window.max_frames=6", *fg), fake_model())  # windows of 6 frames
    run.rec.on_camera_info(camera_info_msg(typestore, T0))
    empty = makers.get(scene)
    run.depth(typestore, stamps(12), make=(lambda i, s: empty(typestore, i, s)) if empty else None)
    reason = "no person in view: 6 of 6 frames have < 64 foreground points"
    st = run.rec.stats()
    assert run.results == [] and st["windows_inferred"] == 0  # never classified, nothing delivered
    assert (st["windows_formed"], st["windows_no_person"], st["no_person"]) == (2, 2, reason)
    assert len(run.texts("no person in view")) == 1  # logged once, not per window
    diag = run.diagnostics(typestore)
    assert (diag.level, diag.message) == (DIAG_WARN, reason)
    if scene == "foreground_selects_nothing":
        run.close()
        return
    # a person walks in: half of the next window shows them -> labelled (min_person_frames_fraction 0.5)
    run.depth(typestore, stamps(3, start=12))
    run.depth(typestore, stamps(3, start=15), make=lambda i, s: empty(typestore, i, s))
    assert run.rec.no_person == "" and len(run.results) == 1
    assert run.diagnostics(typestore).level == DIAG_OK and run.texts("a person is in view again")
    run.close()


def test_frames_without_points_do_not_break_the_sampler():
    from vg4d_ros.pipeline.window import Frame, WindowBuffer, WindowConfig

    buf = WindowBuffer(WindowConfig(num_segments=4, points_per_frame=8, min_frames=3, hop_frames=3))
    windows = [buf.push(Frame(T0 + i * PERIOD, np.zeros((0, 3), np.float32))) for i in range(3)]
    assert windows[-1].points.shape == (4, 8, 3) and not windows[-1].points.any()
    assert windows[-1].point_counts.tolist() == [0, 0, 0] and windows[-1].num_empty == 3


# -- 2. confidence threshold ------------------------------------------------------------------------------------
def test_a_label_below_the_confidence_threshold_is_withheld(typestore):
    run = Run(config("fake.pt", *SMALL, "guards.confidence_threshold=0.7"), fake_model())  # top-1 is 0.6
    assert run.rec.threshold == 0.7
    run.rec.on_camera_info(camera_info_msg(typestore, T0))
    run.depth(typestore, stamps(12))
    st = run.rec.stats()
    assert run.results == [] and len(run.withheld) == 2 and all(r.unsure for r in run.withheld)
    assert (st["windows_inferred"], st["windows_unsure"], st["confidence_threshold"]) == (2, 2, 0.7)
    diag = run.diagnostics(typestore)
    assert diag.level == DIAG_OK  # the model declining an ambiguous window is not a fault
    assert diag.message == "running; 2 of 2 labelled window(s) withheld below confidence 0.7"
    run.close()
    run = Run(config("fake.pt", *SMALL, "guards.confidence_threshold=0.5"), fake_model())
    run.rec.on_camera_info(camera_info_msg(typestore, T0))
    run.depth(typestore, stamps(6))
    assert [r.top_k[0] for r in run.results] == [("bow", pytest.approx(0.6))] and run.withheld == []
    run.close()


# -- 3. colour on another clock ----------------------------------------------------------------------------------
class PointSource(nn.Module):
    """pc and pc_text favouring class 1 ("bow")."""

    inputs, names = ("points",), ("pc", "pc_text")

    def forward(self, batch):
        logits = torch.tensor([[0.0, 2.0, 1.0, 0.0]]).expand(batch["points"].shape[0], -1)
        return {"pc": logits, "pc_text": logits * 0.5}


class ColourSource(nn.Module):
    """rgb favouring class 2 ("kick")."""

    inputs, names = ("rgb",), ("rgb",)

    def forward(self, batch):
        return {"rgb": torch.tensor([[0.0, 0.0, 3.0, 0.0]]).expand(batch["rgb"].shape[0], -1)}


def colour_model(subsets):
    predictor = Predictor([PointSource(), ColourSource()], list(CLASS_NAMES),
                          fusion={"pc": 0.4, "pc_text": 0.2, "rgb": 0.4})
    return LoadedModel(predictor, list(CLASS_NAMES), {"num_frames": 4, "points_per_frame": 8, "seed": 0},
                       {"fusion_subsets": subsets}, "colour.pt")


@pytest.mark.parametrize("subsets, primary", [({"pc+pc_text": {"pc": 0.7, "pc_text": 0.3}}, "fused"), ({}, "pc")])
def test_colour_on_another_clock_falls_back_to_depth_and_returns(typestore, subsets, primary):
    cfg = config("fake.pt", *SMALL, "topics.rgb=/camera/color/image_raw", "window.window_s=0.5",
                 "guards.depth_only_after_frames=10")
    run = Run(cfg, colour_model(subsets))
    run.rec.on_camera_info(camera_info_msg(typestore, T0))
    skew = 4_200_000_000  # the colour camera's clock runs 4.2 s ahead
    for i, stamp in enumerate(stamps(30)):
        run.push(run.rec.on_depth, depth_msg(typestore, i, stamp))
        run.push(run.rec.on_rgb, rgb_msg(typestore, stamp + skew))
    reason = "colour and depth stamps differ by 4.20 s, no pair within 0.05 s"
    assert run.rec.depth_only == reason
    lines = run.texts(reason)
    assert len(lines) == 1 and "labelling from depth alone" in lines[0]  # once, not per frame
    if not subsets:
        assert "ranked by pc: the checkpoint has no fusion weights for pc+pc_text" in lines[0]
    assert run.results and all(r.depth_only and r.primary == primary for r in run.results)
    assert set(run.results[-1].scores) == {"pc", "pc_text"} | ({"fused"} if subsets else set())
    assert run.results[-1].top_k[0][0] == "bow"
    diag = run.diagnostics(typestore)
    assert (diag.level, diag.message) == (DIAG_WARN, reason)
    # the colour camera's clock is fixed: pairs come back and, once the window holds colour, full fusion
    before = len(run.results)
    for i, stamp in enumerate(stamps(30, start=30)):
        run.push(run.rec.on_depth, depth_msg(typestore, i, stamp))
        run.push(run.rec.on_rgb, rgb_msg(typestore, stamp))
    assert run.rec.depth_only == "" and run.texts("colour and depth pair again")
    last = run.results[-1]
    assert len(run.results) > before and not last.depth_only and last.primary == "fused"
    assert set(last.scores) == {"pc", "pc_text", "rgb", "fused"}
    assert run.diagnostics(typestore).level == DIAG_OK
    run.close()


def test_colour_that_never_arrives_is_named_as_such(typestore):
    cfg = config("fake.pt", *SMALL, "topics.rgb=/camera/color/image_raw", "guards.depth_only_after_frames=10")
    run = Run(cfg, colour_model({}))
    run.rec.on_camera_info(camera_info_msg(typestore, T0))
    run.depth(typestore, stamps(20))
    assert run.rec.depth_only == "no colour image in the last 10 depth frames"
    assert run.results and all(r.depth_only for r in run.results)
    run.close()


# -- 4. stamp jumps ------------------------------------------------------------------------------------------
def test_stamp_jumps_restart_the_buffer_and_results_never_go_back_in_time(typestore):
    run = Run(config("fake.pt", *SMALL), fake_model())
    run.rec.on_camera_info(camera_info_msg(typestore, T0))
    run.depth(typestore, stamps(12))  # results at frames 6 and 12
    assert len(run.results) == 2
    back = -10 * 1_000_000_000
    run.depth(typestore, stamps(12, offset_ns=back))  # a bag loop: 10 s back -> 2 windows, older than published
    st = run.rec.stats()
    assert st["stamp_resets"] == {"back": 1} and st["windows_inferred"] == 4
    assert len(run.results) == 2 and st["results_not_newer"] == 2  # dropped, counted
    jumps = run.texts("stamps jumped back by 10.37 s (bag loop or sim-time reset): window buffer restarted")
    assert len(jumps) == 1
    diag = run.diagnostics(typestore)
    assert diag.level == DIAG_WARN and "1 stamp reset(s)" in diag.message and "2 result(s) not newer" in diag.message
    gap = 60 * 1_000_000_000
    run.depth(typestore, stamps(5, offset_ns=gap))  # a 60 s gap: restarted, so no window from 5 frames
    assert run.rec.stats()["stamp_resets"] == {"back": 1, "forward": 1} and len(run.results) == 2
    assert run.texts("stamps jumped forward by 69.63 s (a gap in the stream)")
    run.depth(typestore, stamps(1, start=5, offset_ns=gap))
    out = [r.stamp_ns for r in run.results]
    assert len(out) == 3 and out == sorted(out) and len(set(out)) == 3
    run.close()


def test_a_small_step_back_is_an_out_of_order_frame_not_a_reset(typestore):
    run = Run(config("fake.pt", *SMALL), fake_model())
    run.rec.on_camera_info(camera_info_msg(typestore, T0))
    run.depth(typestore, stamps(4) + stamps(1, start=1))
    st = run.rec.stats()
    assert st["stamp_resets"] == {} and st["frames_out_of_order"] == 1
    run.close()


# -- 5. malformed messages: once, then rate-limited --------------------------------------------------------------
def test_malformed_messages_are_logged_once_then_summarised(typestore):
    clock = Clock()
    run = Run(config("fake.pt", *SMALL), fake_model(), clock=clock)
    run.rec.on_camera_info(camera_info_msg(typestore, T0))
    for k in range(100):  # 50 s of a broken publisher at 2 Hz
        run.rec.on_depth(bad_depth_msg(typestore, T0 + k * PERIOD))
        clock.t += 0.5
    run.rec.on_depth(object())  # another reason: its first is logged at once
    lines = [t for lvl, t in run.logs if lvl == "warn"]
    reason = "sensor_msgs/Image(depth) (sensor_msgs__msg__Image).data has 100 bytes, expected height*step=6144"
    topic = run.rec.config.topics.depth
    assert lines[0] == f"malformed message on {topic}: {reason}"
    assert lines[1:5] == [f"malformed message on {topic}: {reason} [20 in the last 10 s]"] * 4
    assert lines[5] == f"malformed message on {topic}: object has no header.stamp (sec, nanosec)"
    assert len(lines) == 6
    assert run.rec.stats()["malformed"]["depth"] == {reason: 100, "object has no header.stamp (sec, nanosec)": 1}
    run.close()


# -- 6. camera info published once (latched) -----------------------------------------------------------------------
def test_camera_info_received_once_is_enough(typestore):
    clock = Clock()
    run = Run(config("fake.pt", *SMALL), fake_model())
    watch = TopicWatch(run.rec.topics(), 3.0, publishers_of=lambda t: [], log=lambda lvl, t: run.logs.append((lvl, t)),
                       clock=clock, valid=run.rec.input_valid)
    watch.activate()
    watch.on_message("camera_info")
    run.rec.on_camera_info(camera_info_msg(typestore, T0))  # the one latched sample
    for i, stamp in enumerate(stamps(30)):  # 30 s of depth, no more camera info
        watch.on_message("depth")
        run.push(run.rec.on_depth, depth_msg(typestore, i, stamp))
        clock.t += 1.0
    states = {s.role: s.state for s in watch.check()}
    assert states == {"depth": OK, "camera_info": OK}
    assert run.rec.stats()["waiting_for_camera_info"] == 0 and len(run.results) == 5
    assert not [t for lvl, t in run.logs if lvl == "warn"]
    run.close()


def test_camera_info_that_never_was_valid_is_named():
    clock = Clock()
    watch = TopicWatch({"depth": "/d", "camera_info": "/i"}, 3.0, clock=clock, valid=lambda role: False)
    watch.activate()
    watch.on_message("camera_info")
    state = {s.role: s for s in watch.check()}["camera_info"]
    assert state.state == INVALID and "none usable" in state.message
    # without the latched rule a camera info that stops is still reported (other roles keep the old rules)
    watch = TopicWatch({"rgb": "/c"}, 3.0, clock=clock)
    watch.activate()
    watch.on_message("rgb")
    clock.t += 4.0
    assert [s.state for s in watch.check()] == [STOPPED]


# -- 7. QoS mismatch: who offers what, and what to change --------------------------------------------------------
def silent_message(role, offered, requested, pub_type="", want_type=""):
    clock = Clock()
    watch = TopicWatch({role: "/x"}, 3.0, clock=clock, requested={role: requested}, types={role: want_type},
                       publishers_of=lambda t: [PublisherInfo("/cam", offered, pub_type)])
    watch.activate()
    clock.t += 3.0
    (state,) = watch.check()
    assert state.state == SILENT
    return state.message


def test_a_qos_mismatch_says_which_side_offers_what_and_how_to_fix_it():
    assert silent_message("depth", "best_effort, volatile, keep_last 5", "reliable, volatile, keep_last 5") == (
        "/x: 1 publisher(s) but nothing delivered in 3.0 s - publisher /cam offers best_effort, volatile, "
        "keep_last 5; this node requests reliable, volatile, keep_last 5: incompatible reliability: subscribe "
        "best_effort or make /cam publish reliable")
    msg = silent_message("camera_info", "reliable, volatile, keep_last 1", "reliable, transient_local, keep_last 1")
    assert msg.endswith("incompatible durability: subscribe volatile or make /cam publish transient_local")
    msg = silent_message("depth", "best_effort, volatile", "best_effort, volatile", "sensor_msgs::msg::dds_::Image_",
                         "sensor_msgs/msg/Image")
    assert msg.endswith("the QoS is compatible (this node requests best_effort, volatile; /cam offers best_effort, "
                        "volatile): check the message type, ROS_DOMAIN_ID and the network")
    msg = silent_message("depth", "best_effort, volatile", "best_effort, volatile",
                         "sensor_msgs::msg::dds_::CompressedImage_", "sensor_msgs/msg/Image")
    assert msg.endswith("publisher /cam offers type sensor_msgs/msg/CompressedImage; this node subscribes "
                        "sensor_msgs/msg/Image: publish that type or remap the topic")
