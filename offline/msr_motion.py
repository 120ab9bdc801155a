"""How much a person moves while acting and while standing still, on MSR-Action3D's real depth: the figures
``motion.min_motion`` is chosen from.

    python offline/msr_motion.py --bags runs/msr_bags/bags --checkpoint runs/msr_bags/lite/last.pt \
        [--subjects 1 2 3 4 5] [--out results/motion_msr.json]

(The bags, their labels.yaml and the checkpoint come from ``bash offline/msr_action3d_bags.sh``.) By default
the TRAINING subjects (1-5): the threshold is chosen on them, the stream figures are measured on 6-10.

For every bag of those subjects, its depth frames go through the recogniser's own frame converter (the
checkpoint's conversion: foreground, stored subset) and :class:`vg4d_ros.pipeline.motion.MotionMeter`
(``motion.move_m`` / ``motion.lag_s`` of config/recognize.yaml). Two kinds of frames:

* acting: the bag's own frames (MSR-Action3D videos are trimmed to the action);
* still: the bag's last frame repeated for 2 s, with Kinect v1 depth noise drawn anew for each frame
  (as ``vg4d stitch --still-noise kinect`` writes a still person), at the bag's frame rate.

Reported: percentiles of the per-frame motion of each kind, and of the window motion the rule reads
(the median over the newest ``motion.still_s``, at every frame at least that far into the sequence), and
for candidate thresholds the share of acting windows that would be called still (lost actions) and of
still windows that would not (pauses labelled as an action).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from vg4d_core.provenance import save_json
from vg4d_ros.bags.bagio import open_bag, read_messages
from vg4d_ros.bags.labels import load_labels
from vg4d_ros.bags.streams import _with_depth_noise, _with_stamp
from vg4d_ros.config import load_recognizer_config
from vg4d_ros.pipeline.decode import stamp_ns
from vg4d_ros.pipeline.model import load_model
from vg4d_ros.pipeline.motion import MotionMeter, MotionSettings, window_motion
from vg4d_ros.pipeline.recognizer import Recognizer
from vg4d_ros.typestore import ros_typestore

DEPTH, INFO = "/camera/depth/image_raw", "/camera/depth/camera_info"
THRESHOLDS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1)
PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)


def sequence_motion(rec: Recognizer, meter: MotionMeter, msgs) -> tuple[np.ndarray, np.ndarray]:
    """Depth messages in order -> ((F,) stamps, (F,) motion) through the recogniser's converter."""
    meter.clear()
    stamps, motion = [], []
    scale = np.float32(rec.settings.point_scale)
    for msg in msgs:
        frame = rec.converter.convert(stamp_ns(msg), msg, None, None)
        stamps.append(frame.stamp_ns)
        motion.append(meter.push(frame.stamp_ns, frame.points / scale))
    return np.asarray(stamps, np.int64), np.asarray(motion, np.float64)


def windows(stamps: np.ndarray, motion: np.ndarray, still_s: float) -> list[float]:
    """The window motion at every frame at least ``still_s`` into the sequence."""
    start = stamps[0] + int(still_s * 1e9)
    return [window_motion(stamps[:i + 1], motion[:i + 1], still_s) for i in range(len(stamps)) if stamps[i] >= start]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bags", type=Path, required=True, help="the MSR-Action3D bags (with labels.yaml)")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--subjects", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--still-s", type=float, default=2.0, help="seconds of still frames after each action")
    ap.add_argument("--seed", type=int, default=0, help="the still frames' noise")
    ap.add_argument("--out", default="results/motion_msr.json")
    args = ap.parse_args(argv)
    config = load_recognizer_config(Path(__file__).resolve().parents[1] / "config" / "recognize.yaml",
                                    [f"inference.checkpoint={args.checkpoint}", "inference.device=cpu",
                                     "motion.min_motion=0.05"])
    rec = Recognizer(config, load_model(config), lambda r: None)
    mc = config.motion
    meter = MotionMeter(MotionSettings(move_m=mc.move_m, lag_s=mc.lag_s))
    labels = load_labels(args.bags / "labels.yaml")
    ts = ros_typestore()
    rng = np.random.default_rng(args.seed)
    frames = {"acting": [], "still": []}
    wins = {"acting": [], "still": []}
    bags = sorted(p for p in args.bags.iterdir() if p.is_dir() and labels.for_bag(p) is not None
                  and int(labels.for_bag(p).subject or 0) in args.subjects)
    if not bags:
        print(f"no bags of subjects {args.subjects} under {args.bags}", file=sys.stderr)
        return 2
    for bag in bags:
        with open_bag(bag) as reader:
            msgs = []
            for m in read_messages(reader, [DEPTH, INFO], path=bag):
                if m.topic == INFO:
                    rec.on_camera_info(m.msg)
                else:
                    msgs.append(m.msg)
        if len(msgs) < 2:
            continue
        s, mo = sequence_motion(rec, meter, msgs)
        frames["acting"] += [float(v) for v in mo if np.isfinite(v)]
        wins["acting"] += [float(v) for v in windows(s, mo, mc.still_s) if np.isfinite(v)]
        step = int(np.median(np.diff(s)))
        still = [_with_stamp(ts, _with_depth_noise(msgs[-1], rng), int(s[-1]) + (k + 1) * step)
                 for k in range(int(args.still_s * 1e9 / step))]
        s2, mo2 = sequence_motion(rec, meter, still)
        frames["still"] += [float(v) for v in mo2 if np.isfinite(v)]
        wins["still"] += [float(v) for v in windows(s2, mo2, mc.still_s) if np.isfinite(v)]
    pct = {kind: {f"p{p}": float(np.percentile(v, p)) for p in PERCENTILES} for kind, v in frames.items()}
    wpct = {kind: {f"p{p}": float(np.percentile(v, p)) for p in PERCENTILES} for kind, v in wins.items()}
    table = [{"min_motion": t,
              "acting_windows_called_still_pct": 100.0 * float(np.mean(np.asarray(wins["acting"]) < t)),
              "still_windows_not_still_pct": 100.0 * float(np.mean(np.asarray(wins["still"]) >= t))}
             for t in THRESHOLDS]
    print(f"{len(bags)} bags of subjects {args.subjects}; frames: acting {len(frames['acting'])}, still "
          f"{len(frames['still'])}; windows ({mc.still_s:g} s median): acting {len(wins['acting'])}, still "
          f"{len(wins['still'])}")
    for kind in ("acting", "still"):
        print(f"{kind:7s} frame motion  " + " ".join(f"{k}={v:.3f}" for k, v in pct[kind].items()))
        print(f"{kind:7s} window motion " + " ".join(f"{k}={v:.3f}" for k, v in wpct[kind].items()))
    print("min_motion  acting windows called still %  still windows labelled %")
    for row in table:
        print(f"{row['min_motion']:10.3f}  {row['acting_windows_called_still_pct']:30.1f}  "
              f"{row['still_windows_not_still_pct']:23.1f}")
    out = save_json(args.out, {
        "subjects": args.subjects, "bags": len(bags), "move_m": mc.move_m, "lag_s": mc.lag_s, "still_s": mc.still_s,
        "still_noise": "kinect: sigma 1.5e-3 z^2 m per pixel, drawn anew per frame (vg4d stitch --still-noise)",
        "frames": {k: len(v) for k, v in frames.items()}, "windows": {k: len(v) for k, v in wins.items()},
        "frame_motion_percentiles": pct, "window_motion_percentiles": wpct, "thresholds": table,
        "checkpoint": str(args.checkpoint), "command": "python offline/msr_motion.py " + " ".join(argv or sys.argv[1:])})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
