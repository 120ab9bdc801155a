"""Continuous streams: trimmed action bags stitched into one recording, and the stream report of a replay.

``vg4d stitch BAG... --out STREAM`` writes the depth (or cloud) stream of the given bags one after the
other, in a seeded random order, with an idle gap of 1-4 s (uniform, seeded) before each action: the
person standing still (the previous action's last frame repeated, with a depth sensor's noise drawn
anew for each frame: ``--still-noise kinect``, the default, or exact copies: ``none``) or absent (an
empty frame: every depth pixel 0 / an empty cloud), chosen per gap at random
(``--idle still|absent|mixed``). A still person seen by a real camera is never the same frame twice:
the noise is Kinect v1's random depth error, sigma = 1.5e-3 z^2 metres (z in metres; about 4 cm at
5 m, after Khoshelham and Elberink 2012), Gaussian per pixel, drawn from a generator of its own (the
order, gaps and idle kinds of a seed do not depend on it). Frames are
restamped on one clock at each source's own rate; the camera info is repeated before every frame.
``STREAM/../<name>.labels.yaml`` (stamp clock) holds one segment per action: exactly its frames.

:func:`stream_report` scores a replayed stream: per-frame predicted labels from the action events
(:mod:`vg4d_ros.pipeline.events`; a frame takes the label of the segment whose span holds it, a later
segment winning where spans overlap), against the ground truth (background between actions), with the
metrics of :mod:`vg4d_core.runtime.segment_metrics`, plus the detection delay of each action: the time
from its first frame to the first window at which an event with its label had started, looking until
the next action starts or ``window_s`` after its end (later: missed).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml

from vg4d_core.runtime.segment_metrics import BACKGROUND, stream_metrics
from vg4d_ros.bags.bagio import BagWriter, bag_topics, open_bag, read_messages
from vg4d_ros.bags.labels import GROUND_TRUTH_TOPIC, Segment, label_at, load_labels, segments_from_topic
from vg4d_ros.pipeline.decode import stamp_ns
from vg4d_ros.pipeline.events import ENDED, STARTED, ActionEvent

IDLE_KINDS = ("still", "absent", "mixed")
STILL_NOISE = ("kinect", "none")
KINECT_NOISE_PER_M2 = 1.5e-3  # sigma of the depth error in metres per squared metre of depth


def _with_depth_noise(msg: Any, rng: np.random.Generator) -> Any:
    """A depth image (16UC1 mm, 32FC1 m) with the sensor noise of the module docstring added to its valid
    pixels; anything else (a cloud, another encoding) is returned unchanged."""
    enc = getattr(msg, "encoding", None)
    if enc not in ("16UC1", "mono16", "32FC1"):
        return msg
    order = ">" if msg.is_bigendian else "<"
    dtype = np.dtype(order + ("f4" if enc == "32FC1" else "u2"))
    raw = np.asarray(msg.data, dtype=np.uint8).reshape(int(msg.height), int(msg.step))
    width = int(msg.width) * dtype.itemsize
    depth = raw[:, :width].copy().view(dtype).astype(np.float64)
    z_m = depth / 1000.0 if enc != "32FC1" else depth
    valid = np.isfinite(z_m) & (z_m > 0)
    noisy = z_m + rng.standard_normal(z_m.shape) * KINECT_NOISE_PER_M2 * z_m ** 2
    noisy = np.where(valid, np.maximum(noisy, 1e-3), z_m)
    out = np.round(noisy * 1000.0).clip(0, 65535).astype(dtype) if enc != "32FC1" else noisy.astype(dtype)
    data = raw.copy()
    data[:, :width] = out.view(np.uint8).reshape(raw.shape[0], width)
    return dataclasses.replace(msg, data=data.reshape(-1))


def _with_stamp(ts, msg: Any, stamp: int):
    """A copy of ``msg`` whose header stamp is ``stamp`` (int ns)."""
    T = ts.types
    t = T["builtin_interfaces/msg/Time"](sec=int(stamp // 1_000_000_000), nanosec=int(stamp % 1_000_000_000))
    header = dataclasses.replace(msg.header, stamp=t)
    return dataclasses.replace(msg, header=header)


def _empty_like(ts, msg: Any):
    """The frame with nobody in it: a depth image of zeros (no return) or a cloud of no points."""
    if hasattr(msg, "encoding"):
        return dataclasses.replace(msg, data=np.zeros_like(np.asarray(msg.data, dtype=np.uint8)))
    return dataclasses.replace(msg, width=0, height=1, row_step=0, data=np.zeros(0, np.uint8))


def _read_action(bag: Path, topics: dict[str, str], labels) -> tuple[list, Any, str, float]:
    """One action bag -> (its frames [(stamp, msg)], camera info or None, label, frame rate Hz)."""
    with open_bag(bag) as reader:
        available = bag_topics(reader)
        wanted = [t for t in (topics["frames"], topics["camera_info"], GROUND_TRUTH_TOPIC) if t in available]
        if topics["frames"] not in available:
            raise ValueError(f"{bag}: no {topics['frames']} topic")
        frames, info, gt = [], None, []
        start = int(reader.start_time)
        for m in read_messages(reader, wanted, path=bag):
            if m.msg is None:
                continue
            if m.topic == GROUND_TRUTH_TOPIC:
                gt.append((m.log_time_ns, str(m.msg.data)))
            elif m.topic == topics["camera_info"]:
                info = m.msg if info is None else info
            else:
                frames.append((stamp_ns(m.msg), m.msg))
    entry = labels.for_bag(bag) if labels is not None else None
    segments = entry.resolve(start) if entry is not None else segments_from_topic(gt)
    if len(segments) != 1:
        raise ValueError(f"{bag}: a stitched action bag needs exactly one labelled segment, it has {len(segments)}")
    seg = segments[0]
    frames = [f for f in frames if seg.contains(f[0])]
    if len(frames) < 2:
        raise ValueError(f"{bag}: fewer than 2 frames in its labelled segment")
    rate = (len(frames) - 1) / ((frames[-1][0] - frames[0][0]) / 1e9)
    return frames, info, seg.label, rate


def stitch(bags: Sequence[str | Path], out: str | Path, *, labels=None, seed: int = 0,
           gap_s: tuple[float, float] = (1.0, 4.0), idle: str = "mixed", input_kind: str = "depth",
           start_ns: int = 1_700_000_000 * 1_000_000_000, storage: str = "mcap", still_noise: str = "kinect") -> Path:
    """Write one stream bag of the actions of ``bags`` (see the module docstring); returns its labels file."""
    if idle not in IDLE_KINDS:
        raise ValueError(f"idle must be one of {IDLE_KINDS}, got {idle!r}")
    if still_noise not in STILL_NOISE:
        raise ValueError(f"still_noise must be one of {STILL_NOISE}, got {still_noise!r}")
    noise_rng = np.random.default_rng([int(seed), 1])  # its own stream: the stream's layout is the seed's
    topics = {"frames": "/camera/depth/image_raw" if input_kind == "depth" else "/camera/depth/points",
              "camera_info": "/camera/depth/camera_info"}
    frame_type = "sensor_msgs/msg/Image" if input_kind == "depth" else "sensor_msgs/msg/PointCloud2"
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(bags))
    out = Path(out)
    segments = []
    t = int(start_ns)
    with BagWriter(out, storage) as writer:
        ts = writer.typestore
        info = last = None
        for i in order:
            frames, bag_info, label, rate = _read_action(Path(bags[i]), topics, labels)
            info = bag_info if bag_info is not None else info
            step = int(round(1e9 / rate))
            kind = idle if idle != "mixed" else ("still", "absent")[int(rng.integers(2))]
            gap = float(rng.uniform(*gap_s))
            still = kind == "still" and last is not None
            idle_msg = last if still else _empty_like(ts, frames[0][1])
            for _ in range(int(round(gap * 1e9 / step))):
                t += step
                msg = _with_depth_noise(idle_msg, noise_rng) if still and still_noise == "kinect" else idle_msg
                _write_frame(writer, ts, topics, frame_type, info, msg, t)
            first = t + step
            for _, msg in frames:
                t += step
                _write_frame(writer, ts, topics, frame_type, info, msg, t)
            segments.append([first, t, label])
            last = frames[-1][1]
    labels_path = out.parent / f"{out.name}.labels.yaml"
    labels_path.write_text(yaml.safe_dump({"bags": {out.name: {"clock": "stamp", "segments": segments}}}),
                           encoding="utf-8")
    return labels_path


def _write_frame(writer, ts, topics, frame_type, info, msg, t: int) -> None:
    if info is not None:  # as a driver: the camera info just before each frame
        writer.write(topics["camera_info"], "sensor_msgs/msg/CameraInfo", t - 1000, _with_stamp(ts, info, t))
    writer.write(topics["frames"], frame_type, t, _with_stamp(ts, msg, t))


def predicted_labels(frame_stamps: Sequence[int], events: Sequence[ActionEvent]) -> list[str]:
    """Per-frame labels from ended events (a later segment wins where spans overlap); "" = none."""
    stamps = np.asarray(frame_stamps, dtype=np.int64)
    out = np.full(stamps.shape[0], BACKGROUND, dtype=object)
    for e in events:
        if e.state == ENDED:
            out[(stamps >= e.start_ns) & (stamps <= e.end_ns)] = e.label
    return list(out)


def detection_delays(truth: Sequence[Segment], events: Sequence[ActionEvent], window_s: float) -> list[float | None]:
    """Per true segment: seconds from its start to the first window at which a segment of its label had
    started (None: missed). A segment already open with that label at the start counts 0."""
    started = [e for e in events if e.state == STARTED]
    ended = {(e.label, e.start_ns): e for e in events if e.state == ENDED}
    out: list[float | None] = []
    for i, seg in enumerate(truth):
        limit = seg.end_ns + int(window_s * 1e9)
        if i + 1 < len(truth):
            limit = min(limit, truth[i + 1].start_ns)
        best = None
        for e in started:
            if e.label != seg.label:
                continue
            end = ended.get((e.label, e.start_ns))
            seg_end = end.end_ns if end is not None else e.stamp_ns
            if e.stamp_ns <= limit and seg_end >= seg.start_ns:
                best = max(0, e.stamp_ns - seg.start_ns)
                break
        out.append(None if best is None else best / 1e9)
    return out


def stream_report(frame_stamps: Sequence[int], truth: Sequence[Segment], events: Sequence[ActionEvent],
                  window_s: float) -> dict:
    """The stream metrics of one replayed recording (see the module docstring)."""
    gt = [label_at(truth, s) or BACKGROUND for s in frame_stamps]
    pred = predicted_labels(frame_stamps, events)
    report: dict[str, Any] = dict(stream_metrics(pred, gt))
    delays = detection_delays(truth, events, window_s)
    found = [d for d in delays if d is not None]
    report.update(actions=len(truth), detected=len(found), missed=len(delays) - len(found),
                  median_delay_s=float(np.median(found)) if found else None, delays_s=delays,
                  events=sum(1 for e in events if e.state == ENDED), predicted=pred, truth=gt)
    return report


def pooled_report(reports: Sequence[dict]) -> dict | None:
    """Several streams as one: their frame sequences joined with a background frame between (so no
    segment spans two recordings), delays pooled."""
    reports = [r for r in reports if r]
    if not reports:
        return None
    pred, gt, delays = [], [], []
    for r in reports:
        pred += list(r["predicted"]) + [BACKGROUND]
        gt += list(r["truth"]) + [BACKGROUND]
        delays += r["delays_s"]
    found = [d for d in delays if d is not None]
    return {**stream_metrics(pred, gt), "streams": len(reports), "actions": len(delays), "detected": len(found),
            "missed": len(delays) - len(found), "median_delay_s": float(np.median(found)) if found else None,
            "events": sum(r["events"] for r in reports)}


def main(argv: Sequence[str] | None = None) -> int:
    """``vg4d stitch BAG... --out STREAM``: trimmed action bags -> one continuous stream bag + its labels."""
    p = argparse.ArgumentParser(prog="vg4d stitch", description=main.__doc__)
    p.add_argument("bags", nargs="+", type=Path, help="action bags (one labelled segment each)")
    p.add_argument("--out", required=True, type=Path, help="the stream bag to write (must not exist)")
    p.add_argument("--labels", default=None, help="labels file of the action bags (default: their label topic)")
    p.add_argument("--seed", type=int, default=0, help="order, gap lengths and idle kinds")
    p.add_argument("--gap", default="1,4", help="idle gap before each action: MIN,MAX seconds (uniform)")
    p.add_argument("--idle", choices=IDLE_KINDS, default="mixed", help="person still, absent, or either")
    p.add_argument("--still-noise", choices=STILL_NOISE, default="kinect",
                   help="a still person's repeated frame gets a depth sensor's noise anew each frame (kinect: "
                        "sigma 1.5e-3 z^2 m) or is copied exactly (none)")
    p.add_argument("--input", choices=("depth", "cloud"), default="depth")
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        lo, hi = (float(x) for x in args.gap.split(","))
        labels_path = stitch(args.bags, args.out, labels=load_labels(args.labels) if args.labels else None,
                             seed=args.seed, gap_s=(lo, hi), idle=args.idle, input_kind=args.input,
                             still_noise=args.still_noise)
    except (ValueError, OSError) as exc:
        print(f"vg4d stitch: error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(args.bags)} actions -> {args.out}; ground truth {labels_path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
