"""``vg4d ntu2bag``: NTU RGB+D videos (raw layout) -> ROS 2 bags, as a Kinect v2 driver publishes them.

One bag per video, ``OUT/<video name>/`` (sqlite3 ``.db3`` or MCAP), holding:

* ``sensor_msgs/Image`` depth, ``16UC1`` millimetres (0 = no data), 512 x 424,
  one per ``MDepth-*.png`` frame, on the recogniser's depth topic;
* ``sensor_msgs/CameraInfo`` with the Kinect v2 depth intrinsics
  (:data:`vg4d_core.data.depth.KINECT_V2_DEPTH`: the camera NTU was recorded
  with and the one ``vg4d preprocess ntu`` back-projects with), one per depth
  frame, same stamp;
* ``sensor_msgs/Image`` colour (``bgr8`` by default, as most drivers; or
  ``rgb8``) at the AVI's own resolution (1920 x 1080 for real NTU), one per
  RGB frame; skipped with a note when the video has no ``_rgb.avi``;
* ``std_msgs/String`` ground truth: the class name, one per depth frame.

Stamps: 30 Hz from ``--start-s`` (header stamp = recording time, except
that each camera info is recorded 1 us before its image), depth
frame ``f`` at ``start + round(f * 1e9 / 30)`` ns and RGB frame ``j`` at
``start + round(j * 1e9 / 30)`` ns (both streams of NTU are 30 fps).

NTU's depth is MASKED to the person (``nturgb+d_depth_masked``: every
background pixel is 0), so these bags hold person-only depth - not what a
live sensor sees (floor, walls, furniture); the recogniser's foreground
selection has little to do on them. ``vg4d synth --room`` writes unmasked
videos in the same layout for the live-like case.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from vg4d_core.data import ntu
from vg4d_core.data.depth import KINECT_V2_DEPTH
from vg4d_core.data.rgb import open_video
from vg4d_core.data.synthetic import CLASS_NAMES
from vg4d_ros.bags.bagio import BagWriter, header
from vg4d_ros.bags.labels import GROUND_TRUTH_TOPIC

DEFAULT_TOPICS = {
    "depth": "/camera/depth/image_raw",
    "camera_info": "/camera/depth/camera_info",
    "rgb": "/camera/color/image_raw",
    "label": GROUND_TRUTH_TOPIC,
}
DEPTH_FRAME_ID = "camera_depth_optical_frame"
COLOR_FRAME_ID = "camera_color_optical_frame"
RATE_HZ = 30.0
DEFAULT_START_S = 1_700_000_000  # a plausible wall-clock epoch, seconds
INFO_LEAD_NS = 1000  # camera info recorded this long before its depth image


def frame_stamp_ns(start_ns: int, index: int, rate_hz: float = RATE_HZ) -> int:
    """Stamp of frame ``index`` of a stream at ``rate_hz`` starting at ``start_ns``."""
    return int(start_ns + round(index * 1e9 / rate_hz))


def depth_image_msg(ts, depth: np.ndarray, stamp_ns: int, frame_id: str = DEPTH_FRAME_ID, encoding: str = "16UC1"):
    """(H, W) uint16 mm -> ``sensor_msgs/Image`` 16UC1 (little-endian, unpadded rows); ``encoding`` names
    another 16-bit one-channel layout of the same bytes (``mono16``: an instance-id mask)."""
    depth = np.ascontiguousarray(depth, dtype="<u2")
    h, w = depth.shape
    return ts.types["sensor_msgs/msg/Image"](header=header(ts, stamp_ns, frame_id), height=h, width=w,
                                             encoding=encoding, is_bigendian=0, step=w * 2,
                                             data=depth.view(np.uint8).reshape(-1))


def color_image_msg(ts, frame_bgr: np.ndarray, stamp_ns: int, encoding: str = "bgr8",
                    frame_id: str = COLOR_FRAME_ID):
    """(H, W, 3) uint8 BGR (OpenCV's order) -> ``sensor_msgs/Image`` bgr8 or rgb8."""
    if encoding not in ("bgr8", "rgb8"):
        raise ValueError(f"colour encoding must be bgr8 or rgb8, got {encoding!r}")
    img = frame_bgr if encoding == "bgr8" else frame_bgr[:, :, ::-1]
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape[:2]
    return ts.types["sensor_msgs/msg/Image"](header=header(ts, stamp_ns, frame_id), height=h, width=w,
                                             encoding=encoding, is_bigendian=0, step=w * 3, data=img.reshape(-1))


def camera_info_msg(ts, intrinsics, stamp_ns: int, frame_id: str = DEPTH_FRAME_ID):
    """``sensor_msgs/CameraInfo`` of pinhole ``intrinsics`` (no distortion: NTU's depth is rectified)."""
    T = ts.types
    fx, fy, cx, cy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    k = np.array([fx, 0, cx, 0, fy, cy, 0, 0, 1], np.float64)
    p = np.array([fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0], np.float64)
    return T["sensor_msgs/msg/CameraInfo"](
        header=header(ts, stamp_ns, frame_id), height=int(intrinsics.height), width=int(intrinsics.width),
        distortion_model="plumb_bob", d=np.zeros(5, np.float64), k=k, r=np.eye(3).reshape(-1), p=p,
        binning_x=0, binning_y=0,
        roi=T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))


def write_video_bag(root: str | Path, name: str, out: str | Path, *, storage: str = "mcap",
                    topics: dict[str, str] | None = None, rgb: bool = True, rgb_encoding: str = "bgr8",
                    start_ns: int = DEFAULT_START_S * 1_000_000_000, class_names: Sequence[str] | None = None
                    ) -> dict:
    """Write one NTU video as a bag at ``out`` (must not exist); returns a record of what was written.

    Record: ``{"name", "bag", "label", "depth_frames", "rgb_frames", "notes"}``.
    Raises ValueError / FileNotFoundError naming the file for an unreadable video.
    """
    topics = {**DEFAULT_TOPICS, **(topics or {})}
    parsed = ntu.parse_name(name)
    names = list(class_names or ntu.CLASS_NAMES)
    label = names[parsed.label]
    frames = ntu.list_depth_frames(ntu.depth_video_dir(root, name))
    if not frames:
        raise ValueError(f"{ntu.depth_video_dir(root, name)}: no MDepth-*.png frames")
    notes: list[str] = []
    rgb_path = ntu.rgb_video_path(root, name)
    cap = None
    if rgb:
        if rgb_path.is_file():
            cap = open_video(rgb_path)
        else:
            notes.append(f"no RGB video {rgb_path}: depth only")
    out = Path(out)
    n_rgb = 0
    with BagWriter(out, storage) as writer:
        ts = writer.typestore
        String = ts.types["std_msgs/msg/String"]
        rgb_ok = cap is not None
        for f, path in enumerate(frames):
            stamp = frame_stamp_ns(start_ns, f)
            depth = ntu.read_depth_png(path, expected_size=(KINECT_V2_DEPTH.width, KINECT_V2_DEPTH.height))
            # colour first at equal stamps: a synchroniser keyed on depth then finds its partner waiting
            while rgb_ok and frame_stamp_ns(start_ns, n_rgb) <= stamp:
                ok, frame = cap.read()
                if not ok:
                    rgb_ok = False
                    break
                writer.write(topics["rgb"], "sensor_msgs/msg/Image", frame_stamp_ns(start_ns, n_rgb),
                             color_image_msg(ts, frame, frame_stamp_ns(start_ns, n_rgb), rgb_encoding))
                n_rgb += 1
            # recorded 1 us before its image (drivers publish the info first): a reader never meets a depth
            # frame before the camera info it needs, whatever order it gives equal recording times
            writer.write(topics["camera_info"], "sensor_msgs/msg/CameraInfo", stamp - INFO_LEAD_NS,
                         camera_info_msg(ts, KINECT_V2_DEPTH, stamp))
            writer.write(topics["depth"], "sensor_msgs/msg/Image", stamp, depth_image_msg(ts, depth, stamp))
            writer.write(topics["label"], "std_msgs/msg/String", stamp, String(data=label))
        while rgb_ok:  # RGB frames past the last depth frame (NTU's streams differ by a few frames)
            ok, frame = cap.read()
            if not ok:
                break
            stamp = frame_stamp_ns(start_ns, n_rgb)
            writer.write(topics["rgb"], "sensor_msgs/msg/Image", stamp, color_image_msg(ts, frame, stamp, rgb_encoding))
            n_rgb += 1
    if cap is not None:
        cap.release()
        if n_rgb == 0:
            notes.append(f"{rgb_path}: no decodable frame")
    return {"name": name, "bag": str(out), "label": label, "depth_frames": len(frames), "rgb_frames": n_rgb,
            "notes": notes}


def _class_names(spec: str) -> list[str]:
    """``--class-names``: "ntu", "synthetic" or a file of names (one per line, blank lines ignored)."""
    if spec == "ntu":
        return list(ntu.CLASS_NAMES)
    if spec == "synthetic":
        return list(CLASS_NAMES)
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"--class-names {spec!r}: not 'ntu', 'synthetic' or an existing file")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise ValueError(f"--class-names {spec}: the file lists no names")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """``vg4d ntu2bag``: write NTU RGB+D videos (raw layout) as ROS 2 bags, one per video."""
    p = argparse.ArgumentParser(prog="vg4d ntu2bag", description=main.__doc__,
                                epilog="NTU's depth is masked to the person; so is the depth in these bags.")
    p.add_argument("--root", required=True, type=Path, help="raw NTU root (nturgb+d_depth_masked/, nturgb+d_rgb/)")
    p.add_argument("--out", required=True, type=Path, help="folder for the bags (OUT/<video name>/)")
    p.add_argument("--samples", nargs="*", default=None, help="video names (default: every video under --root)")
    p.add_argument("--storage", choices=("sqlite3", "mcap"), default="mcap")
    p.add_argument("--no-rgb", action="store_true", help="depth, camera info and labels only")
    p.add_argument("--rgb-encoding", choices=("bgr8", "rgb8"), default="bgr8")
    p.add_argument("--start-s", type=int, default=DEFAULT_START_S, help="stamp of the first frame, seconds")
    p.add_argument("--class-names", default="ntu",
                   help="names of the action codes A001...: 'ntu' (NTU RGB+D 120's, default), 'synthetic' "
                        "(`vg4d synth`'s 8 classes) or a text file with one name per line in code order")
    for role, topic in DEFAULT_TOPICS.items():
        p.add_argument(f"--{role.replace('_', '-')}-topic", default=topic, help=f"default {topic}")
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    topics = {role: getattr(args, f"{role}_topic") for role in DEFAULT_TOPICS}
    try:
        class_names = _class_names(args.class_names)
        names = list(args.samples) if args.samples else ntu.list_depth_videos(args.root)
        if not names:
            raise ValueError(f"no NTU video folders under {args.root / ntu.DEPTH_DIR}")
        args.out.mkdir(parents=True, exist_ok=True)
        failed = 0
        for name in names:
            bag = args.out / name
            if bag.exists():
                print(f"{name}: {bag} exists, skipped", file=sys.stderr)
                continue
            try:
                rec = write_video_bag(args.root, name, bag, storage=args.storage, topics=topics,
                                      rgb=not args.no_rgb, rgb_encoding=args.rgb_encoding,
                                      start_ns=args.start_s * 1_000_000_000, class_names=class_names)
            except (ValueError, OSError) as exc:
                failed += 1
                print(f"FAILED {name}: {exc}", file=sys.stderr)
                continue
            print(f"{name}: {rec['depth_frames']} depth + {rec['rgb_frames']} RGB frames, label "
                  f"{rec['label']!r} -> {bag}" + "".join(f"\n  note: {n}" for n in rec["notes"]))
    except (ValueError, OSError) as exc:
        print(f"vg4d ntu2bag: error: {exc}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
