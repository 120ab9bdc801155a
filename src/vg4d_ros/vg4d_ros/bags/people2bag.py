"""``vg4d people2bag OUT``: synthetic multi-person depth recordings as ROS 2 bags with per-person ground truth.

Scene i of ``--seed`` (:func:`vg4d_core.data.synthetic.people.make_people_scene`: 2 or 3 people in a
room, the scene kinds ``apart``, ``side_by_side``, ``crossing``, ``enter_leave`` in turn) becomes the bag
``OUT/people_<i:04d>_<kind>/`` (MCAP or sqlite3), holding per depth frame, at ``--rate`` Hz from
``--start-s``:

* ``/camera/depth/image_raw``: ``sensor_msgs/Image`` ``16UC1`` millimetres (unmasked: floor and walls
  too, every pixel valid), frame ``camera_depth_optical_frame``;
* ``/camera/depth/camera_info``: ``sensor_msgs/CameraInfo`` of the synthetic camera (the Kinect v2
  depth intrinsics scaled by ``--image-scale``), recorded 1 us before its image;
* ``/camera/color/image_raw``: ``sensor_msgs/Image`` ``bgr8``, the same camera's colour (registered to
  the depth pixel for pixel), frame ``camera_color_optical_frame``; left out with ``--no-rgb``;
* with ``--instance-mask``: ``/camera/depth/instance_mask``: ``sensor_msgs/Image`` ``mono16``, 0 = no
  person, k + 1 = person "a<k>", aligned with the depth (the recogniser's optional ``topics.mask``
  reads it as a person mask: nonzero = person);
* ``/vg4d/ground_truth/people``: ``vision_msgs/msg/Detection3DArray`` with the depth image's header:
  one ``Detection3D`` per person with at least ``--min-visible-px`` visible pixels (conventions in
  :mod:`vg4d_ros.bags.people_truth`: ``id`` "a0"..., ``bbox`` the axis-aligned box of its visible
  points, one result with the class NAME and score 1.0 while it acts, none while it idles).

There is no ``/vg4d/ground_truth`` (``std_msgs/String``) topic: one label per frame cannot describe
several people. Colour, depth, mask and ground truth of a frame share its stamp (colour first, so a
synchroniser keyed on depth finds its partner waiting).

``OUT/manifest.json``: the run's settings (seed, actors, rate, camera, topics, minimum visible pixels)
and per scene its bag, kind and script (:func:`~vg4d_core.data.synthetic.people.scene_record`: room,
actors with their classes, action segments in frames, seconds and stamps, paths). A bag that exists
already is kept (skipped: a scene is a pure function of the seed and the settings) and the manifest is
rewritten.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from vg4d_core.data.synthetic.people import (MIN_VISIBLE_PX, PeopleFrame, PeopleScene, make_people_scene,
                                             render_people, scene_record)
from vg4d_core.data.synthetic.render import Renderer, synthetic_intrinsics
from vg4d_ros.bags.bagio import STORAGES, BagWriter, header
from vg4d_ros.bags.ntu2bag import (DEFAULT_START_S, DEPTH_FRAME_ID, INFO_LEAD_NS, camera_info_msg, color_image_msg,
                                   depth_image_msg, frame_stamp_ns)
from vg4d_ros.bags.people_truth import PEOPLE_TRUTH_TOPIC, PEOPLE_TRUTH_TYPE

DEFAULT_TOPICS = {
    "depth": "/camera/depth/image_raw",
    "camera_info": "/camera/depth/camera_info",
    "rgb": "/camera/color/image_raw",
    "instance_mask": "/camera/depth/instance_mask",
    "people": PEOPLE_TRUTH_TOPIC,
}
RATE_HZ = 15.0
DURATION_S = 10.0
IMAGE_SCALE = 0.5  # 256 x 212, the synthetic default
MANIFEST = "manifest.json"


def scene_name(index: int, kind: str) -> str:
    """The bag (folder) name of scene ``index``."""
    return f"people_{index:04d}_{kind}"


def instance_image_msg(ts, instances: np.ndarray, stamp_ns: int, frame_id: str = DEPTH_FRAME_ID):
    """(H, W) uint16 instance ids (0 = none, k + 1 = actor k) -> ``sensor_msgs/Image`` mono16."""
    return depth_image_msg(ts, instances, stamp_ns, frame_id, encoding="mono16")


def people_truth_msg(ts, frame: PeopleFrame, stamp_ns: int, *, min_visible_px: int = MIN_VISIBLE_PX,
                     frame_id: str = DEPTH_FRAME_ID):
    """The ``vision_msgs/Detection3DArray`` of one frame (conventions: :mod:`vg4d_ros.bags.people_truth`)."""
    return truth_msg(ts, [(a.actor_id, a.label, a.centroid, a.box_min, a.box_max) for a in frame.actors
                          if a.visible(min_visible_px)], stamp_ns, frame_id)


def truth_msg(ts, people, stamp_ns: int, frame_id: str = DEPTH_FRAME_ID):
    """``vision_msgs/Detection3DArray`` of the people seen in one frame: ``people`` = ``(id, class name or ""
    when idle, centroid (3,), box_min (3,), box_max (3,))`` each, metres (:mod:`vg4d_ros.bags.people_truth`)."""
    T = ts.types
    hdr = header(ts, stamp_ns, frame_id)

    def point(p):
        return T["geometry_msgs/msg/Point"](x=float(p[0]), y=float(p[1]), z=float(p[2]))

    def pose(p):
        return T["geometry_msgs/msg/Pose"](position=point(p),
                                           orientation=T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0))

    detections = []
    for actor_id, label, centroid, box_min, box_max in people:
        results = []
        if label:
            results.append(T["vision_msgs/msg/ObjectHypothesisWithPose"](
                hypothesis=T["vision_msgs/msg/ObjectHypothesis"](class_id=label, score=1.0),
                pose=T["geometry_msgs/msg/PoseWithCovariance"](pose=pose(centroid),
                                                               covariance=np.zeros(36, np.float64))))
        lo, hi = np.asarray(box_min, np.float64), np.asarray(box_max, np.float64)
        size = hi - lo
        bbox = T["vision_msgs/msg/BoundingBox3D"](
            center=pose((lo + hi) / 2.0),
            size=T["geometry_msgs/msg/Vector3"](x=float(size[0]), y=float(size[1]), z=float(size[2])))
        detections.append(T["vision_msgs/msg/Detection3D"](header=hdr, results=results, bbox=bbox, id=actor_id))
    return T["vision_msgs/msg/Detection3DArray"](header=hdr, detections=detections)


def write_people_bag(scene: PeopleScene, out: str | Path, *, image_scale: float = IMAGE_SCALE,
                     storage: str = "mcap", topics: dict[str, str] | None = None, rgb: bool = True,
                     instance_mask: bool = False, min_visible_px: int = MIN_VISIBLE_PX,
                     start_ns: int = DEFAULT_START_S * 1_000_000_000) -> dict:
    """Render ``scene`` into a new bag at ``out`` (must not exist; layout: module docstring).

    Returns ``{"bag", "frames", "start_ns", "end_ns", "seen": {actor id: frames with a detection}}``.
    """
    if min_visible_px < 1:
        raise ValueError(f"min_visible_px must be >= 1, got {min_visible_px!r}")
    topics = {**DEFAULT_TOPICS, **(topics or {})}
    intr = synthetic_intrinsics(image_scale)
    renderer = Renderer(intr)
    seen = {a.actor_id: 0 for a in scene.actors}
    stamps = [frame_stamp_ns(start_ns, f, scene.rate_hz) for f in range(scene.num_frames)]
    with BagWriter(Path(out), storage) as writer:
        ts = writer.typestore
        for frame in render_people(scene, renderer=renderer):
            stamp = stamps[frame.index]
            if rgb:
                writer.write(topics["rgb"], "sensor_msgs/msg/Image", stamp,
                             color_image_msg(ts, frame.rgb[:, :, ::-1], stamp))
            writer.write(topics["camera_info"], "sensor_msgs/msg/CameraInfo", stamp - INFO_LEAD_NS,
                         camera_info_msg(ts, intr, stamp))
            writer.write(topics["depth"], "sensor_msgs/msg/Image", stamp, depth_image_msg(ts, frame.depth_mm, stamp))
            if instance_mask:
                writer.write(topics["instance_mask"], "sensor_msgs/msg/Image", stamp,
                             instance_image_msg(ts, frame.instances, stamp))
            msg = people_truth_msg(ts, frame, stamp, min_visible_px=min_visible_px)
            writer.write(topics["people"], PEOPLE_TRUTH_TYPE, stamp, msg)
            for det in msg.detections:
                seen[det.id] += 1
    return {"bag": str(out), "frames": scene.num_frames, "start_ns": stamps[0], "end_ns": stamps[-1], "seen": seen}


def manifest_entry(scene: PeopleScene, name: str, index: int, start_ns: int) -> dict:
    """A scene's manifest entry: :func:`scene_record` plus its bag name, index and stamps (each action
    segment gets ``start_ns`` / ``end_ns``: the header stamps of its first and last frame)."""
    rec = scene_record(scene)
    for actor in rec["actors"]:
        for seg in actor["segments"]:
            seg["start_ns"] = frame_stamp_ns(start_ns, seg["start_frame"], scene.rate_hz)
            seg["end_ns"] = frame_stamp_ns(start_ns, seg["end_frame"], scene.rate_hz)
    return {"name": name, "bag": name, "index": index, "start_ns": start_ns,
            "end_ns": frame_stamp_ns(start_ns, scene.num_frames - 1, scene.rate_hz), **rec}


def write_people_bags(out: str | Path, scenes: int, *, seed: int = 0, actors: int = 2, rate_hz: float = RATE_HZ,
                      duration_s: float = DURATION_S, image_scale: float = IMAGE_SCALE, storage: str = "mcap",
                      rgb: bool = True, instance_mask: bool = False, min_visible_px: int = MIN_VISIBLE_PX,
                      depth_noise_mm: float = 4.0, start_s: int = DEFAULT_START_S, log=None) -> Path:
    """Write scenes 0..``scenes``-1 of ``seed`` as bags under ``out`` plus ``out/manifest.json``;
    returns the manifest's path. A scene's frames: ``round(duration_s * rate_hz) + 1``."""
    if scenes < 1:
        raise ValueError(f"--scenes must be >= 1, got {scenes!r}")
    if not rate_hz > 0 or not duration_s > 0:
        raise ValueError(f"rate and duration must be > 0, got {rate_hz!r} Hz, {duration_s!r} s")
    if storage not in STORAGES:
        raise ValueError(f"unknown bag storage {storage!r}; choose from {list(STORAGES)}")
    num_frames = int(round(duration_s * rate_hz)) + 1
    start_ns = int(start_s) * 1_000_000_000
    intr = synthetic_intrinsics(image_scale)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(scenes):
        scene = make_people_scene(seed, i, actors=actors, num_frames=num_frames, rate_hz=rate_hz,
                                  depth_noise_mm=depth_noise_mm)
        name = scene_name(i, scene.kind)
        bag = out / name
        if bag.exists():
            if log:
                log(f"{name}: {bag} exists, kept")
        else:
            rec = write_people_bag(scene, bag, image_scale=image_scale, storage=storage, rgb=rgb,
                                   instance_mask=instance_mask, min_visible_px=min_visible_px, start_ns=start_ns)
            if log:
                seen = ", ".join(f"{a} seen in {n}" for a, n in rec["seen"].items())
                log(f"{name}: {rec['frames']} frames, {len(scene.actors)} people ({seen}) -> {bag}")
        entries.append(manifest_entry(scene, name, i, start_ns))
    topics = dict(DEFAULT_TOPICS)
    if not rgb:
        topics.pop("rgb")
    if not instance_mask:
        topics.pop("instance_mask")
    manifest = {
        "seed": seed, "actors": actors, "rate_hz": rate_hz, "duration_s": duration_s, "num_frames": num_frames,
        "storage": storage, "min_visible_px": min_visible_px, "depth_noise_mm": depth_noise_mm,
        "camera": {"width": intr.width, "height": intr.height, "fx": intr.fx, "fy": intr.fy, "cx": intr.cx,
                   "cy": intr.cy, "image_scale": image_scale, "frame_id": DEPTH_FRAME_ID},
        "topics": topics, "ground_truth_type": PEOPLE_TRUTH_TYPE,
        "class_id": "class name (ground truth); idle people have no result",
        "scenes": entries,
    }
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``vg4d people2bag OUT``: synthetic multi-person depth bags with per-person ground truth."""
    p = argparse.ArgumentParser(prog="vg4d people2bag", description=main.__doc__,
                                epilog="Ground truth: vision_msgs/Detection3DArray on /vg4d/ground_truth/people, one "
                                       "Detection3D per person seen (id a0, a1, ...; class_id = the class name).")
    p.add_argument("out", type=Path, help="folder for the bags (OUT/people_<i>_<kind>/) and OUT/manifest.json")
    p.add_argument("--scenes", type=int, default=4, help="number of scenes (kinds in turn; default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--actors", type=int, choices=(2, 3), default=2, help="people per scene")
    p.add_argument("--rate", type=float, default=RATE_HZ, help="frames per second (default %(default)s)")
    p.add_argument("--duration", type=float, default=DURATION_S, help="seconds per scene (default %(default)s)")
    p.add_argument("--image-scale", type=float, default=IMAGE_SCALE,
                   help="of the Kinect v2 depth geometry, 1.0 = 512 x 424 (default %(default)s)")
    p.add_argument("--storage", choices=STORAGES, default="mcap")
    p.add_argument("--instance-mask", action="store_true", help="also a mono16 instance image per frame")
    p.add_argument("--no-rgb", action="store_true", help="no colour stream")
    p.add_argument("--min-visible-px", type=int, default=MIN_VISIBLE_PX,
                   help="a person with fewer visible pixels gets no detection in that frame (default %(default)s)")
    p.add_argument("--depth-noise-mm", type=float, default=4.0, help="Gaussian depth noise (default %(default)s)")
    p.add_argument("--start-s", type=int, default=DEFAULT_START_S, help="stamp of the first frame, seconds")
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        manifest = write_people_bags(args.out, args.scenes, seed=args.seed, actors=args.actors, rate_hz=args.rate,
                                     duration_s=args.duration, image_scale=args.image_scale, storage=args.storage,
                                     rgb=not args.no_rgb, instance_mask=args.instance_mask,
                                     min_visible_px=args.min_visible_px, depth_noise_mm=args.depth_noise_mm,
                                     start_s=args.start_s, log=print)
    except (ValueError, OSError) as exc:
        print(f"vg4d people2bag: error: {exc}", file=sys.stderr)
        return 2
    print(f"manifest {manifest}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
