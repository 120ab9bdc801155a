"""`vg4d demo seed=N`: one seed drives every stage, the tiny X-CLIP and the held-out bags (#23)."""
from __future__ import annotations

import json

import pytest

from vg4d_ros.programs import demo


def test_the_demo_seed_reaches_every_stage(tmp_path):
    cfg = demo.load_demo_config("reduced", ["seed=2"])
    assert cfg.seed == 2
    for stage in demo.STAGES:
        args = demo._stage_args(cfg, tmp_path, stage)
        over = args[args.index(str(tmp_path / stage)) + 1:]
        assert over[0] == "seed=2"  # first, so a stage override may still pin another
    assert demo.load_demo_config("reduced").seed == 0


def test_a_demo_folder_keeps_its_seed(tmp_path):
    (tmp_path / demo.STATE_FILE).write_text(json.dumps({"done": [], "profile": "reduced", "seed": 1}))
    with pytest.raises(RuntimeError, match="seed 1, not 2"):
        demo.run(tmp_path, demo.load_demo_config("reduced", ["seed=2"]), profile="reduced")
