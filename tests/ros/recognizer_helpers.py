"""Tiny checkpoints and synthetic depth streams for the recogniser tests and their subprocesses."""
from __future__ import annotations

from pathlib import Path

import numpy as np

CLASS_NAMES = ["wave", "bow", "kick", "sit down"]
FRAMES, POINTS = 12, 64
WIDTH, HEIGHT, FX, CX, CY = 64, 48, 60.0, 32.0, 24.0


def tiny_checkpoint(path: str | Path, *, frames: int = FRAMES, points: int = POINTS, extra: dict | None = None,
                    data_config: dict | None = None, class_names: list[str] | None = None, seed: int = 0) -> Path:
    """A random-weights lite im-PSTNet (``seed``) of ``class_names`` (default :data:`CLASS_NAMES`) at
    frames x points, saved as a vg4d checkpoint."""
    import torch

    from vg4d_core.config import to_dict
    from vg4d_core.models import load_model_config
    from vg4d_core.runtime.architecture import build_point_encoder, point_encoder_arch
    from vg4d_core.runtime.checkpoint import FORMAT, atomic_save

    cfg = to_dict(load_model_config("lite"))
    cfg.update(frames=frames, points=points)
    names = list(class_names or CLASS_NAMES)
    arch = point_encoder_arch(cfg, len(names), 16)
    torch.manual_seed(seed)
    model = build_point_encoder(arch)
    dc = {"name": "synthetic", "num_frames": frames, "points_per_frame": points, "seed": 0}
    dc.update(data_config or {})
    state = {"format": FORMAT, "arch": arch, "model": model.state_dict(), "epoch": 1,
             "class_names": names, "data_config": dc, **(extra or {})}
    return atomic_save(state, path)


def depth_frame(i: int) -> np.ndarray:
    """(HEIGHT, WIDTH) uint16 mm: a 2 m wall-free scene with a 1.5 m blob that moves with i."""
    depth = np.zeros((HEIGHT, WIDTH), np.uint16)
    u0 = 16 + (i % 20)
    depth[10:40, u0:u0 + 12] = 1500 + 10 * (i % 7)
    return depth


def header(ts, stamp_ns: int, frame_id: str = "camera_depth_optical_frame"):
    T = ts.types
    sec, ns = divmod(int(stamp_ns), 1_000_000_000)
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=ns), frame_id=frame_id)


def depth_msg(ts, i: int, stamp_ns: int, *, step_extra: int = 0):
    d = depth_frame(i)
    step = WIDTH * 2 + step_extra
    buf = np.zeros((HEIGHT, step), np.uint8)
    buf[:, : WIDTH * 2] = d.view(np.uint8).reshape(HEIGHT, WIDTH * 2)
    return ts.types["sensor_msgs/msg/Image"](header=header(ts, stamp_ns), height=HEIGHT, width=WIDTH,
                                             encoding="16UC1", is_bigendian=0, step=step, data=buf.reshape(-1))


def bad_depth_msg(ts, stamp_ns: int):
    """A depth image whose payload is shorter than height * step (a MessageError)."""
    return ts.types["sensor_msgs/msg/Image"](header=header(ts, stamp_ns), height=HEIGHT, width=WIDTH,
                                             encoding="16UC1", is_bigendian=0, step=WIDTH * 2,
                                             data=np.zeros(100, np.uint8))


def camera_info_msg(ts, stamp_ns: int):
    T = ts.types
    k = np.array([FX, 0, CX, 0, FX, CY, 0, 0, 1], np.float64)
    return T["sensor_msgs/msg/CameraInfo"](
        header=header(ts, stamp_ns), height=HEIGHT, width=WIDTH, distortion_model="plumb_bob",
        d=np.zeros(5, np.float64), k=k, r=np.eye(3).reshape(-1), p=np.zeros(12, np.float64), binning_x=0,
        binning_y=0, roi=T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                                do_rectify=False))


def rgb_msg(ts, stamp_ns: int):
    data = np.full(HEIGHT * WIDTH * 3, 128, np.uint8)
    return ts.types["sensor_msgs/msg/Image"](header=header(ts, stamp_ns, "camera_color_optical_frame"),
                                             height=HEIGHT, width=WIDTH, encoding="bgr8", is_bigendian=0,
                                             step=WIDTH * 3, data=data)


# -- clouds in another frame, and the TF that connects it (input_frame) ---------------------------
OPTICAL = "camera_depth_optical_frame"
# a camera 1.2 m up on a robot, looking forward along base_link's x: base_link -> camera_link (x forward,
# z up, as base_link) -> camera_depth_optical_frame (z forward, x right, y down: the REP-103 optical rotation)
CAMERA_LINK = ("base_link", "camera_link", (0.1, 0.0, 1.2), (0.0, 0.0, 0.0, 1.0))
OPTICAL_LINK = ("camera_link", OPTICAL, (0.0, 0.02, 0.0), (-0.5, 0.5, -0.5, 0.5))


def optical_points(i: int) -> np.ndarray:
    """(P, 3) float32 metres: :func:`depth_frame` ``i`` as points of the optical frame."""
    from vg4d_core.data.depth import CameraIntrinsics, depth_to_points

    return depth_to_points(depth_frame(i).astype(np.float32) / 1000.0,
                           CameraIntrinsics(FX, FX, CX, CY)).astype(np.float32)


def cloud_msg(ts, points: np.ndarray, stamp_ns: int, frame_id: str = OPTICAL):
    """An unorganised float32 x, y, z PointCloud2 of ``points`` (rosbags object)."""
    pts = np.ascontiguousarray(points, dtype="<f4").reshape(-1, 3)
    T = ts.types
    fields = [T["sensor_msgs/msg/PointField"](name=n, offset=4 * k, datatype=7, count=1) for k, n in enumerate("xyz")]
    return T["sensor_msgs/msg/PointCloud2"](header=header(ts, stamp_ns, frame_id), height=1, width=len(pts),
                                            fields=fields, is_bigendian=False, point_step=12,
                                            row_step=12 * len(pts), data=pts.view(np.uint8).reshape(-1),
                                            is_dense=True)


def tf_message(ts, links, stamp_ns: int = 0):
    """A tf2_msgs/msg/TFMessage of ``links``: (parent, child, (x, y, z), (qx, qy, qz, qw)) each."""
    T = ts.types
    transforms = [T["geometry_msgs/msg/TransformStamped"](
        header=header(ts, stamp_ns, parent), child_frame_id=child,
        transform=T["geometry_msgs/msg/Transform"](translation=T["geometry_msgs/msg/Vector3"](x=t[0], y=t[1], z=t[2]),
                                                   rotation=T["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2],
                                                                                              w=q[3])))
        for parent, child, t, q in links]
    return T["tf2_msgs/msg/TFMessage"](transforms=transforms)


def in_base_link(points: np.ndarray) -> np.ndarray:
    """Optical-frame points as the robot publishes them: in base_link (through CAMERA_LINK, OPTICAL_LINK)."""
    from vg4d_ros.pipeline.transforms import TransformBuffer

    buf = TransformBuffer()
    for parent, child, t, q in (CAMERA_LINK, OPTICAL_LINK):
        buf.set_transform(parent, child, t, q, static=True)
    return buf.transform_points(points, "base_link", OPTICAL)
