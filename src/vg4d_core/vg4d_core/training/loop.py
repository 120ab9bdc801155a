"""The training loop of every stage: SGD, warmup + cosine, one function that
reads top to bottom. What is trained and how is given to it: a model that
declares its trainable parts, an objective (:mod:`vg4d_core.losses`) over
the model's output dict and the batch, and the score sources that evaluate
it (:mod:`vg4d_core.runtime.predictor`).

Per epoch: train over the global batches, evaluate on the test split every
``eval_every`` epochs (and after the last), append one JSON line to
``RUN_DIR/metrics.jsonl`` and atomically rewrite ``RUN_DIR/last.pt``. The
headline result is the final epoch's; the best test epoch is reported too,
labelled as selected on the test set, for comparison with papers that
report it.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from vg4d_core.config import to_dict
from vg4d_core.models.sync_batchnorm import convert_sync_batchnorm
from vg4d_core.provenance import save_json
from vg4d_core.runtime import checkpoint as ckpt_io
from vg4d_core.runtime.collate import collate_clips, to_device
from vg4d_core.runtime.device import amp_dtype_for, autocast, pick_device
from vg4d_core.runtime.distributed import DistEnv, all_gather_object, all_reduce_sum, barrier
from vg4d_core.runtime.predictor import Predictor
from vg4d_core.runtime.metrics import run_summary
from vg4d_core.runtime.scoring import metrics_of, score_dataset
from vg4d_core.training.config import TrainConfig
from vg4d_core.training.distributed import GlobalBatchSampler
from vg4d_core.training.optim import build_optimizer, build_scheduler
from vg4d_core.training.rng import rng_state, set_rng_state


_DEFAULT_THREADS = torch.get_num_threads()  # at import, before any stage sets its own


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def use_deterministic(enabled: bool, device: torch.device) -> None:
    """Deterministic kernels where torch has them (warn-only where it has none).

    Figures then repeat on the same machine, torch build and thread count; across machines the
    BLAS kernels and the thread count still change the float sums (README, "Reproducibility").
    """
    if enabled and device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's deterministic workspace
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = enabled


def _seed_worker(worker_id: int) -> None:
    # DataLoader seeds torch and `random` per worker but not numpy: without this,
    # every worker would draw the same numpy "random" augmentation.
    np.random.seed(torch.initial_seed() % 2**32)


def _draw_like_a_new_iterator() -> None:
    # what torch's DataLoader draws from the global generator for the worker seed of each new iterator
    # (one int64); a persistent loader keeps its iterator, so without this draw its later epochs would see
    # another global stream than a loader without processes, and the training path would depend on `workers`
    torch.empty((), dtype=torch.int64).random_()


class _EpochItems(Dataset):
    """``base`` with items addressed as ``(epoch, index)``: calls ``base.set_epoch(epoch)`` when the
    epoch changes, in whichever process holds this copy (the main one or a persistent loader)."""

    def __init__(self, base: Dataset) -> None:
        self.base = base
        self._epoch: int | None = None

    def __len__(self) -> int:
        return len(self.base)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.base, "set_epoch"):
            self.base.set_epoch(epoch)
        self._epoch = epoch

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        if epoch != self._epoch:  # a loader process's copy: the main process's set_epoch did not reach it
            self.set_epoch(epoch)
        return self.base[index]


class _EpochBatches:
    """A batch sampler's batches with each index tagged by the sampler's epoch (see _EpochItems)."""

    def __init__(self, sampler: GlobalBatchSampler) -> None:
        self.sampler = sampler

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self):
        epoch = self.sampler.epoch
        for batch in self.sampler:
            yield [(epoch, i) for i in batch]


def _append_jsonl(path: Path, record: Mapping[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _rewrite_jsonl(path: Path, records: list[Mapping[str, Any]]) -> None:
    """Make metrics.jsonl agree with a resumed checkpoint (a killed run may have
    logged an epoch whose checkpoint never landed)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    os.replace(tmp, path)


class TrainStep(nn.Module):
    """model + objective as one module, so DDP synchronises the objective's learnable
    state (a logit scale) with the model's: ``forward(batch) -> (outputs, loss terms)``."""

    def __init__(self, model: nn.Module, objective: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.objective = objective

    def forward(self, batch: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        outputs = self.model(batch[getattr(self.model, "input_key", "points")])
        return outputs, self.objective(outputs, batch)


def _has_state(module: nn.Module) -> bool:
    return any(True for _ in module.state_dict())


def fit(cfg: TrainConfig, run_dir: str | Path, *, model: nn.Module, objective: nn.Module, train_set: Dataset,
        test_set: Dataset, arch: Mapping[str, Any],
        score_sources: Callable[[nn.Module], Sequence[nn.Module]],
        meta: Mapping[str, Any] | None = None, env: DistEnv = DistEnv(),
        resume: str | Path | None = None) -> dict[str, Any]:
    """Train ``model`` with ``objective`` on ``train_set`` under recipe ``cfg``; returns the run summary.

    * ``model(batch[model.input_key])`` returns an output dict (im-PSTNet:
      ``logits`` (B, K), ``embedding`` (B, D)); its frozen parameters
      (``requires_grad=False``, e.g. from ``model.lock(...)``) are left out of
      the optimizer.
    * ``objective(outputs, batch)`` returns ``{"loss": scalar, <term>: ...}``
      (:mod:`vg4d_core.losses`); its own parameters are trained too.
    * ``score_sources(model)`` -> the :class:`~vg4d_core.runtime.predictor.Predictor`
      sources that score the test split after an epoch.
    * ``arch`` describes the architecture (stored in checkpoints and checked
      on resume); ``meta`` is stored alongside (data config, class names).
    * ``resume``: a checkpoint to continue from (its epoch, optimizer,
      scheduler and RNG states), normally ``run_dir/last.pt``.
    """
    run_dir = Path(run_dir)
    device = pick_device(cfg.device, env.local_rank if env.enabled else None)
    amp_dtype = amp_dtype_for(cfg.amp, device)
    # 0 = torch's default for this process, also after an earlier stage of the same process (vg4d demo
    # runs its stages in one) set another count
    torch.set_num_threads(cfg.threads or _DEFAULT_THREADS)
    use_deterministic(cfg.deterministic, device)
    seed_everything(cfg.seed + env.rank)  # per-rank model randomness (dropout); data order is shared
    if env.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    class_names = list(getattr(train_set, "class_names", []) or [])

    # ---- model, data, optimizer, schedule -------------------------------------------------
    model = model.to(device)
    objective = objective.to(device)
    if env.enabled and cfg.sync_batchnorm:  # global-batch statistics, gloo and NCCL alike (the fused path too)
        model = convert_sync_batchnorm(model)
    step_module = TrainStep(model, objective)
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    if frozen and env.is_main:
        print(f"[vg4d train] frozen (declared by the stage): {', '.join(frozen)}", flush=True)
    sampler = GlobalBatchSampler(len(train_set), cfg.batch_size, env, seed=cfg.seed)
    # Loader processes persist across epochs: a fresh one per epoch would redo what the dataset loads or
    # renders lazily (the synthetic set renders each video on first use). A persistent process keeps its
    # own copy of the dataset, which the main process's set_epoch does not reach, so the items are asked
    # for as (epoch, index) and the copy follows the epoch itself (_EpochItems). A loader draws one number
    # (its worker seed) from torch's global generator whenever its iterator is made: every epoch without
    # loader processes, once with persistent ones. The epoch loop makes up the missing draws (below), so the
    # global stream - and with it dropout - is the same whatever `workers` is.
    if cfg.workers > 0 and hasattr(train_set, "preload"):
        train_set.preload()  # load or render lazily built data once, here, before the loader processes fork
    items = _EpochItems(train_set)
    loader = DataLoader(items, batch_sampler=_EpochBatches(sampler), num_workers=cfg.workers,
                        collate_fn=collate_clips, pin_memory=device.type == "cuda", worker_init_fn=_seed_worker,
                        persistent_workers=cfg.workers > 0)
    optimizer = build_optimizer(step_module, cfg.optimizer)
    scheduler = build_scheduler(optimizer, cfg.optimizer, cfg.schedule, steps_per_epoch=len(sampler))
    logits_key = getattr(objective, "logits_key", "logits")

    start_epoch, step, history = 0, 0, []
    if resume is not None:
        state = ckpt_io.load_checkpoint(resume, map_location="cpu")
        ckpt_io.check_arch(state["arch"], arch, resume)
        model.load_state_dict(state["model"])
        if _has_state(objective):
            if "objective" not in state:
                raise ckpt_io.CheckpointError(f"{resume} holds no objective state (logit scale) to resume")
            objective.load_state_dict(state["objective"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, step, history = int(state["epoch"]), int(state["step"]), list(state["history"])
        rngs = state["rng"]
        # same world size: each rank continues its own streams; otherwise rank 0's
        set_rng_state(rngs[env.rank] if len(rngs) == env.world_size else rngs[0])
        if env.is_main:
            _rewrite_jsonl(run_dir / "metrics.jsonl", history)
            changed = ckpt_io.diff(state.get("config", {}), to_dict(cfg))
            if changed:  # legitimate (e.g. more epochs), but it is no longer the same run
                print("[vg4d train] resuming with a changed recipe:\n  " + "\n  ".join(changed), flush=True)
            print(f"[vg4d train] resumed from {resume} after epoch {start_epoch} (step {step})", flush=True)
    elif env.is_main:
        (run_dir / "metrics.jsonl").unlink(missing_ok=True)

    ddp = step_module
    if env.enabled:
        ddp = nn.parallel.DistributedDataParallel(
            step_module, device_ids=[device.index] if device.type == "cuda" else None)

    # ---- epochs ---------------------------------------------------------------------------
    iterated = False  # whether this run made the loader's iterator yet
    for epoch in range(start_epoch, cfg.schedule.epochs):
        items.set_epoch(epoch)  # per-epoch clip sampling / augmentation, reproducible
        if iterated and loader.persistent_workers:
            _draw_like_a_new_iterator()
        iterated = True
        sampler.set_epoch(epoch)
        ddp.train()
        t0, c0 = time.perf_counter(), time.process_time()
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        term_sums: dict[str, torch.Tensor] = {}
        correct = torch.zeros((), dtype=torch.int64, device=device)
        seen = 0
        bar = None
        if cfg.progress and env.is_main:
            from tqdm import tqdm

            bar = tqdm(total=len(sampler), desc=f"epoch {epoch + 1}/{cfg.schedule.epochs}", dynamic_ncols=True,
                       leave=False)
        for i, batch in enumerate(loader):
            batch = to_device(batch, device)  # points (b, T, N, 3), label (b,), ...; b = batch / world
            y = batch["label"]
            with autocast(device, amp_dtype):
                outputs, terms = ddp(batch)
            loss = terms["loss"]  # mean over this rank's b; DDP averages the gradients over ranks
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(step_module.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1

            loss_sum += loss.detach().double() * y.shape[0]
            for name, value in terms.items():
                if name != "loss":
                    term_sums[name] = term_sums.get(name, 0.0) + value.detach().double() * y.shape[0]
            if logits_key in outputs:
                correct += (outputs[logits_key].detach().argmax(dim=1) == y).sum()
            seen += y.shape[0]
            if bar is not None:
                bar.update(1)
                if (i + 1) % cfg.log_every == 0 or i + 1 == len(sampler):
                    bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
        if bar is not None:
            bar.close()
        names = sorted(term_sums)
        sums = all_reduce_sum(env, [loss_sum.item(), float(correct.item()), seen,
                                    *(float(term_sums[n]) for n in names)])
        loss_total, correct_total, seen_total = sums[:3]
        if not math.isfinite(loss_total):
            raise FloatingPointError(f"training loss is {loss_total} in epoch {epoch + 1}; lower optimizer.lr "
                                     "or set grad_clip")
        train_time, train_cpu = time.perf_counter() - t0, time.process_time() - c0
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "step": step,
            "lr": scheduler.get_last_lr()[0],
            "train_loss": loss_total / seen_total,
            **{f"train_{n}": v / seen_total for n, v in zip(names, sums[3:])},
            "train_top1": 100.0 * correct_total / seen_total,
            "train_time_s": train_time,
            # CPU seconds of this process (all its threads; rank 0): with the wall time, tells a
            # slow machine from a busy one
            "train_cpu_s": train_cpu,
            "train_clips_per_s": seen_total / train_time,
        }

        last_epoch = epoch + 1 == cfg.schedule.epochs
        if (cfg.eval_every and (epoch + 1) % cfg.eval_every == 0) or last_epoch:
            t1, c1 = time.perf_counter(), time.process_time()
            predictor = Predictor(list(score_sources(model)), class_names or
                                  [str(k) for k in range(getattr(train_set, "num_classes", 0))], device, amp_dtype)
            scores = score_dataset(predictor, test_set, batch_size=cfg.eval_batch_size, workers=cfg.workers,
                                   env=env, progress=cfg.progress)
            if env.is_main:
                metrics = metrics_of(scores, class_names or None)
                record.update(test_top1=metrics["top1"], test_top5=metrics["top5"],
                              test_clip_top1=metrics["clip_top1"], test_videos=metrics["num_videos"],
                              test_score=metrics["score"],
                              test_scores={n: v["top1"] for n, v in metrics["scores"].items()})
            record["eval_time_s"] = time.perf_counter() - t1
            record["eval_cpu_s"] = time.process_time() - c1
        history.append(record)

        # ---- log and checkpoint (rank 0 writes; every rank's RNG goes in) -------------------
        rngs = all_gather_object(env, rng_state())
        if env.is_main:
            _append_jsonl(run_dir / "metrics.jsonl", record)
            state = {
                "format": ckpt_io.FORMAT,
                "arch": dict(arch),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch + 1,
                "step": step,
                "config": to_dict(cfg),
                "rng": rngs,
                "history": history,
                **dict(meta or {}),
            }
            if _has_state(objective):
                state["objective"] = objective.state_dict()
            ckpt_io.atomic_save(state, run_dir / "last.pt")
            if cfg.ckpt_every and (epoch + 1) % cfg.ckpt_every == 0:
                ckpt_io.atomic_save(state, run_dir / f"epoch_{epoch + 1:04d}.pt")
            shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()}
            print(f"[vg4d train] {json.dumps(shown)}", flush=True)
        barrier(env)

    summary = run_summary(history)
    if env.is_main:
        summary["run_dir"] = str(run_dir)
        summary["checkpoint"] = str(run_dir / "last.pt")
        save_json(run_dir / "summary.json", summary, command=(meta or {}).get("train_command"), device=device)
        if "headline" in summary:
            h, b = summary["headline"], summary["best_on_test"]
            print(f"[vg4d train] final epoch {h['epoch']}: test top-1 {h['top1']:.2f}%, top-5 {h['top5']:.2f}% "
                  "(headline)", flush=True)
            print(f"[vg4d train] best epoch on the test set (not the headline; for comparison with papers "
                  f"that report it): epoch {b['epoch']}, top-1 {b['top1']:.2f}%", flush=True)
    return summary
