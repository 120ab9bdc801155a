"""Recipe options of the training loop on stand-ins: grad_clip, label_smoothing, ckpt_every,
amp=off, the non-finite-loss error, and the device choice."""
from __future__ import annotations

import json

import pytest
import torch

from training_standins import TinyNet, ToyActions, fit_tiny, tiny_arch
from vg4d_core.config import from_dict
from vg4d_core.runtime import checkpoint as ck
from vg4d_core.runtime.collate import collate_clips
from vg4d_core.runtime.device import amp_dtype_for, pick_device
from vg4d_core.training.config import TrainConfig


def cfg_of(**kw) -> TrainConfig:
    base = dict(batch_size=4, eval_batch_size=8, workers=0, progress=False, device="cpu", seed=3,
                optimizer={"lr": 0.1, "weight_decay": 0.0, "momentum": 0.9},
                schedule={"epochs": 1, "warmup_epochs": 0})
    base.update(kw)
    return from_dict(TrainConfig, base)


def _run(tmp_path, cfg, model=None, videos=8):
    torch.manual_seed(0)
    model = model if model is not None else TinyNet(4)
    start = {k: v.detach().clone() for k, v in model.state_dict().items()}
    fit_tiny(cfg, tmp_path, model=model, train_set=ToyActions(videos=videos, num_classes=4),
        test_set=ToyActions(videos=4, num_classes=4), arch=tiny_arch(4))
    moved = torch.cat([(model.state_dict()[k] - v).flatten() for k, v in start.items()]).norm().item()
    return model, moved


def test_grad_clip_bounds_every_step(tmp_path):
    # SGD, momentum 0.9, no weight decay: a step moves the weights by lr * |v|, |v| <= clip / (1 - 0.9);
    # 2 steps of lr <= 0.1: total movement <= 2 * 0.1 * 10 * clip
    clip = 1e-4
    _, clipped = _run(tmp_path / "clip", cfg_of(grad_clip=clip))
    assert 0 < clipped <= 2 * 0.1 * 10 * clip * (1 + 1e-6)
    _, free = _run(tmp_path / "free", cfg_of(grad_clip=0.0))
    assert free > 100 * clipped  # without the clip the same steps go much further


def test_label_smoothing_is_the_smoothed_cross_entropy(tmp_path):
    eps = 0.3
    torch.manual_seed(0)
    model = TinyNet(4)
    data = ToyActions(videos=8, num_classes=4)
    batch = collate_clips([data[i] for i in range(len(data))])
    with torch.no_grad():
        logp = torch.log_softmax(model(batch["points"])["logits"], dim=1)  # (8, 4)
    y = batch["label"]
    # by hand: (1 - eps) * NLL + eps * mean over the 4 classes of -log p
    expected = ((1 - eps) * -logp[torch.arange(8), y] + eps * -logp.mean(dim=1)).mean().item()
    plain = (-logp[torch.arange(8), y]).mean().item()
    # a learning rate too small to move the weights within the epoch: the logged loss is the initial one
    cfg = cfg_of(label_smoothing=eps, optimizer={"lr": 1e-12, "weight_decay": 0.0})
    fit_tiny(cfg, tmp_path, model=model, train_set=data, test_set=ToyActions(videos=4, num_classes=4), arch=tiny_arch(4))
    rec = json.loads((tmp_path / "metrics.jsonl").read_text())
    assert rec["train_loss"] == pytest.approx(expected, rel=1e-5)
    assert abs(expected - plain) > 1e-3  # the smoothing term is visible at this tolerance


def test_ckpt_every_keeps_those_epochs(tmp_path):
    _run(tmp_path, cfg_of(ckpt_every=2, schedule={"epochs": 5, "warmup_epochs": 0}))
    kept = sorted(p.name for p in tmp_path.glob("epoch_*.pt"))
    assert kept == ["epoch_0002.pt", "epoch_0004.pt"]
    assert [ck.load_checkpoint(tmp_path / n)["epoch"] for n in kept] == [2, 4]
    assert ck.load_checkpoint(tmp_path / "last.pt")["epoch"] == 5


class _DtypeSpy(TinyNet):
    def forward(self, xyz):
        out = super().forward(xyz)
        if self.training:
            self.seen.append(out["logits"].dtype)
        return out


def test_amp_off_trains_in_float32(tmp_path):
    torch.manual_seed(0)
    model = _DtypeSpy(4)
    model.seen = []
    _run(tmp_path, cfg_of(amp="off"), model=model)
    assert model.seen and set(model.seen) == {torch.float32}
    # and "off" is off on a GPU too (the resolution, without needing one)
    assert amp_dtype_for("off", torch.device("cuda")) is None
    assert amp_dtype_for("auto", torch.device("cuda")) is torch.bfloat16
    with pytest.raises(ValueError, match=r"amp must be one of \['auto', 'bf16', 'off'\], got 'fp16'"):
        amp_dtype_for("fp16", torch.device("cpu"))


class _NaNNet(TinyNet):
    def forward(self, xyz):
        out = super().forward(xyz)
        return {**out, "logits": out["logits"] * float("nan")}


def test_non_finite_loss_stops_with_a_clear_error(tmp_path):
    with pytest.raises(FloatingPointError, match="training loss is nan in epoch 1; lower optimizer.lr"):
        _run(tmp_path, cfg_of(), model=_NaNNet(4))
    assert not (tmp_path / "last.pt").exists()  # nothing non-finite is checkpointed


def test_cuda_without_a_gpu_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device 'cuda' requested but torch.cuda.is_available\\(\\) is False"):
        pick_device("cuda")
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"device must be one of \['auto', 'cpu', 'cuda'\], got 'gpu'"):
        pick_device("gpu")


def test_threads_zero_restores_the_process_default_after_a_stage_that_set_one(tmp_path):
    # vg4d demo runs its stages in one process: a one-thread stage must not leave the next on one thread
    from vg4d_core.training import loop
    before = torch.get_num_threads()
    try:
        _run(tmp_path / "one", cfg_of(threads=1))
        assert torch.get_num_threads() == 1
        _run(tmp_path / "default", cfg_of(threads=0))
        assert torch.get_num_threads() == loop._DEFAULT_THREADS
    finally:
        torch.set_num_threads(before)


def test_a_loader_process_kept_across_epochs_trains_the_same_weights(tmp_path):
    # items are drawn per (seed, epoch, index): one persistent loader process gives what the main process gives
    runs = {}
    for workers in (0, 1):
        model, _ = _run(tmp_path / f"w{workers}", cfg_of(workers=workers, schedule={"epochs": 2, "warmup_epochs": 0}))
        runs[workers] = model.state_dict()
    for k, v in runs[0].items():
        assert torch.equal(v, runs[1][k]), k


def test_with_dropout_the_training_path_does_not_depend_on_loader_processes(tmp_path):
    # dropout draws from torch's global generator, as a loader does once per new iterator: a persistent
    # loader process makes its iterator once, and the loop must make up the draws of the later epochs
    runs = {}
    for workers in (0, 1):
        torch.manual_seed(0)
        dropped = TinyNet(4, dropout=0.5)
        model, _ = _run(tmp_path / f"w{workers}", cfg_of(workers=workers, schedule={"epochs": 3, "warmup_epochs": 0}),
                        model=dropped)
        runs[workers] = model.state_dict()
    for k, v in runs[0].items():
        assert torch.equal(v, runs[1][k]), k
