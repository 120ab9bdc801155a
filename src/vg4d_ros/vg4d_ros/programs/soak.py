"""``vg4d soak``: the DDS recogniser live for minutes at 30 Hz depth + RGB, with camera faults mixed in.

A benchmark, not a test: it starts ``vg4d recognize --transport dds`` as a
subprocess on a DDS domain of its own (loopback only), plays a synthetic
RGB-D camera into it from this process and injects faults on a seeded
schedule, each kind once per round in a shuffled order:

* ``dropout``: the camera sends nothing for 2-5 s (its clock runs on);
* ``no_person``: all-zero depth frames (nobody in view) for 3-6 s;
* ``stamp_back`` / ``stamp_forward``: the stamps jump back (a bag loop) or
  forward by 10-60 s;
* ``malformed_short`` (a truncated depth payload: one row of height rows)
  and ``malformed_encoding`` (a depth image that says rgb8): a burst of
  :data:`MALFORMED_BURST` depth messages each. (A cut CDR sample cannot be
  sent: cyclonedds checks the serialisation on write and refuses it with
  ``DDS_RETCODE_BAD_PARAMETER``, and its readers check what arrives.)
* ``colour_clock``: colour stamped on another clock (+1000 s) for 3-6 s;
* ``writer_leaves``: the camera's DDS participant (all three writers) is
  deleted, and a new one comes back 2-5 s later.

The camera (:class:`Scene`, :class:`Camera`, :class:`Player`, :func:`play`)
is reused by tests/ros/test_dds_faults.py, which plays short hand-made
schedules; :class:`Player` also knows two kinds the schedule never draws:
``no_person_nan`` (all-NaN ``32FC1`` depth) and, with ``info_latched``, a
driver that publishes camera_info once on a latched writer.

Every second it samples the recogniser's resident memory (``VmRSS`` of
``/proc/<pid>/status``) and counts what arrives on ``~/action``,
``~/label`` and ``/diagnostics``; at the end it stops the recogniser with
SIGINT and reads its ``--stats-json``. Prints a table and writes JSON with
provenance (default ``results/bench/soak_cpu.json``). Goal: resident memory
grows < 50 MB after the warm-up and the recogniser never crashes.

Usage::

    vg4d soak [--seconds 600] [--model tiny|lite | --checkpoint CK] [--seed 0] [--out JSON] [key=value ...]
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vg4d_core.bench.random_checkpoint import random_checkpoint
from vg4d_core.data.depth import KINECT_V2_DEPTH
from vg4d_core.paths import SOURCE_ROOT
from vg4d_core.provenance import save_json
from vg4d_core.runtime.tables import print_table
from vg4d_ros.bags.ntu2bag import (DEFAULT_START_S, DEFAULT_TOPICS, camera_info_msg, color_image_msg, depth_image_msg,
                                   frame_stamp_ns)
from vg4d_ros.config import NODE_NAME, load_recognizer_config
from vg4d_ros.transports.dds import DdsPublisher, DdsSubscriber, latched_qos, participant, results_qos, sensor_qos
from vg4d_ros.topics import resolve_topic
from vg4d_ros.typestore import ros_typestore

# --- the fault schedule -------------------------------------------------------------------------

FAULT_KINDS = ("dropout", "no_person", "stamp_back", "stamp_forward", "malformed_short", "malformed_encoding",
               "colour_clock", "writer_leaves")
FAULT_SECONDS = {"dropout": (2.0, 5.0), "no_person": (3.0, 6.0), "colour_clock": (3.0, 6.0),
                 "writer_leaves": (2.0, 5.0)}  # seconds a lasting fault lasts (uniform); the others are events
STAMP_JUMP_S = (10.0, 60.0)  # jump size, seconds: above stamp_jump_back_s (1 s) and stamp_gap_s (5 s)
MALFORMED_BURST = 3  # malformed messages per fault: sensor topics are best effort, any one may be lost
COLOUR_CLOCK_OFFSET_NS = 1000 * 1_000_000_000  # "another clock": far outside any sync slop
GOAL_RSS_GROWTH_MB = 50.0
RATE_HZ = 30.0
LOOPBACK = ('<CycloneDDS><Domain Id="any"><General><Interfaces><NetworkInterface name="lo"/>'
            '</Interfaces></General></Domain></CycloneDDS>')
TINY_CLASSES = ("wave", "bow", "kick", "sit down")


@dataclasses.dataclass(frozen=True)
class Fault:
    """One scheduled fault: ``kind`` from ``start_s`` for ``duration_s`` seconds of the run (0 = an event);
    ``jump_s``: signed stamp jump of ``stamp_back`` / ``stamp_forward``, seconds."""

    kind: str
    start_s: float
    duration_s: float = 0.0
    jump_s: float = 0.0

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


def fault_schedule(seconds: float, *, seed: int, quiet_s: float, gap_s: tuple[float, float],
                   fault_s: tuple[float, float] | None = None, rate_hz: float = RATE_HZ) -> list[Fault]:
    """The faults of a run of ``seconds``, in start order, none overlapping another.

    The first ``quiet_s`` seconds are clean (labels must flow before anything breaks); then faults
    follow one another ``gap_s`` (uniform, seconds) apart, every kind once per round in a shuffled
    order, so a run long enough for one round injects each kind. ``fault_s`` replaces the per-kind
    durations of :data:`FAULT_SECONDS` (short test runs). The same arguments give the same schedule.
    """
    rng = random.Random(seed)
    faults: list[Fault] = []
    t, pending = quiet_s, []
    while True:
        if not pending:
            pending = rng.sample(FAULT_KINDS, len(FAULT_KINDS))
        kind = pending.pop()
        if kind in FAULT_SECONDS:
            duration = rng.uniform(*(fault_s or FAULT_SECONDS[kind]))
        elif kind.startswith("malformed"):
            duration = MALFORMED_BURST / rate_hz
        else:
            duration = 0.0
        jump = rng.uniform(*STAMP_JUMP_S) * (-1 if kind == "stamp_back" else 1) if kind.startswith("stamp") else 0.0
        if t + duration >= seconds:
            return faults
        faults.append(Fault(kind, round(t, 3), round(duration, 3), round(jump, 3)))
        t += duration + rng.uniform(*gap_s)


# --- the synthetic camera -----------------------------------------------------------------------

class Scene:
    """Pre-rendered frames: a person-like blob swaying over 2 s at 2-2.5 m in front of a wall at 5 m.

    The wall lies beyond the recogniser's default depth range (4.5 m), so foreground selection has a
    room to remove, as on a robot. Depth ``16UC1`` millimetres at ``depth_size`` (W, H) with the
    Kinect v2 intrinsics scaled to it; colour ``bgr8`` at ``rgb_size`` (W, H), one mid-grey image
    (the colour's content does not change memory or timing).
    """

    CYCLE = 60  # frames of one sway: 2 s at 30 Hz

    def __init__(self, depth_size: tuple[int, int], rgb_size: tuple[int, int]) -> None:
        w, h = depth_size
        sx, sy = w / KINECT_V2_DEPTH.width, h / KINECT_V2_DEPTH.height
        self.intrinsics = dataclasses.replace(KINECT_V2_DEPTH, fx=KINECT_V2_DEPTH.fx * sx, fy=KINECT_V2_DEPTH.fy * sy,
                                              cx=KINECT_V2_DEPTH.cx * sx, cy=KINECT_V2_DEPTH.cy * sy, width=w, height=h)
        v, u = np.mgrid[0:h, 0:w]
        self.depth = []
        for i in range(self.CYCLE):
            cu = w / 2 + 0.08 * w * np.sin(2 * np.pi * i / self.CYCLE)
            frame = np.full((h, w), 5000, np.uint16)
            body = ((u - cu) / (0.09 * w)) ** 2 + ((v - h / 2) / (0.35 * h)) ** 2 <= 1
            frame[body] = (2000 + 500 * ((u[body] - cu) / (0.09 * w)) ** 2).astype(np.uint16)
            self.depth.append(frame)
        self.empty = np.zeros((h, w), np.uint16)
        self.empty_nan = np.full((h, w), np.nan, "<f4")  # 32FC1 metres: no return anywhere
        self.colour = np.full((rgb_size[1], rgb_size[0], 3), 128, np.uint8)


class Camera:
    """One DDS participant with the depth, camera_info and colour writers (sensor QoS, as drivers use).

    ``info_latched``: camera_info on a reliable transient-local writer instead (drivers that publish
    it once). Dropping the object and collecting it deletes the participant: its writers leave the
    domain, exactly as when a camera driver process exits.
    """

    def __init__(self, domain: int, topics: dict[str, str], ts, info_latched: bool = False) -> None:
        self.participant = participant(domain)
        self.depth = DdsPublisher(self.participant, topics["depth"], "sensor_msgs/msg/Image", sensor_qos(), ts)
        self.info = DdsPublisher(self.participant, topics["camera_info"], "sensor_msgs/msg/CameraInfo",
                                 latched_qos() if info_latched else sensor_qos(), ts)
        self.rgb = DdsPublisher(self.participant, topics["rgb"], "sensor_msgs/msg/Image", sensor_qos(), ts)

    def matched(self) -> bool:
        """Whether the depth and camera_info writers have matched the recogniser's readers.

        Colour is left out: the recogniser subscribes to it only when the checkpoint has an RGB score
        (see :meth:`rgb_matched`); the camera publishes it either way, as a driver would.
        """
        return self.depth.matched() > 0 and self.info.matched() > 0

    def rgb_matched(self) -> bool:
        """Whether the recogniser subscribes to colour (only with a checkpoint that has an RGB score)."""
        return self.rgb.matched() > 0


class Observer:
    """This process's view of the recogniser's outputs: counts of ``~/action``, ``~/label`` (by label)
    and ``/diagnostics`` (by the recogniser's own status level), and ``~/label_info`` to know it is up."""

    LEVELS = {0: "ok", 1: "warn", 2: "error", 3: "stale"}

    def __init__(self, domain: int, outputs: dict[str, str], ts) -> None:
        self.participant = participant(domain)
        self.action = DdsSubscriber(self.participant, outputs["action"], "vision_msgs/msg/Classification",
                                    results_qos(), ts)
        self.label = DdsSubscriber(self.participant, outputs["label"], "std_msgs/msg/String", results_qos(), ts)
        self.diagnostics = DdsSubscriber(self.participant, outputs["diagnostics"],
                                         "diagnostic_msgs/msg/DiagnosticArray", results_qos(), ts)
        self.label_info = DdsSubscriber(self.participant, outputs["label_info"], "vision_msgs/msg/LabelInfo",
                                        latched_qos(), ts)
        self.actions = 0
        self.labels: Counter[str] = Counter()
        self.diagnostic_levels: Counter[str] = Counter()

    def drain(self) -> None:
        """Count everything that arrived since the last call (never blocks)."""
        self.actions += len(self.action.take_raw(256))
        self.labels.update(m.data for m in self.label.take(256))
        for array in self.diagnostics.take(64):
            if array.status:  # the first status is the recogniser's own; the others are its input topics
                self.diagnostic_levels[self.LEVELS.get(int(array.status[0].level), "other")] += 1


# --- the recogniser process ---------------------------------------------------------------------

def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (2**20 bytes), from /proc; None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # the kernel reports kB
    except OSError:
        pass
    return None


def recognizer_env() -> dict[str, str]:
    """The recogniser's environment: loopback discovery only (a benchmark must not talk to the network)."""
    return dict(os.environ, CYCLONEDDS_URI=os.environ.get("CYCLONEDDS_URI", LOOPBACK),
                ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1")


def start_recognizer(checkpoint: Path, config: Path, domain: int, overrides: Sequence[str], stats_json: Path,
                     log: Path) -> subprocess.Popen:
    """``vg4d recognize --transport dds`` as a child process, its stdout and stderr into ``log``."""
    cmd = [sys.executable, "-m", "vg4d_core.cli", "recognize", "--transport", "dds", "--checkpoint",
           str(checkpoint), "--config", str(config), "--domain", str(domain), "--stats-json", str(stats_json),
           *overrides]
    with open(log, "w", encoding="utf-8") as out:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, env=recognizer_env(), stdout=out, stderr=subprocess.STDOUT)


def wait_until(ready, proc: subprocess.Popen, timeout_s: float, what: str, log: Path) -> None:
    """Poll ``ready()`` every 50 ms; raise RuntimeError naming ``what`` (and the log's tail) if the
    recogniser exits or ``timeout_s`` passes first."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            why = f"exited with status {proc.returncode}" if proc.poll() is not None else f"not within {timeout_s:g} s"
            raise RuntimeError(f"{what}: {why}\n{_tail(log, 20)}")
        time.sleep(0.05)


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- the run ------------------------------------------------------------------------------------

class Player:
    """Plays the scene at ``rate_hz`` through a :class:`Camera` and applies the faults active at each tick.

    The camera's clock advances every tick whatever happens (a driver keeps time while it cannot
    deliver); stamp jumps shift it for good.
    """

    def __init__(self, scene: Scene, domain: int, topics: dict[str, str], ts, rate_hz: float,
                 info_latched: bool = False) -> None:
        self.scene, self.domain, self.topics, self.ts, self.rate_hz = scene, domain, topics, ts, rate_hz
        self.info_latched = info_latched  # camera_info once per camera, latched, instead of with every frame
        self.start_ns = DEFAULT_START_S * 1_000_000_000
        self.published: Counter[str] = Counter()
        self.camera: Camera | None = self._new_camera()
        # seconds from a camera's return until its writers matched again (0 when this process's domain
        # already knew the recogniser's readers: cyclonedds keeps discovery per domain, not per participant)
        self.rejoin_s: list[float] = []
        self._rejoined_at: float | None = None

    def leave(self) -> None:
        """The camera driver exits: its participant and writers leave the domain."""
        self.camera = None
        gc.collect()  # the participant is deleted with its Python object: it leaves the domain now

    def come_back(self) -> None:
        """A new camera participant joins; frames sent before its writers match are lost (best effort)."""
        self.camera = self._new_camera()
        self._rejoined_at = time.monotonic()

    def _new_camera(self) -> Camera:
        cam = Camera(self.domain, self.topics, self.ts, self.info_latched)
        if self.info_latched:  # once, at once: the writer keeps it for readers that match later
            cam.info.publish(camera_info_msg(self.ts, self.scene.intrinsics, self.start_ns))
            self.published["camera_info"] += 1
        return cam

    def tick(self, i: int, active: set[str]) -> None:
        """Publish frame ``i`` (camera_info, depth, colour) as the ``active`` fault kinds make it."""
        cam = self.camera
        if cam is None or "dropout" in active:
            self.published["skipped_ticks"] += 1
            return
        if self._rejoined_at is not None and cam.matched():
            self.rejoin_s.append(time.monotonic() - self._rejoined_at)
            self._rejoined_at = None
        stamp = frame_stamp_ns(self.start_ns, i, self.rate_hz)
        ts, scene = self.ts, self.scene
        if not self.info_latched:
            cam.info.publish(camera_info_msg(ts, scene.intrinsics, stamp))
            self.published["camera_info"] += 1
        malformed = next((k for k in active if k.startswith("malformed")), None)
        depth = scene.empty if "no_person" in active else scene.depth[i % Scene.CYCLE]
        msg = depth_image_msg(ts, depth, stamp)
        if "no_person_nan" in active:  # a float driver's "nothing": 32FC1 metres, every pixel NaN
            msg.encoding, msg.step = "32FC1", 4 * msg.width
            msg.data = scene.empty_nan.view(np.uint8).reshape(-1)
        if malformed == "malformed_short":
            msg.data = msg.data[: msg.step]  # one row of height rows
        elif malformed == "malformed_encoding":
            msg.encoding = "rgb8"
        cam.depth.publish(msg)
        self.published[malformed or ("depth_empty" if {"no_person", "no_person_nan"} & active else "depth")] += 1
        colour_stamp = stamp + (COLOUR_CLOCK_OFFSET_NS if "colour_clock" in active else 0)
        cam.rgb.publish(color_image_msg(ts, scene.colour, colour_stamp))
        self.published["rgb_other_clock" if "colour_clock" in active else "rgb"] += 1


def play(player: Player, faults: list[Fault], seconds: float, rec: subprocess.Popen, observer: Observer,
         progress: bool = True) -> dict[str, Any]:
    """Run the schedule in real time; returns what happened (RSS samples, faults, end state)."""
    ticks = int(round(seconds * player.rate_hz))
    upcoming = list(faults)
    active: list[Fault] = []
    injected: Counter[str] = Counter()
    rss: list[tuple[float, float]] = []  # (seconds into the run, MB)
    late = 0
    start = time.monotonic()
    next_sample = 0.0
    died_at = None
    for i in range(ticks):
        t = i / player.rate_hz
        for f in [f for f in active if f.end_s <= t]:
            active.remove(f)
            if f.kind == "writer_leaves":
                player.come_back()
        while upcoming and upcoming[0].start_s <= t:
            f = upcoming.pop(0)
            injected[f.kind] += 1
            if f.jump_s:
                player.start_ns += int(f.jump_s * 1e9)
            if f.kind == "writer_leaves":
                player.leave()
            if f.duration_s:
                active.append(f)
        player.tick(i, {f.kind for f in active})
        observer.drain()
        if t >= next_sample:
            next_sample += 1.0
            mb = rss_mb(rec.pid)
            if mb is None or rec.poll() is not None:
                died_at = t
                break
            rss.append((round(t, 3), round(mb, 2)))
            if progress and int(t) % 60 == 0:
                print(f"  {t:5.0f} s  RSS {mb:7.1f} MB  {observer.actions} actions  "
                      f"{sum(injected.values())} faults", flush=True)
        due = start + (i + 1) / player.rate_hz
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        elif now - due > 1 / player.rate_hz:
            late += 1  # this process fell a whole frame behind (machine load): the rate is reported as achieved
    if player.camera is None:
        player.come_back()  # a run that ends while the camera is away still ends with the camera back
    return {"rss": rss, "injected": injected, "late_ticks": late, "died_at_s": died_at,
            "elapsed_s": time.monotonic() - start, "ticks": i + 1}


def rss_summary(rss: list[tuple[float, float]], warmup_s: float) -> dict[str, Any]:
    """RSS start / end / max and growth (MB): from the first sample, and from the first sample at or
    after ``warmup_s`` (allocator pools, caches and the first windows settle in the first minute)."""
    if not rss:
        return {"samples": 0}
    values = [mb for _, mb in rss]
    warm = [mb for t, mb in rss if t >= warmup_s] or values[-1:]
    return {"samples": len(rss), "start_mb": values[0], "end_mb": values[-1], "max_mb": max(values),
            "warmup_s": warmup_s, "after_warmup_mb": warm[0], "growth_from_start_mb": round(max(values) - values[0], 2),
            "growth_after_warmup_mb": round(max(warm) - warm[0], 2)}


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    try:
        size = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if min(size) < 8:
        raise argparse.ArgumentTypeError(f"image size {text!r} is too small (at least 8x8)")
    return size


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="vg4d soak", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600.0, help="length of the camera stream, seconds")
    ap.add_argument("--rate", type=float, default=RATE_HZ, help="camera rate, Hz")
    ap.add_argument("--seed", type=int, default=0, help="seed of the fault schedule")
    ap.add_argument("--quiet", type=float, default=10.0, help="fault-free seconds at the start")
    ap.add_argument("--fault-gap", type=float, nargs=2, default=(5.0, 15.0), metavar=("MIN", "MAX"),
                    help="seconds between the end of one fault and the start of the next")
    ap.add_argument("--fault-seconds", type=float, nargs=2, default=None, metavar=("MIN", "MAX"),
                    help="duration of every lasting fault, seconds (default: per kind, 2-6 s)")
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds before the RSS growth reference")
    ap.add_argument("--depth-size", type=_size, default=(512, 424), help="depth image WxH (Kinect v2)")
    ap.add_argument("--rgb-size", type=_size, default=(640, 480), help="colour image WxH")
    model = ap.add_mutually_exclusive_group()
    model.add_argument("--checkpoint", type=Path, default=None, help="a real checkpoint instead of random weights")
    model.add_argument("--model", choices=["tiny", "lite"], default="tiny",
                       help="random weights: tiny = lite im-PSTNet at 12 x 64, 4 classes; "
                            "lite = the lite config, 12 x 256, 60 classes")
    ap.add_argument("--config", type=Path, default=SOURCE_ROOT / "config" / "recognize.yaml",
                    help="the recogniser's recognize.yaml")
    ap.add_argument("--threads", type=int, default=1, help="the recogniser's torch threads (inference.threads)")
    ap.add_argument("--domain", type=int, default=None, help="DDS domain (default: a random one in 1..232)")
    ap.add_argument("--startup-timeout", type=float, default=600.0,
                    help="seconds for the recogniser to load and warm up")
    ap.add_argument("--out", type=Path, default=SOURCE_ROOT / "results" / "bench" / "soak_cpu.json")
    ap.add_argument("overrides", nargs="*", help="key=value settings passed to the recogniser")
    args = ap.parse_args(list(argv))
    if args.seconds <= 0 or args.rate <= 0:
        ap.error("--seconds and --rate must be positive")
    return args


def _checkpoint(args: argparse.Namespace, workdir: Path) -> Path:
    if args.checkpoint is not None:
        return args.checkpoint
    if args.model == "tiny":
        return random_checkpoint(workdir / "tiny.pt", model="lite", frames=12, points=64, class_names=TINY_CLASSES)
    return random_checkpoint(workdir / "lite.pt", model="lite", class_names=[f"A{i + 1:03d}" for i in range(60)],
                             embed_dim=256, data_config={"name": "ntu", "convention": "kinect_v2"})


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)

    os.environ.setdefault("CYCLONEDDS_URI", LOOPBACK)  # this process's participants: loopback too
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    domain = args.domain if args.domain is not None else random.SystemRandom().randint(1, 232)
    topics = {k: DEFAULT_TOPICS[k] for k in ("depth", "camera_info", "rgb")}
    overrides = [f"topics.{k}={v}" for k, v in topics.items()] + [
        "inference.device=cpu", f"inference.threads={args.threads}", *args.overrides]
    config = load_recognizer_config(args.config, overrides)  # a bad override fails here, before anything starts
    outputs = {k: resolve_topic(getattr(config.output, k), NODE_NAME)
               for k in ("action", "label", "label_info", "diagnostics")}
    faults = fault_schedule(args.seconds, seed=args.seed, quiet_s=args.quiet, gap_s=tuple(args.fault_gap),
                            fault_s=tuple(args.fault_seconds) if args.fault_seconds else None, rate_hz=args.rate)
    missing = sorted(set(FAULT_KINDS) - {f.kind for f in faults})
    if missing:
        print(f"vg4d soak: note: {args.seconds:g} s is too short for one fault of each kind; missing {missing}",
              file=sys.stderr)
    ts = ros_typestore()
    scene = Scene(args.depth_size, args.rgb_size)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vg4d_soak_") as tmp:
        work = Path(tmp)
        ckpt = _checkpoint(args, work)
        stats_path, log = work / "stats.json", work / "recognizer.log"
        observer = Observer(domain, outputs, ts)
        rec = start_recognizer(ckpt, args.config, domain, overrides, stats_path, log)
        failure = None
        try:
            print(f"vg4d soak: recogniser pid {rec.pid} on DDS domain {domain}; {len(faults)} faults over "
                  f"{args.seconds:g} s", flush=True)
            # label_info is published once the model is loaded and warmed up, right before the loop starts
            wait_until(lambda: observer.label_info.take_raw(1), rec, args.startup_timeout, "recogniser start-up", log)
            player = Player(scene, domain, topics, ts, args.rate)
            wait_until(player.camera.matched, rec, 60, "camera writers matching the recogniser", log)
            rgb_subscribed = player.camera.rgb_matched()  # discovery is complete once depth matched
            run = play(player, faults, args.seconds, rec, observer)
            settle = time.monotonic() + 3.0  # the last windows' labels are still on their way
            while time.monotonic() < settle and rec.poll() is None:
                observer.drain()
                time.sleep(0.05)
        except RuntimeError as exc:  # the recogniser never came up: one message with its log's tail, no report
            failure = exc
        finally:
            alive = rec.poll() is None
            if alive:
                rec.send_signal(signal.SIGINT)
            try:
                exit_status = rec.wait(timeout=120)
            except subprocess.TimeoutExpired:
                rec.kill()
                exit_status = None  # did not stop within 2 minutes of SIGINT: reported as a failure
        if failure is not None:
            print(f"vg4d soak: error: {failure}", file=sys.stderr)
            return 2
        log_text = log.read_text(encoding="utf-8", errors="replace")
        stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    load_end = os.getloadavg()
    report = build_report(args, faults, run, stats, observer, player, alive=alive and run["died_at_s"] is None,
                          exit_status=exit_status, log_text=log_text, domain=domain, rgb_subscribed=rgb_subscribed,
                          checkpoint=str(args.checkpoint) if args.checkpoint else f"random weights ({args.model})",
                          load=(load_start, load_end))
    print_report(report, print_table)
    out = save_json(args.out, report)
    print(f"wrote {out}")
    return 0 if report["goal_met"] else 1


def build_report(args, faults, run, stats, observer, player, *, alive, exit_status, log_text, domain, checkpoint,
                 load, rgb_subscribed) -> dict[str, Any]:
    """The JSON report: configuration, what was sent, what the recogniser did, memory and the verdict."""
    rss = rss_summary(run["rss"], min(args.warmup, args.seconds / 4))
    crashed = not alive or exit_status != 0 or "Traceback" in log_text
    growth = rss.get("growth_after_warmup_mb")
    windows = {k: stats.get(k) for k in ("windows_formed", "windows_inferred", "windows_dropped", "windows_no_person",
                                         "windows_unsure", "results_not_newer", "inference_errors")}
    return {
        "benchmark": "soak",
        "seconds": args.seconds, "rate_hz": args.rate, "seed": args.seed, "domain": domain,
        "checkpoint": checkpoint, "threads": args.threads, "overrides": list(args.overrides),
        "depth_size": list(args.depth_size), "rgb_size": list(args.rgb_size),
        # a checkpoint without an RGB score ignores colour: the colour faults then reach no reader
        "rgb_subscribed": rgb_subscribed,
        "load_average": {"start": list(load[0]), "end": list(load[1])},
        "elapsed_s": round(run["elapsed_s"], 2), "ticks": run["ticks"], "late_ticks": run["late_ticks"],
        "published": dict(sorted(player.published.items())),
        "faults_injected": {k: run["injected"].get(k, 0) for k in FAULT_KINDS},
        "camera_rejoin_s": [round(s, 3) for s in player.rejoin_s],
        "rss_mb": rss,
        "windows": windows,
        "latency_ms": {"p50": stats.get("latency_ms_p50"), "p95": stats.get("latency_ms_p95")},
        "stamp_resets": stats.get("stamp_resets", {}),
        "frames_out_of_order": stats.get("frames_out_of_order"),
        "frames_depth_only": stats.get("frames_depth_only"),
        "malformed_total": stats.get("malformed_total"), "malformed": stats.get("malformed", {}),
        "messages_received": stats.get("messages", {}),
        "received": {"action": observer.actions, "label": sum(observer.labels.values()),
                     "labels": dict(observer.labels.most_common()),
                     "diagnostics": dict(observer.diagnostic_levels)},
        "recognizer": {"alive_until_end": alive, "died_at_s": run["died_at_s"], "exit_status": exit_status,
                       "traceback_in_log": "Traceback" in log_text, "log_tail": log_text.splitlines()[-15:]},
        "schedule": [dataclasses.asdict(f) for f in faults],
        "goal": f"RSS growth after warm-up < {GOAL_RSS_GROWTH_MB:g} MB and no crash",
        "crashes": int(crashed),
        "goal_met": not crashed and growth is not None and growth < GOAL_RSS_GROWTH_MB,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_report(r: dict[str, Any], print_table) -> None:
    """The short table of the headline figures (the JSON has the rest)."""
    rss, w = r["rss_mb"], r["windows"]
    rows = [
        {"figure": "duration",
         "value": f"{r['elapsed_s']:.0f} s at {r['rate_hz']:g} Hz ({r['late_ticks']} late ticks)"},
        {"figure": "published", "value": ", ".join(f"{k} {v}" for k, v in r["published"].items())},
        {"figure": "faults", "value": ", ".join(f"{k} {v}" for k, v in r["faults_injected"].items())},
        {"figure": "RSS start / end / max",
         "value": f"{rss.get('start_mb')} / {rss.get('end_mb')} / {rss.get('max_mb')} MB"},
        {"figure": "RSS growth (after warm-up / from start)",
         "value": f"{rss.get('growth_after_warmup_mb')} / {rss.get('growth_from_start_mb')} MB"},
        {"figure": "windows formed / classified / dropped",
         "value": f"{w['windows_formed']} / {w['windows_inferred']} / {w['windows_dropped']}"},
        {"figure": "withheld: no person / unsure / not newer",
         "value": f"{w['windows_no_person']} / {w['windows_unsure']} / {w['results_not_newer']}"},
        {"figure": "latency p50 / p95", "value": " / ".join(_ms(r["latency_ms"][k]) for k in ("p50", "p95")) + " ms"},
        {"figure": "stamp resets", "value": json.dumps(r["stamp_resets"])},
        {"figure": "malformed counted", "value": str(r["malformed_total"])},
        {"figure": "labelled (received action / label)",
         "value": f"{r['received']['action']} / {r['received']['label']}"},
        {"figure": "recogniser alive / exit", "value": f"{r['recognizer']['alive_until_end']} / "
                                                       f"{r['recognizer']['exit_status']}"},
        {"figure": "load average start / end", "value": f"{r['load_average']['start'][0]:.2f} / "
                                                        f"{r['load_average']['end'][0]:.2f}"},
        {"figure": "goal met", "value": f"{r['goal_met']} ({r['goal']})"},
    ]
    print_table(rows, ["figure", "value"])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
