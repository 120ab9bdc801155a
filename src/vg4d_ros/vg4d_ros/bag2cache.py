"""``vg4d bag2cache``: labelled ROS 2 bags -> a training cache that ``vg4d train`` reads (``data.name: bag``).

Each ground-truth segment of each bag (a ``--labels`` file, :mod:`vg4d_ros.labels`,
or the bag's ``std_msgs/String`` label topic) becomes one video: the depth
(or point-cloud) frames whose header stamp lies in the segment, converted by
the recogniser's own functions - :func:`vg4d_ros.convert.depth_image_to_points`
with the bag's ``CameraInfo``, or :func:`~vg4d_ros.convert.pointcloud2_to_xyz`,
then the configured foreground selection (:mod:`vg4d_ros.foreground`) - so
training sees the points a live node keeps. Per frame at most ``--points``
of them are stored, a uniform random subset in raster order drawn as the NTU
cache draws it, quantised to 1 mm (:mod:`vg4d_core.data.cache`, the NTU cache
format: ``CACHE/videos/<bag>__<segment>.npz``, ``cache.json``, ``index.tsv``)
plus ``CACHE/bag_index.json``: class names and, per video, its label, bag,
subject and time range. :class:`vg4d_core.data.bag_dataset.BagDataset` reads it.

Conversion settings (topics, input kind, foreground) come from the same
``recognize.yaml`` the recogniser reads (``--config`` and ``key=value``
overrides), so training and deployment agree by construction.
"""
from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

from vg4d_ros.bagio import BagError, bag_topics, describe_topics, open_bag, read_messages
from vg4d_ros.labels import LabelsFile, bag_key, load_labels, segments_from_topic

BAG_INDEX_FILE = "bag_index.json"
DEFAULT_LABEL_TOPIC = "/vg4d/ground_truth"


def _frame_rng(seed: int, name: str) -> np.random.Generator:
    # as vg4d_core.data.preprocess: crc32 of the video name, stable across processes
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]))


def read_bag_frames(path: Path, config, label_topic: str = DEFAULT_LABEL_TOPIC):
    """All frames of one bag -> (stamps (F,) int64 ns, points list of (P_f, 3) float32, label-topic messages,
    bag start ns, problems Counter). Frames before the first camera info are skipped and counted."""
    from collections import Counter

    from vg4d_ros.convert import (MessageError, camera_intrinsics, depth_image_to_points, pointcloud2_to_xyz,
                                  stamp_ns)
    from vg4d_ros.foreground import foreground_keep
    from vg4d_ros.replay import check_topics, resolve_topic

    # relative topic names resolve as replay resolves them (the bag's root namespace)
    roles = {r: resolve_topic(t) for r, t in config.input_topics().items() if r in (config.input, "camera_info")}
    fg = config.foreground.to_foreground(False)
    stamps: list[int] = []
    frames: list[np.ndarray] = []
    gt: list[tuple[int, str]] = []
    problems: Counter = Counter()
    with open_bag(path) as reader:
        available = bag_topics(reader)
        check_topics(path, available, roles, describe_topics(reader))
        topics = list(roles.values()) + ([label_topic] if available.get(label_topic) == "std_msgs/msg/String" else [])
        start = int(reader.start_time)
        intr = None
        for m in read_messages(reader, topics, path=path):
            if m.msg is None:
                problems["undecodable_messages"] += 1
                continue
            if m.topic == label_topic:
                gt.append((m.log_time_ns, str(m.msg.data)))
                continue
            try:
                if m.topic == roles.get("camera_info"):
                    intr = camera_intrinsics(m.msg)
                    continue
                if config.input == "depth":
                    if intr is None:
                        problems["waiting_for_camera_info"] += 1
                        continue
                    points, pixels = depth_image_to_points(m.msg, intr, return_pixels=True)
                else:
                    points, pixels = pointcloud2_to_xyz(m.msg, allow_empty=True), None
                stamp = stamp_ns(m.msg)
            except MessageError:
                problems["malformed_messages"] += 1
                continue
            if stamps and stamp <= stamps[-1]:
                problems["stamps_backwards"] += 1  # a training video needs increasing time: dropped
                continue
            stamps.append(stamp)
            frames.append(points[foreground_keep(points, fg, pixels=pixels)])
    return np.array(stamps, np.int64), frames, gt, start, problems


def convert_bags(bags: Sequence[str | Path], out: str | Path, config, *, labels: LabelsFile | None = None,
                 label_topic: str = DEFAULT_LABEL_TOPIC, points_per_frame: int = 2048, seed: int = 0,
                 class_names: Sequence[str] | None = None, min_frames: int = 1) -> dict:
    """Cut labelled bags into cached videos; returns the index written to ``OUT/bag_index.json``.

    Raises BagError / LabelsError for an unusable bag or labels file, ValueError when no video results.
    """
    from collections import Counter

    from vg4d_core.data.cache import CacheSettings, IndexEntry, write_index, write_settings, write_video
    from vg4d_core.data.depth_sampling import quantise_points

    out = Path(out)
    settings = CacheSettings(convention="kinect_v2", points_per_frame=int(points_per_frame), rgb=False, seed=seed)
    videos, problems = [], Counter()
    pending = []
    for bag in bags:
        bag = Path(bag)
        stamps, frames, gt, start, bag_problems = read_bag_frames(bag, config, label_topic)
        problems.update(bag_problems)
        entry = labels.for_bag(bag) if labels is not None else None
        subject = entry.subject if entry is not None else ""
        segments = entry.resolve(start) if entry is not None else segments_from_topic(gt)
        if not segments:
            raise BagError(f"bag {bag} has no ground truth: no entry {bag_key(bag)!r} in the labels file and no "
                           f"labels on {label_topic}")
        for i, seg in enumerate(segments):
            sel = np.flatnonzero((stamps >= seg.start_ns) & (stamps <= seg.end_ns))
            if sel.size < min_frames:
                problems["segments_too_short"] += 1
                continue
            pending.append((bag, i, seg, subject, sel, frames))
    names = list(class_names) if class_names else sorted({p[2].label for p in pending})
    unknown = sorted({p[2].label for p in pending} - set(names))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the class names {names}")
    if not pending:
        raise ValueError("no labelled video in the given bags")
    write_settings(out, settings)
    entries = []
    for bag, i, seg, subject, sel, frames in pending:
        name = f"{bag_key(bag)}__{i:03d}"
        rng = _frame_rng(seed, name)
        p = settings.points_per_frame
        pts = np.zeros((sel.size, p, 3), np.int16)
        counts = np.zeros(sel.size, np.int32)
        valid = np.zeros(sel.size, np.int32)
        for j, f in enumerate(sel):
            fp = frames[f]
            valid[j] = fp.shape[0]
            if fp.shape[0] > p:  # the NTU cache's rule: a sorted uniform subset, raster order kept
                fp = fp[np.sort(rng.choice(fp.shape[0], size=p, replace=False))]
            pts[j, :fp.shape[0]] = quantise_points(fp, settings.quantum)
            counts[j] = fp.shape[0]
        if not counts.any():
            problems["empty_videos"] += 1
            continue
        meta = {"name": name, "num_frames": int(sel.size), "num_rgb_frames": 0, "bag": str(bag),
                "start_ns": seg.start_ns, "end_ns": seg.end_ns, "label": seg.label, "subject": subject,
                **{k: getattr(settings, k) for k in ("convention", "points_per_frame", "quantum", "rgb", "seed")}}
        write_video(out, name, {"points": pts, "counts": counts, "valid_pixels": valid}, meta)
        entries.append(IndexEntry(name, int(sel.size), False))
        videos.append({"name": name, "label": seg.label, "bag": bag_key(bag), "subject": subject,
                       "start_ns": seg.start_ns, "end_ns": seg.end_ns, "frames": int(sel.size)})
    write_index(out, entries)
    index = {"class_names": names, "videos": videos, "problems": dict(problems)}
    (out / BAG_INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return index


def main(argv: Sequence[str] | None = None) -> int:
    """``vg4d bag2cache BAG... --out CACHE [--labels FILE]``: labelled bags -> a training cache."""
    from vg4d_ros.config import load_recognizer_config
    from vg4d_ros.labels import LabelsError
    from vg4d_ros.replay import _split_args

    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="vg4d bag2cache", description=main.__doc__)
    p.add_argument("inputs", nargs="+", metavar="BAG_OR_KEY=VALUE", help="bags, and recognize.yaml overrides")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--config", default=None, help="recognize.yaml (topics, input, foreground); default: built-in")
    p.add_argument("--labels", default=None, help="labels file (YAML or CSV); default: the label topic")
    p.add_argument("--label-topic", default=DEFAULT_LABEL_TOPIC)
    p.add_argument("--points", type=int, default=2048, help="points stored per frame")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classes", default="", help="comma-separated class names (default: the labels, sorted)")
    args = p.parse_intermixed_args(argv)
    bags, overrides = _split_args(args.inputs)
    try:
        config = load_recognizer_config(args.config, overrides)
        index = convert_bags(bags, args.out, config, labels=load_labels(args.labels) if args.labels else None,
                             label_topic=args.label_topic, points_per_frame=args.points, seed=args.seed,
                             class_names=[c.strip() for c in args.classes.split(",") if c.strip()] or None)
    except (BagError, LabelsError, ValueError) as exc:
        print(f"vg4d bag2cache: error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(index['videos'])} videos of {len(index['class_names'])} classes from {len(bags)} bag(s) -> "
          f"{args.out}" + (f"; problems: {index['problems']}" if index["problems"] else ""))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
