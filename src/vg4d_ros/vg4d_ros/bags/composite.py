"""``vg4d composite``: several people in one view, from recordings of one person each.

Each input bag holds one person's depth video (``sensor_msgs/Image`` 16UC1 millimetres or 32FC1 metres,
with its ``CameraInfo``: a driver's recording, or MSR-Action3D / NTU written by ``vg4d msr2bag`` /
``vg4d ntu2bag``) and its ground truth (a labels file, or the label topic). The composite is what the
first input's camera would see with the people standing side by side:

* every valid pixel of input k is back-projected with its own camera (metres), moved sideways along the
  camera's x axis by ``(k - (K - 1) / 2) * spacing_m`` (depth and height kept: each person stands where
  they stood, shifted across the room), and projected into one image of ``K x`` the first input's
  width, its principal point moved to the wide image's centre (the same fx, fy); where two points land
  on one pixel the nearer wins (a z-buffer: a person in front hides one behind). A sideways move at the
  same depth is a 3D translation, not a shear of the image: the person keeps their shape (moving pixels
  instead would skew a body by its own depth);
* frame i of the composite holds frame i of every input (the shortest input sets the length) and is
  stamped with the first input's stamp of frame i;
* 16UC1 millimetres out; pixels nobody covers are 0. Forward projection at another scale can leave
  1-pixel gaps inside a body seen closer than in its recording; they are left empty, as a sensor's
  dropouts are.

Ground truth: ``/vg4d/ground_truth/people`` (:mod:`vg4d_ros.bags.people_truth`), one
``Detection3DArray`` per frame: person ``a<k>`` is input k, its box and centroid those of its pixels that
won the z-buffer, back-projected with the wide camera (so inputs should show the person only: masked
depth, as MSR-Action3D and NTU's masked depth are; a room in an input's depth would be part of that
person's box), its class the label of input k's segment at its frame i (none between segments).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from vg4d_core.data.synthetic.people import back_project
from vg4d_ros.bags.bagio import STORAGES, BagError, BagWriter, open_bag, read_messages
from vg4d_ros.bags.labels import GROUND_TRUTH_TOPIC, LabelsFile, Segment, label_at, load_labels, segments_from_topic
from vg4d_ros.bags.ntu2bag import DEPTH_FRAME_ID, INFO_LEAD_NS, camera_info_msg, depth_image_msg
from vg4d_ros.bags.people2bag import truth_msg
from vg4d_ros.bags.people_truth import PEOPLE_TRUTH_TOPIC, PEOPLE_TRUTH_TYPE
from vg4d_ros.pipeline.decode import MessageError, camera_intrinsics, depth_image_to_array, stamp_ns

DEPTH_TOPIC, INFO_TOPIC = "/camera/depth/image_raw", "/camera/depth/camera_info"
MIN_PIXELS = 40  # a person with fewer valid pixels in a frame is not in the ground truth of that frame


@dataclasses.dataclass
class _Recording:
    path: Path
    depth_mm: list[np.ndarray]
    stamps: list[int]
    intrinsics: object
    segments: list[Segment]


def read_recording(path: str | Path, *, labels: LabelsFile | None = None, depth_topic: str = DEPTH_TOPIC,
                   info_topic: str = INFO_TOPIC) -> _Recording:
    """One input: its depth frames (uint16 mm), stamps, camera and labelled segments."""
    path = Path(path)
    frames, stamps, gt = [], [], []
    intrinsics = None
    with open_bag(path) as reader:
        start = int(reader.start_time)
        for m in read_messages(reader, [depth_topic, info_topic, GROUND_TRUTH_TOPIC], path=path):
            if m.msg is None:
                raise BagError(f"{path}: a message on {m.topic} does not deserialise: {m.error}")
            try:
                if m.topic == info_topic and intrinsics is None:
                    intrinsics = camera_intrinsics(m.msg)
                elif m.topic == depth_topic:
                    depth = depth_image_to_array(m.msg)
                    if depth.dtype.kind == "f":  # metres, NaN = none
                        depth = np.nan_to_num(np.rint(depth * 1000.0), nan=0.0).clip(0, 65535).astype(np.uint16)
                    frames.append(depth.astype(np.uint16))
                    stamps.append(stamp_ns(m.msg))
                elif m.topic == GROUND_TRUTH_TOPIC:
                    gt.append((m.log_time_ns, str(m.msg.data)))
            except MessageError as exc:
                raise BagError(f"{path}: {exc}") from None
    if not frames or intrinsics is None:
        raise BagError(f"{path}: needs depth images on {depth_topic} and a CameraInfo on {info_topic}")
    entry = labels.for_bag(path) if labels is not None else None
    segments = entry.resolve(start) if entry is not None else segments_from_topic(gt, end_ns=stamps[-1])
    return _Recording(path, frames, stamps, intrinsics, segments)


def composite(inputs: Sequence[str | Path], out: str | Path, *, labels: LabelsFile | None = None,
              spacing_m: float = 1.5, depth_topic: str = DEPTH_TOPIC, info_topic: str = INFO_TOPIC,
              storage: str = "mcap", only: int | None = None) -> dict:
    """Write the side-by-side composite of ``inputs`` (2 or more bags) as a new bag at ``out``; returns
    ``{"bag", "frames", "people": [{"id", "bag", "labels", "shift_m"}]}``.

    ``only``: draw input ``only``'s person alone at their place (the others left out): the control of the
    same person at the same place in the same view with nobody beside them."""
    if len(inputs) < 2:
        raise ValueError(f"a composite needs at least 2 input bags, got {len(inputs)}")
    if not spacing_m > 0:
        raise ValueError(f"spacing_m must be > 0 metres, got {spacing_m!r}")
    recs = [read_recording(p, labels=labels, depth_topic=depth_topic, info_topic=info_topic) for p in inputs]
    first = recs[0]
    height, width = first.depth_mm[0].shape
    wide = dataclasses.replace(first.intrinsics, cx=first.intrinsics.cx + (len(recs) - 1) * width / 2.0,
                               width=len(recs) * width, height=height)
    shifts = [(k - (len(recs) - 1) / 2.0) * spacing_m for k in range(len(recs))]
    frames = min(len(r.depth_mm) for r in recs)
    with BagWriter(Path(out), storage) as writer:
        ts = writer.typestore
        for i in range(frames):
            stamp = first.stamps[i]
            zbuf = np.full((height, wide.width), np.inf)
            owner = np.full((height, wide.width), -1, np.int64)
            for k, (r, dx) in enumerate(zip(recs, shifts)):
                if only is not None and k != only:
                    continue
                v, u = np.nonzero(r.depth_mm[i])
                pts = back_project(u, v, r.depth_mm[i][v, u], r.intrinsics)
                pts[:, 0] += dx
                uu = np.rint(wide.fx * pts[:, 0] / pts[:, 2] + wide.cx).astype(np.int64)
                vv = np.rint(wide.fy * pts[:, 1] / pts[:, 2] + wide.cy).astype(np.int64)
                inside = (uu >= 0) & (uu < wide.width) & (vv >= 0) & (vv < height)
                uu, vv, z = uu[inside], vv[inside], pts[inside, 2]
                order = np.argsort(-z, kind="stable")  # far first: nearer points overwrite them
                closer = z[order] < zbuf[vv[order], uu[order]]
                sel = order[closer]
                zbuf[vv[sel], uu[sel]] = z[sel]
                owner[vv[sel], uu[sel]] = k
            image = np.where(np.isfinite(zbuf), np.rint(zbuf * 1000.0), 0).clip(0, 65535).astype(np.uint16)
            people = []
            for k, r in enumerate(recs):
                v, u = np.nonzero((owner == k) & (image > 0))
                if v.size < MIN_PIXELS:
                    continue
                pts = back_project(u, v, image[v, u], wide)
                people.append((f"a{k}", label_at(r.segments, r.stamps[i]) or "", pts.mean(axis=0), pts.min(axis=0),
                               pts.max(axis=0)))
            writer.write(info_topic, "sensor_msgs/msg/CameraInfo", stamp - INFO_LEAD_NS,
                         camera_info_msg(ts, wide, stamp))
            writer.write(depth_topic, "sensor_msgs/msg/Image", stamp, depth_image_msg(ts, image, stamp))
            writer.write(PEOPLE_TRUTH_TOPIC, PEOPLE_TRUTH_TYPE, stamp, truth_msg(ts, people, stamp, DEPTH_FRAME_ID))
    return {"bag": str(out), "frames": frames,
            "people": [{"id": f"a{k}", "bag": str(r.path), "labels": sorted({s.label for s in r.segments}),
                        "shift_m": shifts[k]} for k, r in enumerate(recs)]}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="vg4d composite", description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="the composite bag to write (must not exist)")
    p.add_argument("bags", nargs="+", help="2 or more single-person depth bags, left to right")
    p.add_argument("--labels", default=None, help="labels file of the inputs (default: their label topic)")
    p.add_argument("--depth-topic", default=DEPTH_TOPIC)
    p.add_argument("--info-topic", default=INFO_TOPIC)
    p.add_argument("--spacing", type=float, default=1.5, help="metres between neighbouring people (default 1.5)")
    p.add_argument("--storage", choices=list(STORAGES), default="mcap")
    p.add_argument("--only", type=int, default=None, help="draw only this input's person (0-based), the rest empty")
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        record = composite(args.bags, args.out, labels=load_labels(args.labels) if args.labels else None,
                           spacing_m=args.spacing,
                           depth_topic=args.depth_topic, info_topic=args.info_topic, storage=args.storage,
                           only=args.only)
    except (ValueError, OSError) as exc:
        print(f"vg4d composite: error: {exc}", file=sys.stderr)
        return 2
    print(f"{record['frames']} frames of {len(record['people'])} people -> {record['bag']}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
