"""One process of the synchronised-BatchNorm test: python sync_bn_worker.py OUT_DIR RANK WORLD BACKEND.

Builds the probe model of :func:`probe_model` (a PSTConv with the fused
BatchNorm + ReLU + max and a temporal BatchNorm1d, then a BatchNorm2d),
converts it with ``convert_sync_batchnorm``, runs one training step on its
slice of :func:`probe_batch` and writes outputs, input and parameter
gradients and buffers to OUT_DIR/rank<R>.pt. WORLD=1 without a group is
the single-process reference on the whole batch.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from vg4d_core.models import PSTConv
from vg4d_core.models.sync_batchnorm import convert_sync_batchnorm

GLOBAL_BATCH = 4


class Probe(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = PSTConv(3, 8, 12, radius=0.6, neighbours=4, temporal_kernel=3, spatial_norm=True,
                            temporal_fusion="concat", temporal_norm=True)
        self.bn2d = nn.BatchNorm2d(12)

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        _, f = self.conv(xyz, feats)  # (B, T', M, 12)
        return self.bn2d(f.permute(0, 3, 1, 2))  # (B, 12, T', M)


def probe_model() -> nn.Module:
    torch.manual_seed(0)
    model = Probe()
    with torch.no_grad():  # affine parameters away from identity so their gradients are seen
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.copy_(torch.linspace(-1.0, 1.5, m.num_features))
                m.bias.copy_(torch.linspace(0.3, -0.2, m.num_features))
    return model


def probe_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """xyz (4, 4, 24, 3), features (4, 4, 24, 3), loss weights (4, 12, 2, 24); clips differ in scale and offset."""
    gen = torch.Generator().manual_seed(1)
    xyz = torch.rand(GLOBAL_BATCH, 4, 24, 3, generator=gen)
    xyz = xyz * torch.tensor([0.5, 1.0, 1.5, 2.0])[:, None, None, None]
    feats = torch.randn(GLOBAL_BATCH, 4, 24, 3, generator=gen) + torch.arange(GLOBAL_BATCH)[:, None, None, None]
    weights = torch.randn(GLOBAL_BATCH, 12, 2, 24, generator=gen)
    return xyz, feats, weights


def run(out_dir: Path, rank: int, world: int, backend: str) -> None:
    device = torch.device("cpu")
    if world > 1:
        if backend == "nccl":
            torch.cuda.set_device(rank)
            device = torch.device("cuda", rank)
        dist.init_process_group(backend, init_method=f"file://{out_dir / 'rendezvous'}", rank=rank,
                                world_size=world)
    model = convert_sync_batchnorm(probe_model()).to(device).train()
    xyz, feats, weights = probe_batch()
    b = GLOBAL_BATCH // world
    part = slice(rank * b, (rank + 1) * b)
    xyz, feats, weights = xyz[part].to(device), feats[part].to(device), weights[part].to(device)
    feats.requires_grad_(True)
    out = model(xyz, feats)
    (out * weights).sum().backward()  # the global loss is the sum of the per-process ones
    torch.save({"out": out.detach().cpu(), "feat_grad": feats.grad.cpu(),
                "grads": {k: p.grad.cpu() for k, p in model.named_parameters()},
                "buffers": {k: v.cpu() for k, v in model.named_buffers()}}, out_dir / f"rank{rank}.pt")
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    run(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
