"""``vg4d bench model``: im-PSTNet size, cost and speed per architecture and device.

For each config (``config/model/<name>.yaml``) and device it measures:

* ``params``: trainable parameters (backbone + classifier + projection);
* ``gflops`` / ``gflops_naive``: forward FLOPs of one clip (2 x MACs) as
  implemented and as PSTNet's per-neighbour code would spend them
  (:mod:`vg4d_core.models.cost`);
* ``fwd_ms``: forward latency of one window (batch 1, eval, no grad), and
  ``fwd_cpu_ms`` the process CPU time per forward (robust to other jobs on a
  shared machine);
  ``index_ms``: the part of it spent in FPS + ball query (the point ops);
* ``train_clips_s``: training throughput, forward + backward + SGD step on
  a batch (``--train-batch`` on GPU, ``--cpu-train-batch`` on CPU), bf16
  autocast on GPU unless ``--amp fp32``; ``train_cpu_ms_per_clip`` its CPU time;
* ``peak_mem_mb``: peak memory of that training step (GPU: allocator peak;
  CPU: growth of the process's peak resident set over its size before the step).

Inputs are synthetic clips of the config's frames x points (uniform points in
a body-like box of 8 x 20 x 6 first-layer radii, drifting by one radius over
the clip), labels random. The table is printed
and the rows are saved with the machine description to
``results/bench/model_<device>.json``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ..config import to_dict
from ..models import IMPSTNet, load_model_config
from ..models.cost import clip_macs
from ..models.neighbourhood import sample_and_query, temporal_windows
from ..paths import SOURCE_ROOT
from vg4d_core.provenance import machine_info, save_json
from vg4d_core.runtime.tables import print_table

from .common import synchronize, time_call

COLUMNS = ["config", "device", "dtype", "frames", "points", "params_m", "gflops", "gflops_naive", "fwd_ms",
           "fwd_min_ms", "fwd_cpu_ms", "index_ms", "train_batch", "train_clips_s", "train_best_clips_s",
           "train_cpu_ms_per_clip", "peak_mem_mb"]


def synthetic_clip(cfg, batch: int, device: torch.device, seed: int = 0) -> torch.Tensor:
    """(batch, frames, points, 3) points in a body-like box of 8 x 20 x 6 radii (NTU: 0.5 x 1.3 x 0.4 m)."""
    gen = torch.Generator().manual_seed(seed)
    box = torch.tensor([8.0, 20.0, 6.0]) * cfg.radius
    xyz = torch.rand(batch, cfg.frames, cfg.points, 3, generator=gen) * box
    drift = torch.linspace(0, 1, cfg.frames)[None, :, None, None] * cfg.radius  # frames differ
    return (xyz + drift).to(device)


def _cpu_time(fn, device: torch.device) -> tuple[Any, float]:
    """Run fn(); return its result and the process CPU seconds it took (all threads).

    On a shared machine wall time grows with other jobs' load; CPU time
    counts this process's work only (it includes spinning of idle worker
    threads, so it over-, not under-states the cost).
    """
    t0 = time.process_time()
    out = fn()
    synchronize(device)
    return out, time.process_time() - t0


def _peak_rss_reset() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:  # "5" resets the peak resident set (Linux)
            fh.write("5")
        return True
    except OSError:
        return False


def _rss_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@torch.no_grad()
def index_search_ms(model: IMPSTNet, xyz: torch.Tensor, repeats: int) -> float:
    """Median time of all stages' FPS + ball query for one clip (the layer inputs replayed)."""
    inputs = []
    features = None
    for layer in model.layers:
        inputs.append(xyz)
        xyz, features = layer(xyz, features)

    def search() -> None:
        for layer, x in zip(model.layers, inputs):
            windows = temporal_windows(x.shape[1], layer.temporal_kernel, layer.temporal_stride,
                                       layer.temporal_padding, layer.padding_mode, device=x.device)
            sample_and_query(x, windows, x.shape[2] // layer.spatial_stride, layer.radius, layer.neighbours,
                             layer.empty_neighbourhood)

    return time_call(search, device=xyz.device, warmup=1, repeats=repeats)["median_ms"]


def bench_config(name: str, device: torch.device, train_batch: int, amp: bool, compile_model: bool,
                 repeats: int, num_classes: int, embed_dim: int, warmup: int = 10,
                 train_warmup: int = 3) -> dict[str, Any]:
    cfg = load_model_config(name)
    torch.manual_seed(0)
    model = IMPSTNet(cfg, num_classes=num_classes, embed_dim=embed_dim).to(device)
    run = torch.compile(model) if compile_model else model
    macs = clip_macs(cfg, num_classes, embed_dim)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)
    row: dict[str, Any] = {
        "config": name, "device": device.type, "dtype": "bf16-autocast" if amp else "fp32",
        "frames": cfg.frames, "points": cfg.points,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "gflops": 2 * macs["implemented"] / 1e9, "gflops_naive": 2 * macs["naive"] / 1e9,
        "compiled": compile_model,
    }

    model.eval()
    one = synthetic_clip(cfg, 1, device)
    with torch.no_grad(), autocast:
        for _ in range(warmup):
            run(one)
        fwd, cpu_s = _cpu_time(lambda: time_call(lambda: run(one), device=device, warmup=0, repeats=repeats),
                               device)
    row["fwd_ms"] = fwd["median_ms"]
    row["fwd_cpu_ms"] = cpu_s * 1e3 / fwd["runs"]
    row["fwd_min_ms"] = fwd["min_ms"]
    row["index_ms"] = index_search_ms(model, one, repeats)

    model.train()
    clips = synthetic_clip(cfg, train_batch, device, seed=1)
    labels = torch.randint(0, num_classes, (train_batch,), generator=torch.Generator().manual_seed(2)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def step() -> None:
        with autocast:
            out = run(clips)
            loss = torch.nn.functional.cross_entropy(out["logits"].float(), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(train_warmup):  # optimizer state, allocator and caches settle before the timed window
        step()
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    else:
        base = _rss_kb("VmRSS") if _peak_rss_reset() else None
    train, cpu_s = _cpu_time(lambda: time_call(step, device=device, warmup=0, repeats=max(2, repeats // 3)),
                             device)
    if device.type == "cuda":
        row["peak_mem_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
        row["peak_mem_over_model_mb"] = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    else:
        peak = _rss_kb("VmHWM")
        row["peak_mem_mb"] = peak / 1024 if peak is not None else None
        row["peak_mem_over_model_mb"] = (peak - base) / 1024 if peak is not None and base is not None else None
    row["train_batch"] = train_batch
    row["train_step_ms"] = train["median_ms"]
    row["train_clips_s"] = train_batch / (train["median_ms"] / 1e3)
    row["train_best_clips_s"] = train_batch / (train["min_ms"] / 1e3)
    row["train_cpu_ms_per_clip"] = cpu_s * 1e3 / (train["runs"] * train_batch)
    row["architecture"] = to_dict(cfg)
    return row


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vg4d bench model", description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", nargs="+", default=["lite", "msr", "ntu"],
                   help="model configs (names in config/model/ or YAML paths)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto: CPU always, plus CUDA when available")
    p.add_argument("--train-batch", type=int, default=32, help="training batch on GPU")
    p.add_argument("--cpu-train-batch", type=int, default=4,
                   help="training batch on CPU (32 full-size NTU clips need tens of GB there)")
    p.add_argument("--amp", choices=["auto", "bf16", "fp32"], default="auto",
                   help="auto: bf16 autocast on GPU, fp32 on CPU")
    p.add_argument("--compile", action="store_true", help="time torch.compile(model) as well as eager")
    p.add_argument("--repeats", type=int, default=6, help="timed forward calls (training: a third of it, >= 2)")
    p.add_argument("--warmup", type=int, default=10,
                   help="untimed forward calls first (on CPU the allocator needs ~10 calls to stop "
                        "returning and re-faulting the large buffers)")
    p.add_argument("--train-warmup", type=int, default=3, help="untimed training steps first")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--num-classes", type=int, default=60)
    p.add_argument("--embed-dim", type=int, default=512)
    p.add_argument("--out-dir", type=Path, default=SOURCE_ROOT / "results" / "bench")
    p.add_argument("--tag", default="", help="suffix of the JSON name: model_<device>[_<tag>].json")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    for name in ("train_batch", "cpu_train_batch", "repeats", "train_warmup"):
        if getattr(args, name) < 1:
            print(f"vg4d bench model: --{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}",
                  file=sys.stderr)
            return 2
    if args.warmup < 0:
        print(f"vg4d bench model: --warmup must be >= 0, got {args.warmup}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("vg4d bench model: --device cuda but torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    devices = ["cpu"] if args.device == "cpu" else ["cuda"] if args.device == "cuda" else \
        ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev_name in devices:
        device = torch.device(dev_name)
        amp = args.amp == "bf16" or (args.amp == "auto" and device.type == "cuda")
        batch = args.train_batch if device.type == "cuda" else args.cpu_train_batch
        rows = []
        for name in args.configs:
            for compiled in ([False, True] if args.compile else [False]):
                t0 = time.perf_counter()
                row = bench_config(name, device, batch, amp, compiled, args.repeats, args.num_classes,
                                   args.embed_dim, warmup=args.warmup, train_warmup=args.train_warmup)
                row["bench_s"] = time.perf_counter() - t0
                rows.append(row)
                print(f"[{dev_name}] {name}{' compiled' if compiled else ''}: done in {row['bench_s']:.0f} s",
                      file=sys.stderr)
        print_table(rows, COLUMNS + (["compiled"] if args.compile else []))
        suffix = f"_{args.tag}" if args.tag else ""
        path = save_json(args.out_dir / f"model_{dev_name}{suffix}.json", {
            "benchmark": "model",
            "command": "vg4d bench model " + " ".join(argv),
            "machine": {**machine_info(device), "load_avg_1_5_15": list(os.getloadavg())},
            "notes": {
                "gflops": "forward FLOPs per clip = 2 x MACs, as implemented; gflops_naive: per-neighbour "
                          "spatial map as in PSTNet's code",
                "fwd_ms": "batch 1, eval, no grad, median wall time; index_ms: the FPS + ball query part of it",
                "cpu_ms": "fwd_cpu_ms, train_cpu_ms_per_clip: process CPU time (all threads), which other jobs "
                          "on a shared machine do not inflate",
                "train_clips_s": "train_batch / median(forward + backward + SGD step); train_best_clips_s: "
                                 "the same from the fastest step (*_min_ms, *_best_*: least disturbed by "
                                 "other jobs on a shared machine)",
                "peak_mem_mb": "GPU: max allocated; CPU: peak resident set of the process during training",
            },
            "rows": rows,
        })
        print(f"saved {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
