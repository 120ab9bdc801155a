"""A tiny pretrain -> vlm -> crossmodal chain on synthetic RGB-D data (shared by tests)."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from test_cli import TINY

DATA = {"num_frames": 8, "points_per_frame": 32, "rgb": True, "rgb_size": 32,
        "synthetic": {"num_train": 16, "num_test": 8, "min_frames": 10, "max_frames": 12, "image_scale": 0.25}}


def recipes(folder: Path, xclip_dir: Path) -> dict[str, Path]:
    """Write the three stage recipes into ``folder``; returns stage -> path."""
    base = copy.deepcopy(TINY)
    base["data_overrides"] = copy.deepcopy(DATA)
    base["val_fraction"] = 0.25
    base["embed_dim"] = 16  # the tiny X-CLIP's embedding size
    out = {}
    pre = dict(base, stage="pretrain")
    vlm = dict(base, stage="vlm", vlm="xclip_b16_k600", vlm_overrides={"model": str(xclip_dir)},
               optimizer={"lr": 0.01, "weight_decay": 0.0}, batch_size=4)
    cross = dict(base, stage="crossmodal", pretrained=str(folder / "pre" / "last.pt"),
                 vlm_checkpoint=str(folder / "vlm" / "last.pt"), feature_views=2,
                 optimizer={"lr": 0.01, "weight_decay": 1e-4})
    for name, r in (("pretrain", pre), ("vlm", vlm), ("crossmodal", cross)):
        p = folder / f"{name}.yaml"
        p.write_text(yaml.safe_dump(r), encoding="utf-8")
        out[name] = p
    return out
