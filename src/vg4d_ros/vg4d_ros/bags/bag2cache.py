"""``vg4d bag2cache``: labelled ROS 2 bags -> a training cache that ``vg4d train`` reads (``data.name: bag``).

Each ground-truth segment of each bag (a ``--labels`` file, :mod:`vg4d_ros.bags.labels`,
or the bag's ``std_msgs/String`` label topic) becomes one video: the depth
(or point-cloud) frames whose header stamp lies in the segment, converted by
the recogniser's own frame converter (:class:`vg4d_ros.pipeline.convert.FrameConverter`:
metres, input limits, foreground, at most ``--points`` points per frame drawn
from the frame's stamp, the 1 mm grid), so training sees exactly the points a
live node or ``vg4d replay`` gives the model for the same message. Written in
the NTU cache format (:mod:`vg4d_core.data.cache`: ``CACHE/videos/<bag>__<segment>.npz``,
``cache.json``, ``index.tsv``) plus ``CACHE/bag_index.json``: class names, the
:class:`~vg4d_core.data.input_transform.InputTransform` of the conversion (which
training copies into the checkpoint) and, per video, its label, bag, subject,
time range and first / last frame stamps.
:class:`vg4d_core.data.bag_dataset.BagDataset` reads it.

Conversion settings (topics, input kind, foreground, input limits) come from the
same ``recognize.yaml`` the recogniser reads (``--config`` and ``key=value``
overrides). Memory: one bag's converted frames at a time (at most ``--points``
per frame); each bag's videos are written before the next bag is read.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from vg4d_core.data.cache import CacheSettings, IndexEntry, write_index, write_settings, write_video
from vg4d_core.data.depth_sampling import quantise_points
from vg4d_core.data.input_transform import TRANSFORM_KEY, InputTransform
from vg4d_ros.bags.bagio import BagError, bag_topics, describe_topics, open_bag, read_messages
from vg4d_ros.bags.labels import GROUND_TRUTH_TOPIC, LabelsError, LabelsFile, bag_key, load_labels, segments_from_topic
from vg4d_ros.bags.replay import _split_args, check_topics
from vg4d_ros.topics import resolve_topic
from vg4d_ros.config import load_recognizer_config
from vg4d_ros.pipeline.convert import FrameConverter, FrameError, NoCameraInfo
from vg4d_ros.pipeline.decode import MessageError, stamp_ns

BAG_INDEX_FILE = "bag_index.json"


def conversion_transform(config, points_per_frame: int, seed: int):
    """The :class:`~vg4d_core.data.input_transform.InputTransform` bag2cache converts with: the recognize
    config's input, limits and foreground, metres, the cache's grid, ``points_per_frame`` stored per frame."""
    limits = config.input_limits
    return InputTransform(source="bag", input=config.input, max_depth_pixels=int(limits.max_depth_pixels),
                          max_cloud_points=int(limits.max_cloud_points), foreground=config.foreground.conversion(),
                          point_scale=1.0, stored_points_per_frame=int(points_per_frame), subset_seed=int(seed),
                          quantum=CacheSettings.quantum)


def read_bag_frames(path: Path, config, transform, label_topic: str = GROUND_TRUTH_TOPIC):
    """All frames of one bag through the frame converter -> (stamps (F,) int64 ns, points list of (P_f, 3)
    float32 (the stored subset, metres on the grid), foreground points per frame before that subset (F,)
    int64, label-topic messages, bag start ns, problems Counter).
    Frames before the first camera info are skipped and counted."""
    # relative topic names resolve as replay resolves them (the bag's root namespace)
    roles = {r: resolve_topic(t) for r, t in config.input_topics().items() if r in (config.input, "camera_info")}
    converter = FrameConverter(transform, depth_unit_m=config.depth_unit_m)
    stamps: list[int] = []
    frames: list[np.ndarray] = []
    found: list[int] = []
    gt: list[tuple[int, str]] = []
    problems: Counter = Counter()
    with open_bag(path) as reader:
        available = bag_topics(reader)
        roles = check_topics(path, available, roles, describe_topics(reader))
        topics = list(roles.values()) + ([label_topic] if available.get(label_topic) == "std_msgs/msg/String" else [])
        start = int(reader.start_time)
        for m in read_messages(reader, topics, path=path):
            if m.msg is None:
                problems["undecodable_messages"] += 1
                continue
            if m.topic == label_topic:
                gt.append((m.log_time_ns, str(m.msg.data)))
                continue
            try:
                if m.topic == roles.get("camera_info"):
                    converter.set_camera_info(m.msg)
                    continue
                stamp = stamp_ns(m.msg)
                if stamps and stamp <= stamps[-1]:
                    problems["stamps_backwards"] += 1  # a training video needs increasing time: dropped
                    continue
                frame = converter.convert(stamp, m.msg)
            except NoCameraInfo:
                problems["waiting_for_camera_info"] += 1
                continue
            except (FrameError, MessageError):
                problems["malformed_messages"] += 1
                continue
            stamps.append(stamp)
            frames.append(frame.points)
            found.append(frame.foreground_points)
    return np.array(stamps, np.int64), frames, np.array(found, np.int64), gt, start, problems


STATE_FILE = "bag2cache_state.json"  # the bags done so far: a killed run resumes after them


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a kill leaves the old file or the new one


def _bag_videos(bag: Path, config, transform, settings, out: Path, *, labels, label_topic, wanted, min_frames,
                problems: Counter) -> list[dict]:
    """Convert one bag and write its videos; returns their index entries."""
    stamps, frames, found, gt, start, bag_problems = read_bag_frames(bag, config, transform, label_topic)
    problems.update(bag_problems)
    entry = labels.for_bag(bag) if labels is not None else None
    subject = entry.subject if entry is not None else ""
    segments = entry.resolve(start) if entry is not None else segments_from_topic(gt)
    if not segments:
        raise BagError(f"bag {bag} has no ground truth: no entry {bag_key(bag)!r} in the labels file and no "
                       f"labels on {label_topic}")
    unknown = sorted({seg.label for seg in segments} - set(wanted)) if wanted else []
    if unknown:
        raise ValueError(f"labels {unknown} of bag {bag} are not among the class names {wanted}")
    videos = []
    for i, seg in enumerate(segments):
        sel = np.flatnonzero((stamps >= seg.start_ns) & (stamps <= seg.end_ns))
        if sel.size < min_frames:
            problems["segments_too_short"] += 1
            continue
        name = f"{bag_key(bag)}__{i:03d}"
        p = settings.points_per_frame
        pts = np.zeros((sel.size, p, 3), np.int16)
        counts = np.zeros(sel.size, np.int32)
        for j, f in enumerate(sel):
            fp = frames[f]  # already the stored subset on the grid: quantising again is exact
            pts[j, :fp.shape[0]] = quantise_points(fp, settings.quantum)
            counts[j] = fp.shape[0]
        if not counts.any():
            problems["empty_videos"] += 1
            continue
        first, last = int(stamps[sel[0]]), int(stamps[sel[-1]])
        meta = {"name": name, "num_frames": int(sel.size), "num_rgb_frames": 0, "bag": str(bag),
                "start_ns": seg.start_ns, "end_ns": seg.end_ns, "label": seg.label, "subject": subject,
                "first_stamp_ns": first, "last_stamp_ns": last,
                **{k: getattr(settings, k) for k in ("convention", "points_per_frame", "quantum", "rgb", "seed")}}
        write_video(out, name, {"points": pts, "counts": counts, "valid_pixels": found[sel].astype(np.int32),
                               "stamps_ns": stamps[sel]}, meta)
        videos.append({"name": name, "label": seg.label, "bag": bag_key(bag), "subject": subject,
                       "start_ns": seg.start_ns, "end_ns": seg.end_ns, "first_stamp_ns": first,
                       "last_stamp_ns": last, "frames": int(sel.size)})
    return videos


def convert_bags(bags: Sequence[str | Path], out: str | Path, config, *, labels: LabelsFile | None = None,
                 label_topic: str = GROUND_TRUTH_TOPIC, points_per_frame: int = 2048, seed: int = 0,
                 class_names: Sequence[str] | None = None, min_frames: int = 1, progress: bool = False) -> dict:
    """Cut labelled bags into cached videos; returns the index written to ``OUT/bag_index.json``.

    Bag after bag: one bag's converted frames are in memory at a time, its videos are written, then
    ``OUT/bag2cache_state.json`` records it (atomically), so a killed run given the same bags and settings
    resumes after the last finished bag. A folder made with other settings is refused, not mixed.
    Raises BagError / LabelsError for an unusable bag or labels file, ValueError when no video results.
    """
    out = Path(out)
    transform = conversion_transform(config, points_per_frame, seed)
    settings = CacheSettings(convention="kinect_v2", points_per_frame=int(points_per_frame), rgb=False, seed=seed)
    wanted = list(class_names) if class_names else None
    state_path = out / STATE_FILE
    recipe = {TRANSFORM_KEY: transform.to_dict(), "label_topic": label_topic, "min_frames": int(min_frames),
              "labels": None if labels is None else str(labels.path), "class_names": wanted}
    state = {"recipe": recipe, "done": {}, "problems": {}}
    if state_path.is_file():
        previous = json.loads(state_path.read_text(encoding="utf-8"))
        if previous.get("recipe") != json.loads(json.dumps(recipe)):
            raise ValueError(f"{out} holds a bag cache made with other settings ({state_path}); remove it or "
                             "choose another --out")
        state = previous
    elif (out / BAG_INDEX_FILE).is_file() or any((out / "videos").glob("*.npz")):
        raise ValueError(f"{out} holds a cache without {STATE_FILE} (another tool, or an older bag2cache); "
                         "remove it or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_settings(out, settings)
    problems = Counter(state["problems"])
    todo = [Path(b) for b in bags if bag_key(b) not in state["done"]]
    for bag in tqdm(todo, desc="bag2cache", unit="bag", disable=not progress, dynamic_ncols=True):
        videos = _bag_videos(bag, config, transform, settings, out, labels=labels, label_topic=label_topic,
                             wanted=wanted, min_frames=min_frames, problems=problems)
        state["done"][bag_key(bag)] = videos
        state["problems"] = dict(problems)
        _write_json(state_path, state)
    keys = [bag_key(b) for b in bags]
    videos = [v for k in keys for v in state["done"].get(k, [])]
    if not videos:
        counts = state.get("problems", {})
        why = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if v) or "no labelled segment"
        hint = ""
        if counts.get("empty_videos"):
            hint = (" - the frames of those videos held no foreground point: check foreground.min_depth / "
                    "max_depth, and depth_unit_m if the driver's depth is not 16UC1 millimetres / 32FC1 metres")
        raise ValueError(f"no labelled video in the given bags ({why}){hint}")
    names = wanted or sorted({v["label"] for v in videos})
    write_index(out, [IndexEntry(v["name"], int(v["frames"]), False) for v in videos])
    index = {"class_names": names, TRANSFORM_KEY: transform.to_dict(), "videos": videos, "problems": dict(problems)}
    _write_json(out / BAG_INDEX_FILE, index)
    return index


def class_list(value: str) -> list[str] | None:
    """``--classes``: a text file (one name per line, blank lines and ``#`` comments skipped) when ``value``
    names one, else comma-separated names; None when empty."""
    path = Path(value) if value else None
    if path is not None and path.is_file():
        names = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        names = [c.strip() for c in value.split(",")]
    names = [n for n in names if n]
    if len(set(names)) != len(names):
        raise ValueError(f"--classes names a class twice: {sorted({n for n in names if names.count(n) > 1})}")
    return names or None


def main(argv: Sequence[str] | None = None) -> int:
    """``vg4d bag2cache BAG... --out CACHE [--labels FILE]``: labelled bags -> a training cache."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="vg4d bag2cache", description=main.__doc__)
    p.add_argument("inputs", nargs="+", metavar="BAG_OR_KEY=VALUE", help="bags, and recognize.yaml overrides")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--config", default=None, help="recognize.yaml (topics, input, foreground); default: built-in")
    p.add_argument("--labels", default=None, help="labels file (YAML or CSV); default: the label topic")
    p.add_argument("--label-topic", default=GROUND_TRUTH_TOPIC)
    p.add_argument("--points", type=int, default=2048, help="points stored per frame")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--classes", default="", help="class names in label order: comma-separated, or a text file with one "
                                                 "name per line (default: the labels, sorted)")
    args = p.parse_intermixed_args(argv)
    bags, overrides = _split_args(args.inputs)
    try:
        config = load_recognizer_config(args.config, overrides)
        index = convert_bags(bags, args.out, config, labels=load_labels(args.labels) if args.labels else None,
                             label_topic=args.label_topic, points_per_frame=args.points, seed=args.seed,
                             class_names=class_list(args.classes), progress=not args.no_progress)
    except (BagError, LabelsError, ValueError) as exc:
        print(f"vg4d bag2cache: error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(index['videos'])} videos of {len(index['class_names'])} classes from {len(bags)} bag(s) -> "
          f"{args.out}" + (f"; problems: {index['problems']}" if index["problems"] else ""))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
