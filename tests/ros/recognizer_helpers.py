"""Tiny checkpoints and synthetic depth streams for the recogniser tests and their subprocesses."""
from __future__ import annotations

from pathlib import Path

import numpy as np

CLASS_NAMES = ["wave", "bow", "kick", "sit down"]
FRAMES, POINTS = 12, 64
WIDTH, HEIGHT, FX, CX, CY = 64, 48, 60.0, 32.0, 24.0


def tiny_checkpoint(path: str | Path, *, frames: int = FRAMES, points: int = POINTS, extra: dict | None = None,
                    data_config: dict | None = None) -> Path:
    """A random-weights lite im-PSTNet of 4 classes at frames x points, saved as a vg4d checkpoint."""
    import torch

    from vg4d_core.config import to_dict
    from vg4d_core.models import load_model_config
    from vg4d_core.runtime.architecture import build_point_encoder, point_encoder_arch
    from vg4d_core.runtime.checkpoint import FORMAT, atomic_save

    cfg = to_dict(load_model_config("lite"))
    cfg.update(frames=frames, points=points)
    arch = point_encoder_arch(cfg, len(CLASS_NAMES), 16)
    torch.manual_seed(0)
    model = build_point_encoder(arch)
    dc = {"name": "synthetic", "num_frames": frames, "points_per_frame": points, "seed": 0}
    dc.update(data_config or {})
    state = {"format": FORMAT, "arch": arch, "model": model.state_dict(), "epoch": 1,
             "class_names": list(CLASS_NAMES), "data_config": dc, **(extra or {})}
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
