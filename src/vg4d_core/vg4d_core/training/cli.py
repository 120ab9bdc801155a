"""``vg4d train`` (and ``ros2 run vg4d_core train``): one training stage from a recipe.

The recipe's ``stage`` (pretrain | vlm | crossmodal) picks what is trained
(:mod:`vg4d_core.training.stages`); all stages run through the one loop.

    vg4d train --config config/train/msr_action3d_lite.yaml [--out RUN_DIR] [key=value ...]
    vg4d train --out RUN_DIR --resume [key=value ...]  # continue a killed run
    torchrun --nproc_per_node 4 -m vg4d_core.training.cli --config ...   # DDP, same recipe

The run directory receives ``config.yaml`` (the resolved recipe, model and
data configs), ``metrics.jsonl`` (one line per epoch), ``last.pt`` (rewritten
atomically every epoch) and ``summary.json``.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Sequence

import yaml

from vg4d_core.config import ConfigError, apply_overrides, from_dict, to_dict
from vg4d_core.data.factory import build_split
from vg4d_core.data.input_transform import TRANSFORM_KEY, transform_of_dataset
from vg4d_core.provenance import machine_info
from vg4d_core.runtime.checkpoint import CheckpointError, load_checkpoint
from vg4d_core.training.config import TrainConfig, load_train_config, resolved_data_dict
from vg4d_core.training.distributed import init_distributed, shutdown
from vg4d_core.training.loop import fit
from vg4d_core.training.stages import build_stage, stage_arch


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vg4d train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="overrides: dotted keys of the recipe, e.g. schedule.epochs=2 "
                                       "optimizer.lr=0.02 data_overrides.root=/data/msr workers=0")
    p.add_argument("--config", help="recipe: a name in config/train/ or a YAML path "
                                    "(optional with --resume: the checkpoint carries its recipe)")
    p.add_argument("--out", help="run directory (default: the recipe's `out`)")
    p.add_argument("--resume", action="store_true",
                   help="continue from RUN_DIR/last.pt: weights, optimizer, schedule, RNG states, epoch")
    p.add_argument("--resume-from", metavar="CKPT", help="continue from another checkpoint file")
    p.add_argument("--overwrite", action="store_true", help="start afresh in a RUN_DIR that already holds a run")
    p.add_argument("--print-config", action="store_true", help="print the resolved recipe and exit")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    return p


def _resolve(args: argparse.Namespace):
    """-> (TrainConfig, run_dir, resume checkpoint path or None)."""
    resuming = args.resume or args.resume_from is not None
    if args.config is None and not resuming:
        raise ConfigError("give --config RECIPE (or --resume with --out RUN_DIR)")
    if args.config is None and args.resume_from is None and args.out is None:
        raise ConfigError("--resume without --config needs --out RUN_DIR to find last.pt")
    if args.config is not None:
        cfg = load_train_config(args.config, args.overrides)
    else:
        # resuming without a recipe: the checkpoint's own recipe, plus overrides
        ckpt_path = Path(args.resume_from) if args.resume_from else Path(args.out) / "last.pt"
        stored = load_checkpoint(ckpt_path)["config"]
        cfg = from_dict(TrainConfig, apply_overrides(stored, args.overrides), where=f"{ckpt_path}:config")
    run_dir = Path(args.out) if args.out else Path(cfg.out)
    resume = Path(args.resume_from) if args.resume_from else (run_dir / "last.pt" if args.resume else None)
    if resume is None and (run_dir / "last.pt").exists() and not args.overwrite:
        raise ConfigError(f"{run_dir} already holds a run (last.pt): pass --resume to continue it, "
                          "--overwrite to start afresh, or another --out")
    return cfg, run_dir, resume


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # intermixed: overrides may come before or after the options (`--config R --out D k=v` or `k=v --out D`)
    args = _parser().parse_intermixed_args(argv)
    try:
        cfg, run_dir, resume = _resolve(args)
    except (ConfigError, CheckpointError, FileNotFoundError) as exc:
        print(f"vg4d train: error: {exc}", file=sys.stderr)
        return 2
    if args.print_config:  # what this command would run: the output folder is --out when given
        print(yaml.safe_dump({**to_dict(cfg), "out": str(run_dir)}, sort_keys=False), end="")
        return 0

    import torch

    use_cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    env = init_distributed("cuda" if use_cuda else "cpu")
    finished = False
    try:
        try:
            data = resolved_data_dict(cfg)
            train_set = build_split(data, cfg.train_split)
            test_set = build_split(data, cfg.test_split)
            arch = stage_arch(cfg, train_set.num_classes)
        except (ConfigError, CheckpointError, FileNotFoundError, ValueError) as exc:
            print(f"vg4d train: error: {exc}", file=sys.stderr)
            return 2
        if len(train_set) < cfg.batch_size:  # the batch sampler drops the incomplete tail: no step at all
            print(f"vg4d train: error: the {cfg.train_split} split has {len(train_set)} clip(s), fewer than one batch "
                  f"(batch_size={cfg.batch_size}): add data or set batch_size={max(1, len(train_set))}",
                  file=sys.stderr)
            return 2
        if getattr(test_set, "num_classes", arch["num_classes"]) != arch["num_classes"]:
            print(f"vg4d train: error: train split has {arch['num_classes']} classes, test split "
                  f"{test_set.num_classes}", file=sys.stderr)
            return 2
        torch.manual_seed(cfg.seed)  # the same initial weights in every process
        try:
            stage = build_stage(cfg, train_set, run_dir)
        except (ConfigError, CheckpointError, FileNotFoundError, ValueError) as exc:
            print(f"vg4d train: error: {exc}", file=sys.stderr)
            return 2
        model = stage.model
        if env.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            resolved = {"train": to_dict(cfg), "model": arch, "data": data}
            (run_dir / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")
            n_params = sum(p.numel() for p in model.parameters())
            print(f"[vg4d train] stage {stage.name}: {stage.arch['model']} ({n_params:,} parameters), {data['name']}: "
                  f"{len(train_set)} train / {len(test_set)} test clips, {arch['num_classes']} classes, "
                  f"{env.world_size} process(es), run dir {run_dir}", flush=True)
        transform = transform_of_dataset(train_set, data)
        meta = {"data_config": data, "class_names": list(getattr(train_set, "class_names", [])),
                # how a sensor frame became this model's input: replay and the live nodes rebuild it
                TRANSFORM_KEY: transform.to_dict(),
                # median training-video duration: a live recognizer's default window length
                **({"typical_video_s": transform.typical_video_s} if transform.typical_video_s else {}),
                # provenance for result files: how and where this checkpoint was trained
                "train_command": shlex.join(["vg4d", "train", *argv]),
                # JSON round trip: plain str/number values (torch.__version__ is a str subclass that
                # weights_only loading refuses)
                "train_hardware": json.loads(json.dumps(
                    {**machine_info("cuda" if use_cuda else "cpu"), "processes": env.world_size}, default=str)),
                **stage.meta}
        try:
            fit(cfg, run_dir, model=model, objective=stage.objective,
                train_set=stage.train_set if stage.train_set is not None else train_set, test_set=test_set,
                arch=stage.arch, score_sources=stage.score_sources, meta=meta, env=env, resume=resume)
            if stage.finalize is not None and env.is_main:
                stage.finalize(run_dir)  # e.g. validation-fitted fusion weights into last.pt
        except CheckpointError as exc:
            print(f"vg4d train: error: {exc}", file=sys.stderr)
            return 2
        finished = True
    finally:
        shutdown(synchronize=finished)
    return 0


if __name__ == "__main__":  # torchrun -m vg4d_core.training.cli ...
    sys.exit(main())
