"""Learning-rate schedule, optimizer groups, checkpoint I/O and the global-batch sampler."""
import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from vg4d_core.runtime import checkpoint as ck
from vg4d_core.training import rng as rng_io
from vg4d_core.training.config import OptimizerConfig, ScheduleConfig
from vg4d_core.runtime.distributed import DistEnv, shard
from vg4d_core.training.distributed import GlobalBatchSampler
from vg4d_core.training.optim import build_optimizer, build_scheduler, lr_at


def test_lr_warmup_then_cosine():
    kw = dict(total_steps=110, warmup_steps=10, base_lr=0.1, min_lr=0.001, warmup_start_factor=0.0)
    assert lr_at(0, **kw) == 0.0
    assert lr_at(5, **kw) == pytest.approx(0.05)
    assert lr_at(10, **kw) == pytest.approx(0.1)  # peak right after warmup
    mid = 10 + (100 - 1) / 2
    assert lr_at(int(mid), **kw) == pytest.approx(0.001 + 0.5 * 0.099 * (1 + math.cos(math.pi * int(mid - 10) / 99)))
    assert lr_at(109, **kw) == pytest.approx(0.001)  # last step reaches min_lr
    lrs = [lr_at(s, **kw) for s in range(10, 110)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))  # monotone decay
    with pytest.raises(ValueError, match="warmup_steps"):
        lr_at(0, total_steps=5, warmup_steps=6, base_lr=0.1)


def test_scheduler_follows_lr_at_per_step():
    model = nn.Linear(3, 2)
    opt_cfg = OptimizerConfig(lr=0.05, weight_decay=0.0)
    sched_cfg = ScheduleConfig(epochs=3, warmup_epochs=1, warmup_start_factor=0.1, min_lr=0.0)
    opt = build_optimizer(model, opt_cfg)
    sched = build_scheduler(opt, opt_cfg, sched_cfg, steps_per_epoch=4)
    seen = []
    for _ in range(12):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [lr_at(s, total_steps=12, warmup_steps=4, base_lr=0.05, warmup_start_factor=0.1) for s in range(12)]
    np.testing.assert_allclose(seen, expected)
    assert seen[0] == pytest.approx(0.005) and seen[4] == pytest.approx(0.05) and seen[-1] == pytest.approx(0.0)


def test_weight_decay_groups_skip_bias_norm_and_frozen():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model[2].weight.requires_grad_(False)
    opt = build_optimizer(model, OptimizerConfig(weight_decay=0.1))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert [p.shape for p in decay["params"]] == [torch.Size([4, 3])]
    assert len(no_decay["params"]) == 4  # bias, bn weight, bn bias, last bias
    assert all(p.requires_grad for g in opt.param_groups for p in g["params"])


def test_config_validation_errors():
    from vg4d_core.config import ConfigError

    with pytest.raises(ConfigError, match="optimizer.lr"):
        OptimizerConfig(lr=0)
    with pytest.raises(ConfigError, match="warmup_epochs"):
        ScheduleConfig(epochs=5, warmup_epochs=6)


def test_atomic_save_never_leaves_partial_file(tmp_path):
    path = tmp_path / "last.pt"
    ck.atomic_save({"format": ck.FORMAT, "a": torch.arange(3)}, path)

    class Boom:
        def __reduce__(self):
            raise RuntimeError("serialisation failed half way")

    with pytest.raises(RuntimeError, match="half way"):
        ck.atomic_save({"format": ck.FORMAT, "a": torch.zeros(1000), "b": Boom()}, path)
    # the previous checkpoint is intact and no temporary file is left behind
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(ck.CheckpointError, match="not found"):
        ck.load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ck.CheckpointError, match="is a text file, not a checkpoint"):
        ck.load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ck.CheckpointError, match="not a vg4d training checkpoint"):
        ck.load_checkpoint(tmp_path / "other.pt")


def test_check_arch_names_the_differences():
    a = {"model": "IMPSTNet", "num_classes": 20, "model_config": {"radius": 0.5, "layers": [1, 2]}}
    ck.check_arch(a, {"model": "IMPSTNet", "num_classes": 20, "model_config": {"radius": 0.5, "layers": (1, 2)}})
    with pytest.raises(ck.CheckpointError) as err:
        ck.check_arch(a, {"model": "IMPSTNet", "num_classes": 60, "model_config": {"radius": 0.7, "layers": [1, 2]}})
    msg = str(err.value)
    assert "num_classes: 20 in checkpoint, 60 now" in msg and "model_config.radius" in msg


def test_rng_state_roundtrip_through_checkpoint(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    ck.atomic_save({"rng": rng_io.rng_state()}, tmp_path / "r.pt")
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    rng_io.set_rng_state(torch.load(tmp_path / "r.pt", weights_only=True)["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_global_batch_sampler_splits_the_same_batches():
    single = GlobalBatchSampler(23, 6, DistEnv(), seed=5)
    ranks = [GlobalBatchSampler(23, 6, DistEnv(rank=r, world_size=3), seed=5) for r in range(3)]
    for epoch in (0, 1):
        for s in [single, *ranks]:
            s.set_epoch(epoch)
        whole = list(single)
        parts = [list(s) for s in ranks]
        assert len(whole) == 3 == len(parts[0])  # 23 // 6, tail dropped
        for b, batch in enumerate(whole):
            assert batch == parts[0][b] + parts[1][b] + parts[2][b]
    single.set_epoch(0)
    e0 = list(single)
    single.set_epoch(1)
    assert list(single) != e0  # reshuffled per epoch
    with pytest.raises(ValueError, match="not divisible"):
        GlobalBatchSampler(23, 6, DistEnv(rank=0, world_size=4))
    with pytest.raises(ValueError, match="smaller than one global batch"):
        GlobalBatchSampler(5, 6)
    assert sorted(shard(7, DistEnv(0, 2)) + shard(7, DistEnv(1, 2))) == list(range(7))


def test_atomic_save_interrupted_mid_write_keeps_previous(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    ck.atomic_save({"format": ck.FORMAT, "arch": {}, "model": {}, "epoch": 3, "a": torch.arange(3)}, path)
    real_save = torch.save

    def half_save(obj, fh, *a, **kw):  # the first bytes of a real checkpoint, then the crash
        fh.write(b"PK\x03\x04" + b"\0" * 100)
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", half_save)
    with pytest.raises(OSError, match="disk full"):
        ck.atomic_save({"format": ck.FORMAT, "arch": {}, "model": {}, "epoch": 4, "a": torch.zeros(3)}, path)
    monkeypatch.setattr(torch, "save", real_save)
    state = ck.load_checkpoint(path)
    assert state["epoch"] == 3 and torch.equal(state["a"], torch.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_atomic_save_swaps_files_so_a_reader_never_sees_a_rewrite(tmp_path):
    """A reader that opened the old checkpoint keeps reading it whole while the new one lands.

    Only a rename gives this: copying the new bytes over the old file
    rewrites the file the reader holds (and a crash mid-copy would leave it
    partial), which this test sees as the reader getting other bytes.
    """
    path = tmp_path / "last.pt"
    ck.atomic_save({"format": ck.FORMAT, "arch": {}, "model": {}, "epoch": 1, "a": torch.arange(4)}, path)
    old_bytes = path.read_bytes()
    with open(path, "rb") as reader:
        ck.atomic_save({"format": ck.FORMAT, "arch": {}, "model": {}, "epoch": 2, "a": torch.arange(4) * 10}, path)
        assert reader.read() == old_bytes
    assert ck.load_checkpoint(path)["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
