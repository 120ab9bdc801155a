"""VLM configs and prompt templates from YAML."""
from __future__ import annotations

import pytest

from vg4d_core.config import ConfigError
from vg4d_core.vlm import class_prompts, load_prompt_templates, load_vlm_config


def test_shipped_configs_load():
    cfg = load_vlm_config("vlm/xclip_b16_k600.yaml")
    assert (cfg.backend, cfg.model, cfg.num_frames) == ("xclip", "microsoft/xclip-base-patch16-kinetics-600", None)
    assert load_vlm_config("vlm/clip_b16.yaml").backend == "open_clip"
    templates = load_prompt_templates(cfg.prompts)
    assert templates[0] == "a video of a person {}."


def test_unknown_key_and_bad_backend_are_named(tmp_path):
    (tmp_path / "a.yaml").write_text("backend: xclip\nmodle: x\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['modle'\]"):
        load_vlm_config(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("backend: clip\n")
    with pytest.raises(ConfigError, match="backend: 'clip' is not one of"):
        load_vlm_config(tmp_path / "b.yaml")


def test_template_needs_one_placeholder(tmp_path):
    (tmp_path / "p.yaml").write_text("templates: ['a video of {}.', 'no slot']\n")
    with pytest.raises(ConfigError, match=r"templates\[1\]: 'no slot' must be a string with exactly one"):
        load_prompt_templates(tmp_path / "p.yaml")


def test_class_prompts_is_template_major():
    assert class_prompts(["wave", "clap"], ["a {}.", "{}!"]) == [["a wave.", "a clap."], ["wave!", "clap!"]]
