"""`vg4d evaluate` options and refusals, through the CLI, on one tiny trained checkpoint."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from test_cli import TINY
from vg4d_core.cli import main as vg4d
from vg4d_core.runtime import checkpoint as ck


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A one-epoch tiny run (16 train / 8 test synthetic videos, 8 classes); returns its last.pt."""
    root = tmp_path_factory.mktemp("evaluate")
    recipe = root / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    assert vg4d(["train", "--config", str(recipe), "--out", str(root / "run")]) == 0
    return root / "run" / "last.pt"


def _edited(trained: Path, tmp_path: Path, edit) -> Path:
    state = ck.load_checkpoint(trained)
    edit(state)
    return ck.atomic_save(state, tmp_path / "edited.pt")


def _evaluate(ckpt: Path, out: Path, *extra: str) -> int:
    return vg4d(["evaluate", "--checkpoint", str(ckpt), "--out", str(out), "--no-progress", *extra])


def _metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def test_split_and_overrides_choose_what_is_scored(trained, tmp_path):
    assert _evaluate(trained, tmp_path / "train", "--split", "train") == 0
    m = _metrics(tmp_path / "train")
    assert m["split"] == "train" and m["num_videos"] == 16
    assert _evaluate(trained, tmp_path / "few", "synthetic.num_test=3", "--batch-size", "2") == 0
    m = _metrics(tmp_path / "few")
    assert m["split"] == "test" and m["num_videos"] == 3 and m["data_config"]["synthetic"]["num_test"] == 3
    assert sum(map(sum, m["confusion"])) == 3


def test_data_option_replaces_the_checkpoints_data_config(trained, tmp_path):
    data = dict(ck.load_checkpoint(trained)["data_config"])
    data["synthetic"] = {**data["synthetic"], "num_test": 5}
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert _evaluate(trained, tmp_path / "e", "--data", str(path)) == 0
    assert _metrics(tmp_path / "e")["num_videos"] == 5


def test_checkpoint_without_data_config_needs_data(trained, tmp_path, capsys):
    ckpt = _edited(trained, tmp_path, lambda s: s.pop("data_config"))
    assert _evaluate(ckpt, tmp_path / "e") == 2
    assert "carries no data config; pass --data" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_bad_batch_size_is_refused(trained, tmp_path, capsys):
    assert _evaluate(trained, tmp_path / "e", "--batch-size", "-2") == 2
    assert "--batch-size must be >= 1, got -2" in capsys.readouterr().err


def test_other_class_count_is_refused(trained, tmp_path, capsys):
    def more_classes(state):
        state["arch"]["num_classes"] = 9
        state["class_names"] = [*state["class_names"], "extra"]

    assert _evaluate(_edited(trained, tmp_path, more_classes), tmp_path / "e") == 2
    assert "the test split has 8 classes but the checkpoint was trained for 9" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_same_count_other_class_names_is_refused(trained, tmp_path, capsys):
    names = list(ck.load_checkpoint(trained)["class_names"])
    assert len(names) == 8

    def renamed(state):
        state["class_names"][2] = "juggling"

    assert _evaluate(_edited(trained, tmp_path, renamed), tmp_path / "e") == 2
    err = capsys.readouterr().err
    assert "class names differ" in err and f"class 2: 'juggling' in the checkpoint, {names[2]!r} in the data" in err
    assert not (tmp_path / "e").exists()


def test_non_final_checkpoint_is_labelled_with_its_epoch(trained, tmp_path):
    def planned_three(state):
        state["config"]["schedule"]["epochs"] = 3

    assert _evaluate(_edited(trained, tmp_path, planned_three), tmp_path / "e") == 0
    m = _metrics(tmp_path / "e")
    assert m["epoch"] == 1 and m["selection"] == "checkpoint after epoch 1 of 3"
