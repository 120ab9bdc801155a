"""``vg4d bench node``: can the recogniser keep up with a camera?

For each model config (``config/model/<name>.yaml``; default lite = 12 x 256
and ntu = 23 x 2048) a random-weights checkpoint of that geometry (60
classes, NTU metres) drives :class:`vg4d_ros.pipeline.recognizer.Recognizer`, the
core both transports use, with a synthetic Kinect v2 depth stream (512 x
424 ``16UC1`` rosbags messages: a person-sized blob at 2-2.5 m in front of
a wall at 5 m, which the foreground range drops). Figures:

* ``callback_ms``: median cost of one depth message in the callback
  (conversion, foreground, window buffer) on frames that form no window;
* ``infer_ms``: median collate + predictor time of one window;
* ``paced``: ``--rate`` Hz of input for ``--seconds`` with the inference
  worker running: windows formed / labelled / dropped and the window-to-label
  latency p50 / p95 (``keeps_up``: no window dropped and every callback on time);
* ``sustained_hz``: frames per second the callback thread absorbs with the
  worker running, fed as fast as possible for ``--seconds``.

Plus the per-message decode cost of depth, bgr8 and PointCloud2 over rosbags
CDR and DDS (:func:`vg4d_ros.programs.bench_decode.bench_decode`). Prints a table and
writes JSON (default ``results/bench/node_cpu.json``) with provenance.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch


from vg4d_core.bench.random_checkpoint import random_checkpoint
from vg4d_core.paths import SOURCE_ROOT
from vg4d_core.provenance import save_json
from vg4d_core.runtime.tables import print_table
from vg4d_ros.config import load_recognizer_config
from vg4d_ros.pipeline.model import load_model
from vg4d_ros.pipeline.recognizer import Recognizer
from vg4d_ros.programs.bench_decode import bench_decode
from vg4d_ros.typestore import ros_typestore

WIDTH, HEIGHT = 512, 424
KINECT_K = (365.0, 0.0, 256.0, 0.0, 365.0, 212.0, 0.0, 0.0, 1.0)
COLUMNS = ["config", "frames", "points", "threads", "callback_ms", "infer_ms", "paced_hz", "windows", "labelled",
           "dropped", "latency_p50_ms", "latency_p95_ms", "keeps_up", "sustained_hz"]


def _checkpoint(name: str, path: Path) -> Path:
    """A random-weights checkpoint of model config ``name``: 60 classes, points in metres (NTU's convention)."""
    return random_checkpoint(path, model=name, class_names=[f"A{i + 1:03d}" for i in range(60)], embed_dim=256,
                             data_config={"name": "ntu", "convention": "kinect_v2"})


def _stream(ts, frames: int):
    """``frames`` depth messages (a blob swaying over 2 s) and one camera_info."""
    T = ts.types
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH]
    msgs = []
    for i in range(frames):
        cu = 256 + 40 * np.sin(2 * np.pi * i / 60)
        depth = np.full((HEIGHT, WIDTH), 5000, np.uint16)  # the wall: outside max_depth
        body = ((u - cu) / 45.0) ** 2 + ((v - 212) / 150.0) ** 2 <= 1
        depth[body] = (2000 + 500 * ((u[body] - cu) / 45.0) ** 2).astype(np.uint16)
        header = T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=10 + i // 30,
                                                                                 nanosec=(i % 30) * 33_333_333),
                                          frame_id="depth")
        msgs.append(T["sensor_msgs/msg/Image"](header=header, height=HEIGHT, width=WIDTH, encoding="16UC1",
                                               is_bigendian=0, step=WIDTH * 2, data=depth.view(np.uint8).reshape(-1)))
    info = T["sensor_msgs/msg/CameraInfo"](
        header=msgs[0].header, height=HEIGHT, width=WIDTH, distortion_model="plumb_bob", d=np.zeros(5),
        k=np.array(KINECT_K), r=np.eye(3).reshape(-1), p=np.zeros(12), binning_x=0, binning_y=0,
        roi=T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))
    return msgs, info


def _restamp(ts, msg, i: int):
    """A copy of ``msg`` stamped as frame ``i`` of a 30 Hz stream (the buffer needs rising stamps)."""
    T = ts.types
    header = T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](
        sec=10 + i // 30, nanosec=(i % 30) * 33_333_333), frame_id="depth")
    return T["sensor_msgs/msg/Image"](header=header, height=msg.height, width=msg.width, encoding=msg.encoding,
                                      is_bigendian=0, step=msg.step, data=msg.data)


def bench_config(name: str, *, seconds: float, rate_hz: float, threads: int, workdir: Path) -> dict[str, Any]:

    ts = ros_typestore()
    ckpt = _checkpoint(name, workdir / f"{name}.pt")
    config = load_recognizer_config(SOURCE_ROOT / "config" / "recognize.yaml",
                                    [f"inference.checkpoint={ckpt}", "inference.device=cpu",
                                     f"inference.threads={threads}",
                                     # a window from min_frames on, every hop (what is timed is the cost per
                                     # window; the random checkpoint records no video length to cover)
                                     "window.min_coverage=0"])
    model = load_model(config)
    base, info = _stream(ts, 60)

    def fresh():
        rec = Recognizer(config, model, lambda r: None)
        rec.on_camera_info(info)
        return rec

    # callback cost alone (no worker) and inference cost of one window
    rec = fresh()
    costs = []
    for i in range(60):
        msg = _restamp(ts, base[i % 60], i)
        t0 = time.perf_counter()
        rec.on_depth(msg)
        dt = time.perf_counter() - t0
        if not rec.mailbox.discard():  # a callback that formed a window is not the callback cost alone
            costs.append(dt)
    window = rec.buffer.window()
    infer: list[float] = []

    def time_infer() -> None:  # on a thread of its own, as the worker runs it (OpenMP threads are per thread)
        torch.set_num_threads(threads)
        rec.infer(window)  # warm-up
        for _ in range(5):
            t0 = time.perf_counter()
            rec.infer(window)
            infer.append(time.perf_counter() - t0)

    worker = threading.Thread(target=time_infer)
    worker.start()
    worker.join()

    # paced input with the worker running
    rec = fresh()
    rec.start()
    n = int(seconds * rate_hz)
    late = 0
    start = time.perf_counter()
    for i in range(n):
        due = start + i / rate_hz
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        elif now - due > 1 / rate_hz:
            late += 1  # the callback thread fell a whole period behind
        rec.on_depth(_restamp(ts, base[i % 60], i))
    paced_elapsed = time.perf_counter() - start
    rec.wait_idle(120)
    rec.stop()
    paced = rec.stats()

    # unpaced: how many frames per second the callback thread absorbs while inference runs
    rec = fresh()
    rec.start()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        rec.on_depth(_restamp(ts, base[count % 60], count))
        count += 1
    sustained = count / (time.perf_counter() - start)
    rec.wait_idle(120)
    rec.stop()
    flood = rec.stats()
    s = rec.settings.window
    return {
        "config": name, "frames": s.num_segments, "points": s.points_per_frame, "threads": threads,
        "window_s": s.window_s, "hop_frames": s.hop_frames,
        "callback_ms": statistics.median(costs) * 1e3, "infer_ms": statistics.median(infer) * 1e3,
        "paced_hz": n / paced_elapsed, "paced_frames": n, "windows": paced["windows_formed"],
        "labelled": paced["windows_inferred"], "dropped": paced["windows_dropped"], "late_callbacks": late,
        "latency_p50_ms": paced["latency_ms_p50"], "latency_p95_ms": paced["latency_ms_p95"],
        "keeps_up": paced["windows_dropped"] == 0 and late == 0,
        "sustained_hz": sustained, "sustained_windows": flood["windows_formed"],
        "sustained_labelled": flood["windows_inferred"], "sustained_dropped": flood["windows_dropped"],
    }


def main(argv: Sequence[str]) -> int:
    ap = argparse.ArgumentParser(prog="vg4d bench node", description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", nargs="+", default=["lite", "ntu"], help="model configs (config/model/)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the paced and the unpaced run")
    ap.add_argument("--rate", type=float, default=30.0, help="paced input rate, Hz")
    ap.add_argument("--threads", type=int, default=2, help="torch threads of the inference worker")
    ap.add_argument("--decode-repeats", type=int, default=20)
    ap.add_argument("--no-dds", action="store_true", help="decode figures over rosbags CDR only")
    ap.add_argument("--out", default=str(SOURCE_ROOT / "results" / "bench" / "node_cpu.json"))
    args = ap.parse_args(list(argv))

    os.environ.setdefault("CYCLONEDDS_URI", '<CycloneDDS><Domain Id="any"><General><Interfaces>'
                          '<NetworkInterface name="lo"/></Interfaces></General></Domain></CycloneDDS>')
    decode = bench_decode(args.decode_repeats, dds=not args.no_dds)
    print_table([{"message": k, **v} for k, v in decode.items()], ["message", "cdr", "dds", "dds_write"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs:
            rows.append(bench_config(name, seconds=args.seconds, rate_hz=args.rate, threads=args.threads,
                                     workdir=Path(tmp)))
            print_table(rows[-1:], COLUMNS)
    print()
    print_table(rows, COLUMNS)
    out = save_json(args.out, {"benchmark": "node", "rate_hz": args.rate, "seconds": args.seconds,
                               "load_average": os.getloadavg(), "decode_ms": decode, "rows": rows})
    print(f"wrote {out}")
    return 0
