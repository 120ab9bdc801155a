"""`vg4d_core.vlm.tiny`: the architecture knobs land in the written config, bad ones are refused."""
import json

import pytest

from vg4d_core.vlm.tiny import main, write_tiny_xclip


def test_defaults_are_the_test_model(tmp_path):
    cfg = json.loads((write_tiny_xclip(tmp_path / "m") / "config.json").read_text())
    v, t = cfg["vision_config"], cfg["text_config"]
    assert (v["image_size"], v["patch_size"], v["hidden_size"], v["num_hidden_layers"], v["num_frames"]) == (32, 16, 32, 2, 4)
    assert (t["hidden_size"], t["intermediate_size"], cfg["projection_dim"]) == (32, 64, 16)


def test_patch_width_layers_reach_both_towers(tmp_path):
    out = write_tiny_xclip(tmp_path / "m", image=24, patch=8, width=48, layers=1, dim=8, frames=2)
    cfg = json.loads((out / "config.json").read_text())
    v, t = cfg["vision_config"], cfg["text_config"]
    assert (v["image_size"], v["patch_size"], v["hidden_size"], v["intermediate_size"]) == (24, 8, 48, 96)
    assert (v["num_hidden_layers"], t["num_hidden_layers"], t["hidden_size"]) == (1, 1, 48)
    assert (v["mit_hidden_size"], cfg["projection_dim"], v["num_frames"]) == (8, 8, 2)
    pre = json.loads((out / "preprocessor_config.json").read_text())
    assert pre["crop_size"] == {"height": 24, "width": 24}


@pytest.mark.parametrize("kw, msg", [(dict(image=64, patch=12), "multiple of the patch size 12"),
                                     (dict(width=33), "even"), (dict(layers=0), "layers must be >= 1")])
def test_bad_sizes_are_refused(tmp_path, kw, msg):
    with pytest.raises(ValueError, match=msg):
        write_tiny_xclip(tmp_path / "m", **kw)


def test_cli_reports_bad_sizes(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(tmp_path / "m"), "--image", "40", "--patch", "16"])
    assert e.value.code == 2 and "multiple of the patch size 16" in capsys.readouterr().err
