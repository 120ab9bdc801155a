"""`vg4d train` run-directory options: --resume (with and without --config), --resume-from,
--overwrite, --print-config, a changed recipe, a finished run, another world size."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from test_cli import NO_NORM, TINY
from vg4d_core.cli import main as vg4d
from vg4d_core.runtime import checkpoint as ck

TIMEOUT_S = 600  # guards a hung process group; not a speed claim


@pytest.fixture
def recipe(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    return path


def _epochs(run: Path) -> list[dict]:
    return [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]


def _one_epoch(recipe: Path, run: Path, *over: str) -> dict:
    assert vg4d(["train", "--config", str(recipe), "--out", str(run), *over]) == 0
    return ck.load_checkpoint(run / "last.pt")


def test_resume_without_config_applies_the_overrides(tmp_path, recipe, capsys):
    run = tmp_path / "run"
    _one_epoch(recipe, run)
    capsys.readouterr()
    # no --config: the checkpoint's recipe, plus these overrides (one more epoch)
    assert vg4d(["train", "--out", str(run), "--resume", "schedule.epochs=2"]) == 0
    out = capsys.readouterr().out
    assert "resuming with a changed recipe" in out and "schedule.epochs" in out
    state = ck.load_checkpoint(run / "last.pt")
    assert state["epoch"] == 2 and state["step"] == 8 and state["config"]["schedule"]["epochs"] == 2
    assert [r["epoch"] for r in _epochs(run)] == [1, 2]


def test_resume_with_another_batch_size_continues_with_it(tmp_path, recipe):
    run = tmp_path / "run"
    _one_epoch(recipe, run)  # 16 videos / batch 4: 4 steps
    assert vg4d(["train", "--config", str(recipe), "--out", str(run), "--resume", "schedule.epochs=3",
                 "batch_size=8"]) == 0
    state = ck.load_checkpoint(run / "last.pt")
    assert state["epoch"] == 3 and state["step"] == 4 + 2 + 2 and state["config"]["batch_size"] == 8
    assert [(r["epoch"], r["step"]) for r in _epochs(run)] == [(1, 4), (2, 6), (3, 8)]


def test_resuming_a_finished_run_trains_nothing(tmp_path, recipe):
    run = tmp_path / "run"
    before = _one_epoch(recipe, run)
    log = (run / "metrics.jsonl").read_text()
    assert vg4d(["train", "--config", str(recipe), "--out", str(run), "--resume"]) == 0
    after = ck.load_checkpoint(run / "last.pt")
    assert after["epoch"] == 1 and after["step"] == 4
    for k, v in before["model"].items():
        assert torch.equal(after["model"][k], v), k
    assert (run / "metrics.jsonl").read_text() == log
    assert json.loads((run / "summary.json").read_text())["headline"]["epoch"] == 1


def test_resume_from_another_checkpoint_file(tmp_path, recipe):
    src = tmp_path / "src"
    first = _one_epoch(recipe, src)
    dst = tmp_path / "dst"
    assert vg4d(["train", "--out", str(dst), "--resume-from", str(src / "last.pt"), "schedule.epochs=2"]) == 0
    state = ck.load_checkpoint(dst / "last.pt")
    assert state["epoch"] == 2 and [r["epoch"] for r in _epochs(dst)] == [1, 2]
    assert _epochs(dst)[0] == first["history"][0]  # the first epoch's record carried over, not retrained
    assert ck.load_checkpoint(src / "last.pt")["epoch"] == 1  # the source run is left alone


def test_overwrite_starts_afresh(tmp_path, recipe, capsys):
    run = tmp_path / "run"
    _one_epoch(recipe, run)
    assert vg4d(["train", "--config", str(recipe), "--out", str(run), "schedule.epochs=2"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert vg4d(["train", "--config", str(recipe), "--out", str(run), "--overwrite", "seed=3"]) == 0
    state = ck.load_checkpoint(run / "last.pt")
    assert state["epoch"] == 1 and state["config"]["seed"] == 3
    assert [r["epoch"] for r in _epochs(run)] == [1]


def test_print_config_prints_the_resolved_recipe_and_trains_nothing(tmp_path, recipe, capsys):
    run = tmp_path / "run"
    assert vg4d(["train", "--config", str(recipe), "--out", str(run), "--print-config", "optimizer.lr=0.125",
                 "schedule.epochs=7"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["optimizer"]["lr"] == 0.125 and printed["schedule"]["epochs"] == 7
    assert printed["model"] == "lite" and printed["model_overrides"]["points"] == 32
    assert not run.exists()


def test_resume_with_another_world_size(tmp_path, recipe):
    run = tmp_path / "run"
    _one_epoch(recipe, run, *NO_NORM, "batch_size=8")  # one process: 2 steps
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc_per_node", "2",
           "-m", "vg4d_core.training.cli", "--out", str(run), "--resume", "schedule.epochs=2"]
    proc = subprocess.run(cmd, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    state = ck.load_checkpoint(run / "last.pt")
    assert state["epoch"] == 2 and state["step"] == 4
    assert state["train_hardware"]["processes"] == 2 and len(state["rng"]) == 2
    assert [r["epoch"] for r in _epochs(run)] == [1, 2]
