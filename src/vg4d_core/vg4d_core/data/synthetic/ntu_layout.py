"""Writing synthetic videos in NTU RGB+D's raw on-disk layout (what ``vg4d preprocess ntu`` reads)."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import cv2

from vg4d_core.data.config import SyntheticConfig
from vg4d_core.data.depth import KINECT_V2_DEPTH
from vg4d_core.data.ntu import DEPTH_DIR, RGB_DIR
from vg4d_core.data.synthetic.render import render_video, room_from_config
from vg4d_core.data.synthetic.scene import NUM_CLASSES, video_nuisance

# performers alternate NTU60 cross-subject train (1, 2, 4, 5) and test (3, 6, 7, 10) ids
_PERFORMERS = (1, 3, 2, 6, 4, 7, 5, 10)


def ntu_name(index: int) -> str:
    """NTU-style name of synthetic video ``index``: action = index % 8 + 1."""
    action = index % NUM_CLASSES + 1
    rest = index // NUM_CLASSES
    performer = _PERFORMERS[rest % len(_PERFORMERS)]
    rest //= len(_PERFORMERS)
    camera = rest % 3 + 1
    rest //= 3
    replication = rest % 2 + 1
    setup = rest // 2 + 1
    if setup > 17:
        raise ValueError(f"synthetic index {index} exceeds the NTU60 name space")
    return f"S{setup:03d}C{camera:03d}P{performer:03d}R{replication:03d}A{action:03d}"


def write_ntu_video(root: str | Path, index: int, seed: int, cfg: SyntheticConfig) -> str:
    """Render video ``index`` at full Kinect v2 size and write it in NTU's layout; returns its name.

    With ``cfg.room`` the depth PNGs are unmasked (floor and walls have depth) although they sit under
    NTU's ``nturgb+d_depth_masked`` folder name, so the NTU tools read them unchanged.

    Files are written under temporary names and renamed, so an interrupted run leaves no half video.
    """
    name = ntu_name(index)
    nu = video_nuisance(seed, "train", index, cfg)
    video = render_video(index % NUM_CLASSES, nu, KINECT_V2_DEPTH, depth_noise_mm=cfg.depth_noise_mm,
                         room=room_from_config(cfg))
    root = Path(root)
    depth_dir = root / DEPTH_DIR / name
    tmp_dir = root / DEPTH_DIR / f".{name}.tmp{os.getpid()}"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(video.depth):
        if not cv2.imwrite(str(tmp_dir / f"MDepth-{t + 1:08d}.png"), frame):
            raise OSError(f"cannot write depth frame {t + 1} of {name} under {tmp_dir}")
    rgb_dir = root / RGB_DIR
    rgb_dir.mkdir(parents=True, exist_ok=True)
    tmp_avi = rgb_dir / f".{name}.tmp{os.getpid()}.avi"
    h, w = video.rgb.shape[1:3]
    writer = cv2.VideoWriter(str(tmp_avi), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot open a video writer for {tmp_avi}")
    for frame in video.rgb:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    if depth_dir.exists():  # a finished copy from an earlier run: replace it
        import shutil

        shutil.rmtree(depth_dir)
    os.replace(tmp_dir, depth_dir)
    os.replace(tmp_avi, rgb_dir / f"{name}_rgb.avi")
    return name


def _write_one(args: tuple) -> str:
    root, index, seed, cfg_dict = args
    cv2.setNumThreads(1)
    return write_ntu_video(root, index, seed, SyntheticConfig(**cfg_dict))


def write_ntu_layout(root: str | Path, num_videos: int, *, seed: int = 0, cfg: SyntheticConfig | None = None,
                     workers: int = 1) -> list[str]:
    """Write ``num_videos`` synthetic videos in NTU's on-disk layout; returns their names."""
    cfg = cfg or SyntheticConfig()
    if num_videos < 1:
        raise ValueError(f"num_videos must be >= 1, got {num_videos!r}")
    jobs = [(str(root), i, seed, dataclasses.asdict(cfg)) for i in range(num_videos)]
    if workers <= 1:
        return [_write_one(j) for j in jobs]
    import multiprocessing as mp

    with mp.get_context("fork").Pool(workers) as pool:
        return list(pool.imap(_write_one, jobs, chunksize=4))
