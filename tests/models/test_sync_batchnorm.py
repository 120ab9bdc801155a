"""Synchronised BatchNorm: global-batch statistics and gradients over processes, fused path included."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from vg4d_core.models.bn_relu_max import bn_relu_max
from vg4d_core.models.sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

WORKER = Path(__file__).with_name("sync_bn_worker.py")
TIMEOUT_S = 600  # guards a hung rendezvous; not a speed claim


def _run_ranks(out: Path, world: int, backend: str) -> list[dict]:
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(out), str(r), str(world), backend], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in range(world)]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=TIMEOUT_S)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-3000:]
    return [torch.load(out / f"rank{r}.pt") for r in range(world)]


def _close(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    """float32 agreement: max error within 1e-5 of b's largest magnitude (sums over ~10^3 terms round)."""
    assert a.shape == b.shape, (what, a.shape, b.shape)
    err, scale = (a - b).abs().max().item(), max(1.0, b.abs().max().item())
    assert err <= 1e-5 * scale, f"{what}: max error {err:.3g} at scale {scale:.3g}"


def _assert_ranks_match_global(ranks: list[dict], ref: dict) -> None:
    world = len(ranks)
    _close(torch.cat([r["out"] for r in ranks]), ref["out"], "forward output")
    _close(torch.cat([r["feat_grad"] for r in ranks]), ref["feat_grad"], "input gradient")
    for name, g in ref["grads"].items():  # DDP sums (then averages) the per-process parameter gradients
        _close(sum(r["grads"][name] for r in ranks), g, f"gradient of {name}")
    assert {k for k in ref["buffers"] if "running" in k} == {
        "conv.spatial_bn.running_mean", "conv.spatial_bn.running_var", "conv.temporal_bn.running_mean",
        "conv.temporal_bn.running_var", "bn2d.running_mean", "bn2d.running_var"}
    for name, v in ref["buffers"].items():
        for r in range(world):
            _close(ranks[r]["buffers"][name].double(), v.double(), f"rank {r} {name}")


def test_two_gloo_processes_match_one_process_on_the_global_batch(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    ref = _run_ranks(tmp_path / "one", 1, "gloo")[0]
    ranks = _run_ranks(tmp_path / "two", 2, "gloo")
    _assert_ranks_match_global(ranks, ref)
    assert ranks[0]["buffers"]["conv.spatial_bn.num_batches_tracked"].item() == 1


@pytest.mark.cuda
def test_two_nccl_processes_match_one_process_on_the_global_batch(tmp_path):
    if torch.cuda.device_count() < 2:
        pytest.skip(f"needs 2 CUDA GPUs, {torch.cuda.device_count()} visible")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    ref = _run_ranks(tmp_path / "one", 1, "gloo")[0]  # CPU reference
    _assert_ranks_match_global(_run_ranks(tmp_path / "two", 2, "nccl"), ref)


def test_single_process_equals_torch_batchnorm_train_and_eval():
    torch.manual_seed(0)
    x = torch.randn(6, 5, 3, 4) * 2 + 1
    ref = nn.BatchNorm2d(5)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([1.0, -0.5, 2.0, 0.3, 1.2]))
    sync = convert_sync_batchnorm(nn.Sequential(ref)).eval().train()[0]
    assert isinstance(sync, SyncBatchNorm) and sync.weight is ref.weight
    ref2 = nn.BatchNorm2d(5)
    ref2.load_state_dict(sync.state_dict())
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    y1, y2 = sync(x1), ref2(x2)
    torch.testing.assert_close(y1, y2)
    (y1 * torch.arange(y1.numel()).reshape(y1.shape)).sum().backward()
    (y2 * torch.arange(y2.numel()).reshape(y2.shape)).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(sync.running_var, ref2.running_var)
    sync.eval(), ref2.eval()
    torch.testing.assert_close(sync(x), ref2(x))


def test_convert_replaces_every_batchnorm_and_keeps_state():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Sequential(nn.BatchNorm2d(2), nn.BatchNorm3d(3)),
                          nn.SyncBatchNorm(6))
    model[1].running_mean.fill_(0.25)
    model[2][1].requires_grad_(False)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = convert_sync_batchnorm(model, process_group=None)
    assert out is model
    kinds = [type(m).__name__ for m in model.modules() if "BatchNorm" in type(m).__name__]
    assert kinds == ["SyncBatchNorm"] * 4
    assert all(isinstance(m, SyncBatchNorm) for m in (model[1], model[2][0], model[2][1], model[3]))
    assert not model[1].training and not model[2][1].weight.requires_grad
    after = model.state_dict()
    assert after.keys() == before.keys()
    for k in before:
        assert torch.equal(after[k], before[k]), k
    lone = convert_sync_batchnorm(nn.BatchNorm1d(3))
    assert isinstance(lone, SyncBatchNorm) and lone.num_features == 3


def test_fused_path_single_process_with_sync_layer_equals_plain():
    torch.manual_seed(0)
    h = torch.randn(10, 4, 6)
    plain = nn.BatchNorm1d(6)
    sync = SyncBatchNorm(6)
    sync.load_state_dict(plain.state_dict())
    torch.testing.assert_close(bn_relu_max(h, sync), bn_relu_max(h, plain))
    torch.testing.assert_close(sync.running_var, plain.running_var)


def test_bad_input_is_named():
    bn = SyncBatchNorm(4)
    with pytest.raises(ValueError, match=r"SyncBatchNorm\(4\) got 3 channels"):
        bn(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="expects \\(N, C\\)"):
        bn(torch.zeros(4))
