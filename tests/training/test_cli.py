"""`vg4d train` / `vg4d evaluate` end to end on synthetic data, on CPU.

A tiny im-PSTNet (two stages, 32 points, 8 frames) on 16 + 8 synthetic
videos: real model, real dataset, real CLI, a few seconds per run.
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from waiting import wait_for
from vg4d_core.cli import main as vg4d
from vg4d_core.runtime import checkpoint as ck
from vg4d_core.runtime.architecture import build_point_encoder as build_model

TINY = {
    "model": "lite",
    "model_overrides": {
        "points": 32, "frames": 8, "dropout": 0.2,
        "layers": [
            {"mid_channels": 8, "out_channels": 16, "radius_scale": 1, "temporal_kernel": 1, "spatial_stride": 2},
            {"mid_channels": 16, "out_channels": 32, "radius_scale": 2, "temporal_kernel": 3, "spatial_stride": 2,
             "temporal_stride": 2, "temporal_padding": [1, 0]},
        ],
    },
    "embed_dim": 8,
    "data": "synthetic",
    "data_overrides": {"num_frames": 8, "points_per_frame": 32, "rgb": False,
                       "synthetic": {"num_train": 16, "num_test": 8, "min_frames": 10, "max_frames": 12,
                                     "image_scale": 0.25}},
    "batch_size": 4, "eval_batch_size": 8, "workers": 0, "device": "cpu", "threads": 1, "progress": False,
    "optimizer": {"lr": 0.05, "weight_decay": 1e-4},
    "schedule": {"epochs": 1, "warmup_epochs": 0.5},
}
# BatchNorm off where a test compares runs of different batch splits; dropout off: per-rank streams
NO_NORM = ["model_overrides.spatial_norm=false", "model_overrides.temporal_norm=false", "model_overrides.dropout=0.0"]


@pytest.fixture
def recipe(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    return path


def _env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1")


def _weights(run: Path) -> dict:
    return ck.load_checkpoint(run / "last.pt")["model"]


def test_one_epoch_then_evaluate(tmp_path, recipe, capsys):
    run = tmp_path / "run"
    assert vg4d(["train", "--config", str(recipe), "--out", str(run)]) == 0
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml", "last.pt", "metrics.jsonl", "summary.json"]
    (rec,) = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    assert rec["epoch"] == 1 and rec["step"] == 4 and rec["test_videos"] == 8
    assert {"lr", "train_loss", "train_top1", "test_top1", "test_top5", "train_time_s"} <= set(rec)
    state = ck.load_checkpoint(run / "last.pt")
    assert state["arch"]["num_classes"] == 8 and state["arch"]["model_config"]["points"] == 32
    assert state["config"]["data"] == "synthetic" and state["data_config"]["synthetic"]["num_train"] == 16
    assert state["train_command"].startswith("vg4d train --config")
    assert set(state["optimizer"]) == {"state", "param_groups"} and state["scheduler"]["last_epoch"] == 4

    out = tmp_path / "eval"
    assert vg4d(["evaluate", "--checkpoint", str(run / "last.pt"), "--out", str(out), "--no-progress"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    # the same model on the same test split as the training log's evaluation
    assert m["top1"] == pytest.approx(rec["test_top1"]) and m["top5"] == pytest.approx(rec["test_top5"])
    assert m["num_videos"] == 8 and len(m["per_class"]) == 8 and len(m["confusion"]) == 8
    assert sum(map(sum, m["confusion"])) == 8
    assert m["selection"] == "final epoch" and m["training"]["headline"]["epoch"] == 1
    assert "TEST set" in m["training"]["best_on_test"]["note"]
    assert m["command"].startswith("vg4d evaluate --checkpoint") and "hardware" in m and "commit" in m
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "NOT the headline" in printed


def test_resume_after_sigkill_matches_uninterrupted(tmp_path, recipe):
    epochs = ["schedule.epochs=8"]
    full = tmp_path / "full"
    assert vg4d(["train", "--config", str(recipe), "--out", str(full), *epochs]) == 0

    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "vg4d_core.cli", "train", "--config", str(recipe), "--out", str(killed), *epochs]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = killed / "metrics.jsonl"
    try:
        # kill -9 as soon as epoch 2 is logged: last.pt then holds epoch 1 or 2,
        # possibly with epoch 2's save cut short half way
        wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= 2, proc, "epoch 2 was logged")
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = ck.load_checkpoint(killed / "last.pt")["epoch"]
    assert 1 <= done < 8

    # resume with no recipe: the checkpoint carries it
    assert vg4d(["train", "--out", str(killed), "--resume"]) == 0
    a, b = _weights(full), _weights(killed)
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] - b[k]).abs().max().item() == 0, (k, (a[k] - b[k]).abs().max().item())
    strip = lambda s: {k: v for k, v in json.loads(s).items() if not k.endswith("_s")}  # timings differ
    assert [strip(s) for s in (full / "metrics.jsonl").read_text().splitlines()] == \
           [strip(s) for s in log.read_text().splitlines()]


@pytest.mark.parametrize("batchnorm", [False, True], ids=["no_norm", "sync_batchnorm"])
def test_ddp_two_gloo_processes_match_one_process(tmp_path, recipe, batchnorm):
    # with BatchNorm on (sync_batchnorm: true by default) the global-batch statistics make
    # the two processes equal one process on the whole batch, the fused BatchNorm+ReLU+max included
    norm = ["model_overrides.dropout=0.0"] if batchnorm else NO_NORM
    over = ["schedule.epochs=2", "batch_size=8", "eval_batch_size=4", *norm]
    single = tmp_path / "single"
    assert vg4d(["train", "--config", str(recipe), "--out", str(single), *over]) == 0

    ddp = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc_per_node", "2",
           "-m", "vg4d_core.training.cli", "--config", str(recipe), "--out", str(ddp), *over]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    state = ck.load_checkpoint(ddp / "last.pt")
    assert state["train_hardware"]["processes"] == 2 and len(state["rng"]) == 2 and state["step"] == 4
    ref = _weights(single)
    for k, v in ref.items():
        torch.testing.assert_close(state["model"][k], v, rtol=1e-4, atol=1e-5, msg=k)
    # and training did move them: the comparison is not between two untouched models
    torch.manual_seed(0)  # the CLI seeds with the recipe's seed (0) before building the model
    init = build_model(state["arch"]).state_dict()
    assert max((init[k] - v).abs().max().item() for k, v in ref.items() if v.is_floating_point()) > 1e-3
    a = [json.loads(s) for s in (single / "metrics.jsonl").read_text().splitlines()]
    b = [json.loads(s) for s in (ddp / "metrics.jsonl").read_text().splitlines()]
    for ra, rb in zip(a, b, strict=True):
        assert rb["train_loss"] == pytest.approx(ra["train_loss"], rel=1e-4)
        assert rb["test_videos"] == ra["test_videos"] == 8
    # only rank 0 wrote
    assert sorted(p.name for p in ddp.iterdir()) == ["config.yaml", "last.pt", "metrics.jsonl", "summary.json"]


def test_cli_errors_are_clear(tmp_path, recipe, capsys):
    assert vg4d(["train", "--config", str(recipe), "--out", str(tmp_path / "r"), "optimizer.lrr=0.1"]) == 2
    assert "unknown key(s) ['lrr']" in capsys.readouterr().err
    assert vg4d(["train", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "not found" in capsys.readouterr().err
    assert vg4d(["train", "--out", str(tmp_path / "nothing"), "--resume"]) == 2
    assert "checkpoint not found" in capsys.readouterr().err

    run = tmp_path / "run"
    assert vg4d(["train", "--config", str(recipe), "--out", str(run)]) == 0
    capsys.readouterr()
    # a finished run is never overwritten by accident
    assert vg4d(["train", "--config", str(recipe), "--out", str(run)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    # resuming into a different architecture is refused, naming every difference
    assert vg4d(["train", "--config", str(recipe), "--out", str(run), "--resume", "embed_dim=16",
                 "model_overrides.neighbours=4"]) == 2
    err = capsys.readouterr().err
    assert "embed_dim: 8 in checkpoint, 16 now" in err and "model_config.neighbours: 9 in checkpoint, 4 now" in err
    assert vg4d(["evaluate", "--checkpoint", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "e")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_a_pretrain_run_fine_tunes_from_pretrained_weights(tmp_path, recipe, capsys):
    """`pretrained` in a pretrain recipe: the run starts from that run's weights (a fine-tune, e.g. with
    augment.temporal_crop_min), records it, and refuses a checkpoint of another architecture or none."""
    assert vg4d(["train", "--config", str(recipe), "--out", str(tmp_path / "base")]) == 0
    base = _weights(tmp_path / "base")
    learned = [n for n, v in base.items() if v.dtype.is_floating_point and "running" not in n]
    # a vanishing learning rate: the fine-tune's weights are the base run's (to rounding)
    tiny_lr = ["optimizer.lr=1e-12", "optimizer.weight_decay=0"]
    assert vg4d(["train", "--config", str(recipe), "--out", str(tmp_path / "tuned"),
                 f"pretrained={tmp_path / 'base' / 'last.pt'}", *tiny_lr,
                 "data_overrides.augment.temporal_crop_min=0.5"]) == 0
    tuned = ck.load_checkpoint(tmp_path / "tuned" / "last.pt")
    for name in learned:
        torch.testing.assert_close(tuned["model"][name], base[name], rtol=0, atol=1e-6)
    assert tuned["pretrained"] == str((tmp_path / "base" / "last.pt").resolve())
    # without `pretrained` the same recipe starts from its own initialisation
    assert vg4d(["train", "--config", str(recipe), "--out", str(tmp_path / "fresh"), *tiny_lr, "seed=1"]) == 0
    fresh = _weights(tmp_path / "fresh")
    assert max(float((fresh[n] - base[n]).abs().max()) for n in learned) > 1e-3
    capsys.readouterr()
    assert vg4d(["train", "--config", str(recipe), "--out", str(tmp_path / "other"),
                 f"pretrained={tmp_path / 'base' / 'last.pt'}", "embed_dim=16"]) != 0
    assert "last.pt" in capsys.readouterr().err
    assert vg4d(["train", "--config", str(recipe), "--out", str(tmp_path / "none"),
                 f"pretrained={tmp_path / 'missing.pt'}"]) != 0
    assert "checkpoint not found" in capsys.readouterr().err
