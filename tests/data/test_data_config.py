"""DataConfig YAML files and the build_dataset factory."""
from __future__ import annotations

import pytest

from vg4d_core.config import ConfigError
from vg4d_core.data import DataConfig, build_dataset, load_data_config
from vg4d_core.paths import config_dir


def test_every_data_yaml_loads():
    files = sorted((config_dir() / "data").glob("*.yaml"))
    assert {"msr_action3d.yaml", "msr_action3d_lite.yaml"} <= {f.name for f in files}
    for f in files:
        cfg = load_data_config(f)
        assert isinstance(cfg, DataConfig)


def test_literature_msr_settings():
    cfg = load_data_config("msr_action3d")
    assert (cfg.num_frames, cfg.sampling, cfg.points_per_frame, cfg.augment.scale_range) == (24, "dense", 2048,
                                                                                              (0.9, 1.1))


@pytest.mark.parametrize("override,match", [
    ("num_frames=0", "num_frames"), ("sampling=random", "sampling"), ("augment.scale_range=[1.2, 1.1]", "scale_range"),
    ("name=kinetics", "name"), ("max_cached_points=100", "max_cached_points"), ("nonsense=1", "unknown key"),
])
def test_bad_values_are_named(override, match):
    with pytest.raises(ConfigError, match=match):
        load_data_config("msr_action3d", [override])


def test_factory_builds_msr_subset(shared_data):
    cfg = load_data_config("msr_action3d_lite", ["max_videos=3", "preload=false",
                                                 f"root={shared_data / 'msr_action3d'}"])
    train = build_dataset(cfg, "train")
    assert len(train) == 3 and train.num_classes == 20
    item = train[0]
    assert item["points"].shape == (cfg.num_frames, cfg.points_per_frame, 3)
    with pytest.raises(ValueError, match="split"):
        build_dataset(cfg, "val")
    with pytest.raises(ValueError, match="no RGB"):
        build_dataset(load_data_config("msr_action3d_lite", ["rgb=true"]), "train")


def test_ntu_configs_name_their_protocol():
    for protocol in ("ntu60_cs", "ntu60_cv", "ntu120_csub", "ntu120_cset"):
        cfg = load_data_config(protocol)
        assert (cfg.name, cfg.protocol, cfg.num_frames, cfg.sampling) == ("ntu", protocol, 23, "segment")


def test_ntu_factory_needs_a_cache(tmp_path):
    cfg = load_data_config("ntu60_cs", [f"root={tmp_path}"])
    with pytest.raises(FileNotFoundError, match="vg4d preprocess ntu"):
        build_dataset(cfg, "train")
