"""DDP with two gloo processes equals one process on the same global batch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from training_standins import TinyNet, ToyActions, tiny_arch
from vg4d_core.config import from_dict
from vg4d_core.training import checkpoint as ck
from vg4d_core.training.config import TrainConfig
from vg4d_core.training.loop import fit

HERE = Path(__file__).resolve().parent


def ddp_cfg() -> TrainConfig:
    # global batch 8: one process takes 8, or two take 4 each
    return from_dict(TrainConfig, dict(batch_size=8, eval_batch_size=4, workers=0, progress=False, device="cpu",
                                       seed=1, optimizer={"lr": 0.05, "weight_decay": 1e-3},
                                       schedule={"epochs": 2, "warmup_epochs": 0.5}))


def torchrun(script: Path, nproc: int, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
           "--nproc_per_node", str(nproc), str(script), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_two_gloo_processes_match_single_process(tmp_path):
    torch.manual_seed(0)
    single = TinyNet(4)
    fit(ddp_cfg(), tmp_path / "single", model=single, train_set=ToyActions(videos=16, num_classes=4),
        test_set=ToyActions(videos=6, num_classes=4, clips_per_video=2), arch=tiny_arch(4))

    proc = torchrun(HERE / "ddp_worker.py", 2, str(tmp_path / "ddp"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    state = ck.load_checkpoint(tmp_path / "ddp" / "last.pt")
    assert state["epoch"] == 2 and state["step"] == 4 and len(state["rng"]) == 2
    for k, v in single.state_dict().items():
        torch.testing.assert_close(state["model"][k], v, rtol=1e-5, atol=1e-6, msg=k)
    # training did move the weights (the comparison is not between two untouched models)
    torch.manual_seed(0)
    init = TinyNet(4).state_dict()
    assert any((init[k] - v).abs().max() > 1e-3 for k, v in single.state_dict().items())
    # same evaluation and training metrics from both runs
    a = [json.loads(s) for s in (tmp_path / "single" / "metrics.jsonl").read_text().splitlines()]
    b = [json.loads(s) for s in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    for ra, rb in zip(a, b, strict=True):
        assert abs(ra["train_loss"] - rb["train_loss"]) < 1e-5
        assert ra["test_top1"] == rb["test_top1"] and ra["test_videos"] == rb["test_videos"] == 6
    # only rank 0 wrote files
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == ["last.pt", "metrics.jsonl", "summary.json"]
