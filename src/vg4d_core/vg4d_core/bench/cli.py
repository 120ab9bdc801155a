"""``vg4d bench {ops,model,preprocess,node,people}``: dispatch to one benchmark module."""
from __future__ import annotations

import importlib
import sys
from typing import Sequence

BENCHMARKS = {
    "ops": ("vg4d_core.bench.ops", "FPS / ball query / grouping: naive, numba, Triton, torch, cKDTree"),
    "model": ("vg4d_core.bench.model", "im-PSTNet: params, FLOPs, latency, throughput, memory"),
    "preprocess": ("vg4d_core.bench.preprocess", "depth frames/s through conversion + sampling"),
    # lives in vg4d_ros (it runs the recogniser); named here as a string, like vg4d's subcommand table
    "node": ("vg4d_ros.programs.bench_node", "recogniser: decode cost, window-to-label latency, sustained input rate"),
    "people": ("vg4d_ros.programs.bench_people", "several people: window-to-label latency for 1-4 people, batched vs one by one"),
}


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: vg4d bench {" + ",".join(BENCHMARKS) + "} [args...]\n")
        for name, (_, help_) in BENCHMARKS.items():
            print(f"  {name:<11} {help_}")
        return 0
    if argv[0] not in BENCHMARKS:
        print(f"vg4d bench: unknown benchmark {argv[0]!r}; choose from {sorted(BENCHMARKS)}", file=sys.stderr)
        return 2
    name = BENCHMARKS[argv[0]][0]
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name.split(".")[0]:  # a missing dependency inside the package: let it show
            raise
        print(f"vg4d bench {argv[0]}: needs the {exc.name} package, which is not installed", file=sys.stderr)
        return 2
    return int(module.main(argv[1:]) or 0)
