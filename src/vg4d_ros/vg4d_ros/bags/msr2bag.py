"""``vg4d msr2bag``: MSR-Action3D depth videos (``aXX_sYY_eZZ_sdepth.mat``) -> ROS 2 bags, as a driver of a
Kinect-class structured-light camera would publish them, plus a labels file.

Per video, one bag ``OUT/aXX_sYY_eZZ/`` holding:

* ``/camera/depth/image_raw``: ``sensor_msgs/Image`` ``16UC1``, millimetres, 0 = no data (the dataset's
  background is already zeroed, so the frames hold the person only);
* ``/camera/depth/camera_info``: ``sensor_msgs/CameraInfo`` of a 320 x 240 pinhole camera with
  fx = fy = 280 px and the principal point at the image centre (160, 120): the focal length and centre
  the 4D point-cloud literature back-projects MSR-Action3D with (``../shared/data/README.md``);
* ``/vg4d/ground_truth``: ``std_msgs/String``, the class name, at the first frame;

stamped at 15 Hz (MSR-Action3D's capture rate), and ``OUT/labels.yaml``: per bag its subject (the
``sYY`` number, a plain YAML integer) and one segment covering the video.

Depth scale: the dataset's raw values are not millimetres; they are linear depth in steps of about
5 mm (estimated on this copy: standing subjects 1.5-1.8 m tall; see :mod:`vg4d_core.data.msr_action3d`).
Raw values are written as ``raw x 5`` mm, so a point in metres is exactly 1.5 x the literature's
coordinates (which divide raw by 300), and the literature's radius 0.5 is 0.75 m.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from vg4d_core.data.depth import MSR_ACTION3D_DEPTH
from vg4d_core.data.msr_action3d import CLASS_NAMES, load_depth_video, parse_name
from vg4d_ros.bags.bagio import BagWriter
from vg4d_ros.bags.labels import GROUND_TRUTH_TOPIC
from vg4d_ros.bags.ntu2bag import DEFAULT_START_S, INFO_LEAD_NS, camera_info_msg, depth_image_msg, frame_stamp_ns

MM_PER_RAW_UNIT = 5  # the dataset's raw depth step, estimated (module docstring)
RATE_HZ = 15.0  # MSR-Action3D's capture rate
INTRINSICS = MSR_ACTION3D_DEPTH  # the literature's back-projection camera
TOPICS = {"depth": "/camera/depth/image_raw", "camera_info": "/camera/depth/camera_info",
          "label": GROUND_TRUTH_TOPIC}
LABELS_FILE = "labels.yaml"


def write_msr_bag(mat: str | Path, out: str | Path, *, storage: str = "mcap",
                  start_ns: int = DEFAULT_START_S * 1_000_000_000) -> dict:
    """One ``.mat`` video -> a bag at ``out`` (must not exist); returns ``{"name", "label", "subject",
    "frames", "start_ns", "end_ns"}``. Raises ValueError naming the file for an unreadable video."""
    mat = Path(mat)
    name = parse_name(mat.name)
    depth = load_depth_video(mat)  # (T, H, W) uint16 raw units
    if depth.shape[1:] != (INTRINSICS.height, INTRINSICS.width):
        raise ValueError(f"{mat}: frames are {depth.shape[2]}x{depth.shape[1]}, expected 320x240")
    if int(depth.max(initial=0)) * MM_PER_RAW_UNIT > np.iinfo(np.uint16).max:
        raise ValueError(f"{mat}: raw depth {int(depth.max())} x {MM_PER_RAW_UNIT} mm overflows 16UC1")
    label = CLASS_NAMES[name.label]
    stamps = [frame_stamp_ns(start_ns, f, RATE_HZ) for f in range(depth.shape[0])]
    with BagWriter(Path(out), storage) as writer:
        ts = writer.typestore
        for f, stamp in enumerate(stamps):
            if f == 0:  # ground truth and the camera first, as a recorder started before the action sees them
                writer.write(TOPICS["label"], "std_msgs/msg/String", stamp - 2 * INFO_LEAD_NS,
                             ts.types["std_msgs/msg/String"](data=label))
            writer.write(TOPICS["camera_info"], "sensor_msgs/msg/CameraInfo", stamp - INFO_LEAD_NS,
                         camera_info_msg(ts, INTRINSICS, stamp))
            mm = depth[f].astype(np.uint16) * np.uint16(MM_PER_RAW_UNIT)
            writer.write(TOPICS["depth"], "sensor_msgs/msg/Image", stamp, depth_image_msg(ts, mm, stamp))
    return {"name": name.video_id, "label": label, "subject": name.subject, "frames": int(depth.shape[0]),
            "start_ns": stamps[0], "end_ns": stamps[-1]}


def main(argv: Sequence[str] | None = None) -> int:
    """``vg4d msr2bag --root MSR_DIR --out BAGS``: one bag per MSR-Action3D video, plus BAGS/labels.yaml."""
    p = argparse.ArgumentParser(prog="vg4d msr2bag", description=main.__doc__)
    p.add_argument("--root", required=True, type=Path, help="folder of aXX_sYY_eZZ_sdepth.mat files")
    p.add_argument("--out", required=True, type=Path, help="folder for the bags (OUT/aXX_sYY_eZZ/)")
    p.add_argument("--storage", choices=("sqlite3", "mcap"), default="mcap")
    p.add_argument("--start-s", type=int, default=DEFAULT_START_S, help="stamp of each video's first frame, s")
    p.add_argument("--max-videos", type=int, default=0, help="only the first N videos (sorted), 0 = all")
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    mats = sorted(args.root.glob("a*_s*_e*_sdepth.mat"))
    if args.max_videos > 0:
        mats = mats[: args.max_videos]
    if not mats:
        print(f"vg4d msr2bag: error: no aXX_sYY_eZZ_sdepth.mat under {args.root}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    labels_path = args.out / LABELS_FILE
    labels = yaml.safe_load(labels_path.read_text()) if labels_path.is_file() else None
    bags = dict((labels or {}).get("bags") or {})
    failed = 0
    for mat in mats:
        bag = args.out / parse_name(mat.name).video_id
        if bag.exists() and bag.name in bags:
            continue  # written by an earlier (killed) run: resume
        if bag.exists():  # a bag cut short by a kill before its labels entry: write it again
            shutil.rmtree(bag)
        try:
            rec = write_msr_bag(mat, bag, storage=args.storage, start_ns=args.start_s * 1_000_000_000)
        except (ValueError, OSError) as exc:
            failed += 1
            print(f"FAILED {mat.name}: {exc}", file=sys.stderr)
            continue
        # one segment over the whole video, on the stamp clock (exact)
        bags[bag.name] = {"subject": rec["subject"], "clock": "stamp",
                          "segments": [[rec["start_ns"], rec["end_ns"], rec["label"]]]}
        tmp = labels_path.with_suffix(".yaml.tmp")
        tmp.write_text(yaml.safe_dump({"bags": bags}, sort_keys=True), encoding="utf-8")
        tmp.replace(labels_path)  # atomic: a kill never leaves half a labels file
    print(f"{len(bags)} bag(s) and {labels_path} under {args.out}" + (f"; {failed} FAILED" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
