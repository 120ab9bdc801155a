"""The training loop on stand-ins: overfitting, logging, exact resume, arch checks."""
import json
import math

import pytest
import torch

from training_standins import TinyNet, ToyActions, fit_tiny, tiny_arch
from vg4d_core.runtime import checkpoint as ck
from vg4d_core.training.config import TrainConfig
from vg4d_core.runtime.metrics import BEST_ON_TEST_NOTE


def small_cfg(**kw) -> TrainConfig:
    base = dict(batch_size=4, eval_batch_size=8, workers=0, progress=False, device="cpu", seed=3,
                optimizer={"lr": 0.1, "weight_decay": 1e-4}, schedule={"epochs": 4, "warmup_epochs": 1})
    base.update(kw)
    from vg4d_core.config import from_dict

    return from_dict(TrainConfig, base)


def params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_tiny_model_overfits_tiny_set(tmp_path):
    torch.manual_seed(0)
    data = ToyActions(videos=8, num_classes=4, noise=0.1)  # 2 steps of 4 per epoch
    cfg = small_cfg(schedule={"epochs": 15, "warmup_epochs": 1}, eval_every=15)
    summary = fit_tiny(cfg, tmp_path, model=TinyNet(4), train_set=data, test_set=ToyActions(videos=8, num_classes=4),
                  arch=tiny_arch(4))
    lines = [json.loads(s) for s in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 15 and [r["epoch"] for r in lines] == list(range(1, 16))
    assert lines[-1]["train_top1"] == 100.0 and lines[-1]["train_loss"] < 0.1 < lines[0]["train_loss"]
    assert summary["headline"] == {"selection": "final epoch", "epoch": 15, "top1": 100.0,
                                   "top5": 100.0}
    assert "test_top1" not in lines[0]  # eval_every=15: only the last epoch is evaluated


def test_headline_is_final_epoch_and_best_is_labelled(tmp_path):
    data = ToyActions(videos=8, num_classes=4)
    test = ToyActions(videos=6, num_classes=4, clips_per_video=3, seed=7)
    cfg = small_cfg(schedule={"epochs": 3, "warmup_epochs": 0})
    summary = fit_tiny(cfg, tmp_path, model=TinyNet(4), train_set=data, test_set=test, arch=tiny_arch(4))
    hist = [json.loads(s) for s in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all(r["test_videos"] == 6 for r in hist)  # 18 clips pooled into 6 videos
    assert summary["headline"]["epoch"] == 3 and summary["headline"]["top1"] == hist[-1]["test_top1"]
    best = max(hist, key=lambda r: r["test_top1"])
    assert summary["best_on_test"]["top1"] == best["test_top1"]
    assert summary["best_on_test"]["note"] == BEST_ON_TEST_NOTE
    assert json.loads((tmp_path / "summary.json").read_text())["headline"] == summary["headline"]
    state = ck.load_checkpoint(tmp_path / "last.pt")
    assert state["epoch"] == 3 and state["config"]["batch_size"] == 4 and len(state["history"]) == 3


def test_resume_after_kill_matches_uninterrupted(tmp_path):
    cfg = small_cfg(schedule={"epochs": 4, "warmup_epochs": 1})

    def run(run_dir, fail_at=-1, resume=None):
        torch.manual_seed(123)  # same initial weights in every run
        model = TinyNet(4, dropout=0.2)  # dropout: the RNG state must be restored too
        train = ToyActions(videos=12, num_classes=4, fail_at_epoch=fail_at)
        fit_tiny(cfg, run_dir, model=model, train_set=train, test_set=ToyActions(videos=4, num_classes=4),
            arch=tiny_arch(4), resume=resume)
        return model

    full = params(run(tmp_path / "full"))
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "killed", fail_at=2)  # dies when epoch 3 starts
    assert ck.load_checkpoint(tmp_path / "killed" / "last.pt")["epoch"] == 2
    resumed = params(run(tmp_path / "killed", resume=tmp_path / "killed" / "last.pt"))
    for k in full:
        assert torch.equal(full[k], resumed[k]), k
    a = (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()
    b = (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    drop_time = lambda s: {k: v for k, v in json.loads(s).items() if not k.endswith("_s")}  # timings differ
    assert [drop_time(s) for s in a] == [drop_time(s) for s in b]


def test_resume_refuses_other_class_count(tmp_path):
    cfg = small_cfg(schedule={"epochs": 1, "warmup_epochs": 0})
    fit_tiny(cfg, tmp_path, model=TinyNet(4), train_set=ToyActions(num_classes=4),
        test_set=ToyActions(videos=4, num_classes=4), arch=tiny_arch(4))
    with pytest.raises(ck.CheckpointError, match="num_classes: 4 in checkpoint, 5 now"):
        fit_tiny(cfg, tmp_path, model=TinyNet(5), train_set=ToyActions(num_classes=5),
            test_set=ToyActions(videos=5, num_classes=5), arch=tiny_arch(5), resume=tmp_path / "last.pt")


class DtypeSpy(TinyNet):
    """TinyNet that records the dtype of the logits of its training-mode forwards."""

    seen: list

    def forward(self, xyz):
        out = super().forward(xyz)
        if self.training:
            self.seen.append(out["logits"].dtype)
        return out


def test_bf16_autocast_when_asked_and_fp32_by_default_on_cpu(tmp_path):
    data = ToyActions(videos=8, num_classes=4)
    losses = {}
    for amp, expected in (("bf16", torch.bfloat16), ("auto", torch.float32)):
        torch.manual_seed(0)  # the same initial weights for both runs
        model = DtypeSpy(4)
        model.seen = []
        cfg = small_cfg(amp=amp, schedule={"epochs": 1, "warmup_epochs": 0})
        fit_tiny(cfg, tmp_path / amp, model=model, train_set=data, test_set=ToyActions(videos=4, num_classes=4),
            arch=tiny_arch(4))
        assert set(model.seen) == {expected}, amp
        assert model.head.weight.dtype == torch.float32  # autocast never changes the stored weights
        rec = json.loads((tmp_path / amp / "metrics.jsonl").read_text())
        losses[amp] = rec["train_loss"]
    # same start, same batches: bf16 autocast rounds (8-bit mantissa) but trains the same model
    assert math.isfinite(losses["bf16"]) and math.isfinite(losses["auto"])
    assert losses["bf16"] != losses["auto"]  # bf16 did round something
    assert losses["bf16"] == pytest.approx(losses["auto"], rel=0.02)


@pytest.mark.cuda
def test_one_epoch_on_cuda_in_bf16(tmp_path):
    model = DtypeSpy(4)
    model.seen = []
    cfg = small_cfg(device="cuda", schedule={"epochs": 1, "warmup_epochs": 0})
    fit_tiny(cfg, tmp_path, model=model, train_set=ToyActions(videos=8, num_classes=4),
        test_set=ToyActions(videos=4, num_classes=4), arch=tiny_arch(4))
    assert set(model.seen) == {torch.bfloat16}  # amp "auto" is bf16 on CUDA
    cpu_model = TinyNet(4)
    cpu_model.load_state_dict(ck.load_checkpoint(tmp_path / "last.pt")["model"])  # loads on a CPU machine
