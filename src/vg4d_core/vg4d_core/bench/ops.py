"""``vg4d bench ops``: FPS, ball query and grouping at im-PSTNet's shapes.

A clip is ``--frames`` frames of ``--points`` points; FPS picks ``--anchors``
anchors per frame, ball query finds ``-k`` neighbours of each anchor in its
frame, and grouping gathers ``--channels`` features of every neighbour
(forward + backward). Frames are flattened into the batch dimension, as the
model calls the ops: a batch of B clips is (B*frames, points, 3).

Two point sets:

* ``ntu``: the real NTU RGB+D sample clip (masked depth, Kinect v2
  intrinsics, metres), each frame resampled to ``--points`` points; ball
  radius: the NTU model's (0.065 m, PSTNet's 0.1 in its NTU units).
* ``uniform``: uniform random points in the unit cube; radius 0.15 (about
  29 points expected inside a ball away from the cube's faces).

Radii: ``ntu`` uses the first-layer radius of ``config/model/ntu.yaml``
(read from it, never restated here); ``uniform`` its own.

Implementations: FPS and ball query in the device's own (numba on CPU,
Triton on CUDA), grouping in the one gather the model runs; the plain
vectorised torch baseline, the naive reference (batch 1 only: it is slow by
design), and on CPU scipy's cKDTree ball query as an outside reference (tree
build + query + truncation to the first k in index order; it computes in
float64 with an inclusive radius, so its rows may differ at the ball's edge:
the agreement is reported).

Each row has the wall-clock median and minimum (ms) and the median process
CPU time (``cpu_ms``, all threads). On a machine shared with other jobs the
wall time of a parallel run is inflated; a ``--threads 1`` run's CPU time is
not. The JSON records the load average before and after.

Prints a table and saves JSON (default ``results/bench/ops_<device>.json``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from vg4d_core import ops
from vg4d_core.bench.common import time_call
from vg4d_core.data.depth import KINECT_V2_DEPTH, depth_to_points
from vg4d_core.data.sampling import resample_indices
from vg4d_core.models import load_model_config
from vg4d_core.paths import SOURCE_ROOT, shared_data_dir
from vg4d_core.provenance import machine_info, save_json
from vg4d_core.runtime.tables import print_table

NTU_CLIP = Path("ntu_sample") / "nturgb+d_depth_masked" / "S001C001P001R001A058"
NTU_MODEL = "ntu"  # config/model/ntu.yaml: the architecture whose radius the ntu point set uses
UNIFORM_RADIUS = 0.15  # unit cube, 2048 points: ~29 expected neighbours


def ntu_radius() -> float:
    """First-layer ball radius (metres) of the NTU architecture config."""
    return float(load_model_config(NTU_MODEL).radius)


def ntu_clip(points: int, frames: int, clips: int = 1, seed: int = 0,
             root: Path | None = None) -> torch.Tensor:
    """The NTU sample clip as (clips, frames, points, 3) float32 metres.

    Depth PNGs (uint16 mm, 0 = invalid) -> Kinect v2 back-projection -> each
    frame resampled to ``points`` points; every clip draws its own resampling
    (so the copies of a batch differ in point order and choice).
    """
    import cv2

    folder = (root or shared_data_dir()) / NTU_CLIP
    files = sorted(folder.glob("MDepth-*.png"))
    if len(files) < frames:
        raise FileNotFoundError(f"need {frames} depth frames in {folder}, found {len(files)} "
                                "(set VG4D_SHARED_DATA to the real data)")
    clouds = []
    for f in files[:frames]:
        depth = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        if depth is None or depth.dtype != np.uint16:
            raise ValueError(f"{f} is not a 16-bit depth PNG")
        clouds.append(depth_to_points(depth, KINECT_V2_DEPTH))  # (P, 3) float32, metres
    rng = np.random.default_rng(seed)
    out = np.empty((clips, frames, points, 3), np.float32)
    for c in range(clips):
        for t, cloud in enumerate(clouds):
            out[c, t] = cloud[resample_indices(len(cloud), points, rng)]
    return torch.from_numpy(out)


def uniform_clip(points: int, frames: int, clips: int = 1, seed: int = 0) -> torch.Tensor:
    """(clips, frames, points, 3) float32 uniform in the unit cube."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(clips, frames, points, 3, generator=g)


def ckdtree_ball_query(xyz: np.ndarray, centers: np.ndarray, radius: float, k: int,
                       workers: int) -> np.ndarray:
    """scipy reference: first k neighbours in index order, padded with the first
    (nearest point for empty rows). xyz (B, N, 3), centers (B, M, 3) -> (B, M, k)."""
    from scipy.spatial import cKDTree

    b_size, m = centers.shape[:2]
    out = np.empty((b_size, m, k), np.int64)
    for b in range(b_size):
        tree = cKDTree(xyz[b])
        lists = tree.query_ball_point(centers[b], radius, return_sorted=True, workers=workers)
        empty = [i for i, hits in enumerate(lists) if not hits]
        if empty:
            _, nearest = tree.query(centers[b][empty], k=1, workers=workers)
            for i, j in zip(empty, np.atleast_1d(nearest)):
                lists[i] = [int(j)]
        for i, hits in enumerate(lists):
            row = hits[:k]
            out[b, i, : len(row)] = row
            out[b, i, len(row):] = row[0]
    return out


def _group_fwd_bwd(features: torch.Tensor, idx: torch.Tensor, impl: str) -> Callable[[], Any]:
    grad = torch.ones(*features.shape[:2], *idx.shape[1:], dtype=features.dtype, device=features.device)

    def run():
        f = features.detach().requires_grad_()
        out = ops.group_points(f, idx, impl=impl)
        out.backward(grad)
        return f.grad

    return run


def bench_dataset(name: str, clip: torch.Tensor, radius: float, args, device: torch.device) -> list[dict]:
    """Time every op x implementation on one (B, T, N, 3) clip batch."""
    b_clips, t, n, _ = clip.shape
    frames = clip.reshape(b_clips * t, n, 3).to(device).contiguous()
    native = ops.default_impl(device)
    impls = [native, "torch"]
    if b_clips == 1 and not args.no_naive:
        impls.append("naive")
    g = torch.Generator().manual_seed(1)
    features = torch.randn(b_clips * t, args.channels, n, generator=g).to(device)
    rows: list[dict] = []

    # reference results of the native implementation; every other one must agree
    anchor_idx = ops.furthest_point_sample(frames, args.anchors, impl=native)
    anchors = torch.gather(frames, 1, anchor_idx[..., None].expand(-1, -1, 3)).contiguous()
    nbr_idx = ops.ball_query(frames, anchors, radius, args.k, impl=native)
    # neighbourhood size, for the record (a few frames suffice)
    mean_hits = float((torch.cdist(anchors[:4], frames[:4]) < radius).sum(-1).float().mean())

    def record(op: str, impl: str, fn: Callable[[], Any], repeats: int, check=None) -> None:
        # baselines need no JIT warm-up beyond one call; the kernels get two
        warmup = 2 if impl in ("numba", "triton") else 1
        cpu: list[float] = []

        def timed():
            # process CPU time of every thread: unlike wall time, not inflated
            # when other jobs take the cores (single-threaded runs read clean)
            t0 = time.process_time()
            fn()
            cpu.append((time.process_time() - t0) * 1e3)

        timing = time_call(timed, device=device, warmup=warmup, repeats=repeats)
        timing["cpu_ms"] = statistics.median(cpu[warmup:])
        agree = None
        if check is not None:
            agree = check(fn())
        rows.append({"data": name, "clips": b_clips, "frames": b_clips * t, "op": op, "impl": impl,
                     **{k: round(v, 4) if isinstance(v, float) else v for k, v in timing.items()},
                     "agrees": agree})

    for impl in impls:
        reps = args.repeats if impl == native else (1 if impl == "naive" else min(args.repeats, args.baseline_repeats))
        record("fps", impl, lambda impl=impl: ops.furthest_point_sample(frames, args.anchors, impl=impl), reps,
               lambda out: bool(torch.equal(out, anchor_idx)))
        record("ball_query", impl, lambda impl=impl: ops.ball_query(frames, anchors, radius, args.k, impl=impl),
               reps, lambda out: bool(torch.equal(out, nbr_idx)))
        if impl == native or impl == "naive":  # one gather on every device: timed once (+ the reference)
            record("group_fwd_bwd", "gather" if impl == native else impl,
                   _group_fwd_bwd(features, nbr_idx, impl), reps)
    if device.type == "cpu" and not args.no_ckdtree:
        workers = torch.get_num_threads()
        xs, cs = frames.numpy(), anchors.numpy()
        reps = min(args.repeats, args.baseline_repeats)
        record("ball_query", "ckdtree", lambda: ckdtree_ball_query(xs, cs, radius, args.k, workers), reps,
               lambda out: round(float((torch.from_numpy(out) == nbr_idx).all(-1).float().mean()), 6))
    for impl in impls:
        group_impl = "naive" if impl == "naive" else "gather"
        per_op = [r for r in rows if (r["impl"] == impl and r["op"] in ("fps", "ball_query"))
                  or (r["impl"] == group_impl and r["op"] == "group_fwd_bwd")]
        rows.append({"data": name, "clips": b_clips, "frames": b_clips * t, "op": "total", "impl": impl,
                     **{key: round(sum(r[key] for r in per_op), 4) for key in ("median_ms", "min_ms", "cpu_ms")},
                     "runs": None, "agrees": None})
    base = {(r["op"]): r["median_ms"] for r in rows if r["impl"] == "torch"}
    for r in rows:
        if r["op"] in base and r["median_ms"]:
            r["speedup_vs_torch"] = round(base[r["op"]] / r["median_ms"], 2)
        r["radius"] = radius
        r["mean_neighbours"] = round(mean_hits, 2)
    return rows


def numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vg4d bench ops", description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 32], help="clips per batch (default: 1 and 32)")
    p.add_argument("--points", type=int, default=2048, help="points per frame")
    p.add_argument("--frames", type=int, default=23, help="frames per clip")
    p.add_argument("--anchors", type=int, default=1024, help="FPS samples per frame")
    p.add_argument("-k", type=int, default=9, help="neighbours per anchor")
    p.add_argument("--radius", type=float, default=None,
                   help=f"ball radius for both point sets (default: config/model/{NTU_MODEL}.yaml's radius for ntu, "
                        f"{UNIFORM_RADIUS} for uniform)")
    p.add_argument("--channels", type=int, default=3, help="feature channels grouped (3: conv1 groups xyz)")
    p.add_argument("--data", choices=("ntu", "uniform", "both"), default="both")
    p.add_argument("--repeats", type=int, default=10, help="timed runs of the device's own implementation")
    p.add_argument("--baseline-repeats", type=int, default=3, help="cap on timed runs of the torch/cKDTree baselines")
    p.add_argument("--no-naive", action="store_true", help="skip the naive reference")
    p.add_argument("--no-ckdtree", action="store_true", help="skip scipy's cKDTree")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for numba and torch (default: numba's and torch's own, all cores)")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default results/bench/ops_<device>.json)")
    args = p.parse_args(argv)
    for name in ("points", "frames", "anchors", "k", "repeats", "baseline_repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.anchors > args.points:
        p.error(f"--anchors {args.anchors} exceeds --points {args.points}")
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads must be >= 1, got {args.threads}")
    if any(b < 1 for b in args.batch):
        p.error(f"--batch values must be >= 1, got {args.batch}")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(list(argv))
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("vg4d bench ops: --device cuda but torch.cuda.is_available() is False")
        return 2
    if args.threads is not None:
        import numba

        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
        torch.set_num_threads(args.threads)
    out = args.out or SOURCE_ROOT / "results" / "bench" / f"ops_{device.type}.json"
    datasets = ("ntu", "uniform") if args.data == "both" else (args.data,)
    rows: list[dict] = []
    load_start = os.getloadavg()[0]
    for name in datasets:
        for b in args.batch:
            if name == "ntu":
                clip, radius = ntu_clip(args.points, args.frames, b), ntu_radius()
            else:
                clip, radius = uniform_clip(args.points, args.frames, b), UNIFORM_RADIUS
            radius = args.radius if args.radius is not None else radius
            print(f"[bench ops] {name}: {b} clip(s) x {args.frames} frames x {args.points} points, "
                  f"radius {radius}", flush=True)
            rows += bench_dataset(name, clip, radius, args, device)
    columns = ["data", "clips", "op", "impl", "median_ms", "min_ms", "cpu_ms", "runs", "speedup_vs_torch", "agrees"]
    print_table(rows, columns)
    payload = {
        "benchmark": "ops",
        "machine": machine_info(device),
        "numba_threads": numba_threads(),
        # other jobs share the machine: the 1-minute load average before and after
        "load_average": {"start": load_start, "end": os.getloadavg()[0]},
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "rows": rows,
    }
    print(f"saved {save_json(out, payload)}")
    return 0
