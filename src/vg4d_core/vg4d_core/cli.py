"""The ``vg4d`` command line: ``vg4d <subcommand> [args...]``.

Each subcommand lives in its own module exposing ``main(argv) -> int`` and is
imported only when called, so ``vg4d --help`` stays fast and a subcommand's
heavy dependencies never load for another one. This table is the single
list of subcommands (ROS 2 users reach the same programs through
``ros2 run vg4d_core <name>``).
"""
from __future__ import annotations

import importlib
import sys
from typing import Sequence

# name -> ("module:function", one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "train": ("vg4d_core.training.cli:main", "train im-PSTNet from a YAML recipe"),
    "evaluate": ("vg4d_core.evaluation.cli:main", "evaluate a checkpoint: top-1/top-5, per-class, confusion"),
    "preprocess": ("vg4d_core.data.preprocess_cli:main", "convert a raw dataset (NTU RGB+D) into a training cache"),
    "synth": ("vg4d_core.data.synthetic.cli:main", "write synthetic RGB-D action videos in NTU's layout"),
    "seeds": ("vg4d_core.evaluation.seeds:main", "one recipe (the demo, a training recipe) over N seeds: mean ± std"),
    "bench": ("vg4d_core.bench.cli:main", "benchmarks: ops, model, preprocess, node (print + JSON)"),
    "recognize": ("vg4d_ros.transports.dds_node:main", "live action labels from ROS 2 topics over DDS (needs vg4d_ros)"),
    "replay": ("vg4d_ros.bags.replay:main", "recorded ROS 2 bags through the live recogniser: report + output bag"),
    "ntu2bag": ("vg4d_ros.bags.ntu2bag:main", "write NTU RGB+D videos as ROS 2 bags (Kinect v2 topics)"),
    "msr2bag": ("vg4d_ros.bags.msr2bag:main", "write MSR-Action3D videos as ROS 2 bags (16UC1 mm, 15 Hz) + labels"),
    "compress-bag": ("vg4d_ros.bags.compress:main",
                     "a bag's raw images -> image_transport's compressed / compressedDepth topics"),
    "stitch": ("vg4d_ros.bags.streams:main", "stitch trimmed action bags into one stream bag with idle gaps + labels"),
    "people2bag": ("vg4d_ros.bags.people2bag:main",
                   "synthetic multi-person depth bags with per-person ground truth (vision_msgs Detection3DArray)"),
    "composite": ("vg4d_ros.bags.composite:main",
                  "several people in one view: single-person depth bags side by side, per-person ground truth"),
    "people-figure": ("vg4d_ros.programs.people_figure:main",
                      "a picture of one tick of several people: points by track, labels, ground truth"),
    "bag2cache": ("vg4d_ros.bags.bag2cache:main", "cut labelled bags into a training cache (`data.name: bag`)"),
    "demo": ("vg4d_ros.programs.demo:main", "VG4D end to end on synthetic data in minutes on CPU (train, evaluate, replay)"),
    "soak": ("vg4d_ros.programs.soak:main", "the DDS recogniser for minutes at 30 Hz under camera faults: RSS, windows, latency"),
}


def _usage() -> str:
    width = max(len(n) for n in SUBCOMMANDS)
    lines = ["usage: vg4d <subcommand> [args...]", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "`vg4d <subcommand> --help` describes each one."]
    return "\n".join(lines)


def run_subcommand(name: str, argv: Sequence[str]) -> int:
    """Import and run one subcommand; returns its exit code."""
    target, _ = SUBCOMMANDS[name]
    module_name, func_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        package = module_name.split(".")[0]
        if exc.name != package:  # a missing dependency inside the package: let it show
            raise
        print(f"vg4d {name}: needs the {package} package, which is not installed "
              f"(pip install src/{package}, or build it with colcon)", file=sys.stderr)
        return 2
    func = getattr(module, func_name)
    rc = func(list(argv))
    return int(rc or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from vg4d_core import __version__

        print(f"vg4d {__version__}")
        return 0
    name = argv[0]
    if name not in SUBCOMMANDS:
        print(f"vg4d: unknown subcommand {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    return run_subcommand(name, argv[1:])


def strip_ros_args(argv: Sequence[str]) -> list[str]:
    """``argv`` without its ROS argument sections.

    ``ros2 run`` and launch_ros append ``--ros-args -r __node:=NAME ...`` to
    every executable they start. A section runs from ``--ros-args`` to the
    next ``--`` (dropped too) or to the end, and there may be several: the
    rule of ``rclpy.utilities.remove_ros_args``, restated here because this
    package never imports rclpy.
    """
    out: list[str] = []
    in_ros = False
    for arg in argv:
        if arg == "--ros-args":
            in_ros = True
        elif in_ros:
            in_ros = arg != "--"
        else:
            out.append(arg)
    return out


def train_entry(argv: Sequence[str] | None = None) -> int:
    """``ros2 run vg4d_core train`` (the same program as ``vg4d train``; ROS arguments are ignored)."""
    return run_subcommand("train", strip_ros_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
