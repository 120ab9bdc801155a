"""torchrun target for test_ddp.py: the stand-in training run of one rank.

    python -m torch.distributed.run --standalone --nproc_per_node 2 ddp_worker.py RUN_DIR
"""
import sys

import torch

from training_standins import TinyNet, ToyActions, tiny_arch
from vg4d_core.training.distributed import init_distributed, shutdown
from vg4d_core.training.loop import fit
from test_ddp import ddp_cfg  # noqa: E402  (same recipe as the single-process run)


def main() -> None:
    env = init_distributed("cpu")
    torch.manual_seed(0)  # identical initial weights on every rank (DDP also broadcasts rank 0's)
    fit(ddp_cfg(), sys.argv[1], model=TinyNet(4), train_set=ToyActions(videos=16, num_classes=4),
        test_set=ToyActions(videos=6, num_classes=4, clips_per_video=2), arch=tiny_arch(4), env=env)
    shutdown()


if __name__ == "__main__":
    main()
