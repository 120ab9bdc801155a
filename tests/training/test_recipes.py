"""Every shipped recipe loads and resolves its model and data configs."""
from pathlib import Path

import pytest

from vg4d_core.paths import config_dir
from vg4d_core.training.config import resolved_data_dict
from vg4d_core.training.stages import stage_arch
from vg4d_core.training.config import load_train_config

RECIPES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "config" / "train").glob("*.yaml"))


def test_all_expected_recipes_exist():
    assert {"ntu60_cs", "ntu60_cv", "ntu120_csub", "ntu120_cset", "msr_action3d", "msr_action3d_lite"} <= set(RECIPES)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_resolves(name):
    cfg = load_train_config(name)
    arch = stage_arch(cfg, 20)
    data = resolved_data_dict(cfg)
    assert arch["model_config"]["layers"] and data["name"] in ("msr_action3d", "ntu", "synthetic", "bag")
    if name.startswith("ntu") and cfg.stage in ("vlm", "crossmodal"):  # the VG4D chain's folders
        protocol = name.rsplit("_", 1)[0]
        assert cfg.out == f"runs/{protocol}_vg4d/{cfg.stage}"
    else:
        assert cfg.out == f"runs/{name}"
    if name.startswith("ntu") and cfg.stage == "vlm":  # the paper's VLM schedule: 30 epochs, 8 frames
        assert cfg.schedule.epochs == 30 and data["num_frames"] == 8 and data["rgb"]
    if name.startswith("ntu") and cfg.stage == "crossmodal":  # 30 epochs, lr 0.001 -> 0.0001
        assert (cfg.schedule.epochs, cfg.optimizer.lr, cfg.schedule.min_lr) == (30, 0.001, 0.0001)
        assert cfg.pretrained == f"runs/{data['protocol']}_vg4d/pretrain/last.pt" and cfg.crossmodal_loss.d == 0
        assert cfg.vlm_checkpoint == f"runs/{data['protocol']}_vg4d/vlm/last.pt"
    if name.startswith("ntu") and cfg.stage == "pretrain":
        # the paper's schedule
        assert (cfg.schedule.epochs, cfg.optimizer.lr, cfg.optimizer.weight_decay, cfg.batch_size) == (120, 0.01, 0.1, 32)
        assert data["protocol"] == name and data["num_frames"] == 23 and data["points_per_frame"] == 2048
    if name == "msr_action3d":
        # the literature's protocol: 24 x 2048, dense clips
        assert (data["num_frames"], data["points_per_frame"], data["sampling"]) == (24, 2048, "dense")
    assert (config_dir() / "train" / f"{name}.yaml").is_file()
