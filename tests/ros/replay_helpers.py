"""Tiny NTU-layout data, caches and checkpoints for the replay and bag-dataset tests (no rclpy)."""
from __future__ import annotations

from pathlib import Path

FRAMES, POINTS = 8, 64
# two cheap stages (the lite family): a few ms per window on one core
TINY_LAYERS = [
    {"mid_channels": 8, "out_channels": 16, "radius_scale": 1, "temporal_kernel": 1, "spatial_stride": 2},
    {"mid_channels": 16, "out_channels": 32, "radius_scale": 2, "temporal_kernel": 3, "spatial_stride": 2,
     "temporal_stride": 2, "temporal_padding": [1, 0]},
]
# synthetic indices 8..11: NTU60 cross-subject TEST performer 3, actions 1..4; 0..3: train performer 1
TEST_INDICES = (8, 9, 10, 11)
TRAIN_INDICES = (0, 1, 2, 3)


def write_raw(root: Path, indices=TEST_INDICES, frames: tuple[int, int] = (10, 12), room: bool = False) -> list[str]:
    """Synthetic videos at full Kinect v2 size in NTU's raw layout; returns their names."""
    from vg4d_core.data.config import SyntheticConfig
    from vg4d_core.data.synthetic.ntu_layout import write_ntu_video

    cfg = SyntheticConfig(min_frames=frames[0], max_frames=frames[1], image_scale=1.0, room=room)
    return [write_ntu_video(root, i, 0, cfg) for i in indices]


def tiny_checkpoint(path: Path, class_names, data_config: dict, *, seed: int = 0) -> Path:
    """A random-weights two-stage im-PSTNet checkpoint for ``class_names`` reading ``data_config``."""
    import torch

    from vg4d_core.config import to_dict
    from vg4d_core.models import load_model_config
    from vg4d_core.runtime.architecture import build_point_encoder, point_encoder_arch
    from vg4d_core.runtime.checkpoint import FORMAT, atomic_save

    cfg = to_dict(load_model_config("lite"))
    cfg.update(frames=FRAMES, points=POINTS, layers=TINY_LAYERS, radius=0.1, dropout=0.0)
    arch = point_encoder_arch(cfg, len(class_names), 8)
    torch.manual_seed(seed)
    model = build_point_encoder(arch)
    state = {"format": FORMAT, "arch": arch, "model": model.state_dict(), "epoch": 1,
             "class_names": list(class_names), "data_config": dict(data_config)}
    return atomic_save(state, path)
