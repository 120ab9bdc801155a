"""``vg4d preprocess ntu``: the command line of :mod:`vg4d_core.data.preprocess`.

::

    vg4d preprocess ntu --root RAW --out CACHE --workers N [--points 2048]
                        [--convention kinect_v2|pstnet] [--no-rgb] [--rgb-size 224]
                        [--limit N]

Exit status: 0 when every video is cached, 1 when some video failed, 2 for
bad options or input (an option out of range, a cache made with other
settings, a missing root, a root with no NTU video folder).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from vg4d_core.data import preprocess
from vg4d_core.data.cache import CacheSettings
from vg4d_core.data.preprocess import run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vg4d preprocess", description="convert a raw dataset into a training cache")
    sub = parser.add_subparsers(dest="dataset", required=True)
    p = sub.add_parser("ntu", help="NTU RGB+D 60/120 (masked depth PNGs + RGB AVIs)",
                       description=preprocess.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True, type=Path, help="folder holding nturgb+d_depth_masked/ and nturgb+d_rgb/")
    p.add_argument("--out", required=True, type=Path, help="cache folder (created; re-use it to resume)")
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)), help="processes (default: all cores)")
    p.add_argument("--points", type=int, default=CacheSettings.points_per_frame, help="points stored per frame")
    p.add_argument("--convention", default="kinect_v2", choices=["kinect_v2", "pstnet"],
                   help="kinect_v2: metres with Kinect v2 intrinsics; pstnet: PSTNet's focal-280 units")
    p.add_argument("--no-rgb", action="store_true", help="depth only (no RGB frames in the cache)")
    p.add_argument("--rgb-size", type=int, default=CacheSettings.rgb_size)
    p.add_argument("--rgb-fit", default=CacheSettings.rgb_fit, choices=["crop", "stretch", "pad"])
    p.add_argument("--seed", type=int, default=0, help="seed of the per-frame point subsets")
    p.add_argument("--limit", type=int, default=None,
                   help="convert only the first N videos in name order (N >= 1; default: all)")
    p.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: Sequence[str]) -> int:
    """Run ``vg4d preprocess``; returns the exit status (argparse exits with 2 on bad options)."""
    parser = _parser()
    args = parser.parse_args(list(argv))
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    if args.limit is not None and args.limit < 1:
        # a negative N would silently drop the last videos ([:-1]) and 0 would convert nothing
        parser.error(f"--limit must be >= 1 (a number of videos), got {args.limit}")
    try:
        settings = CacheSettings(convention=args.convention, points_per_frame=args.points, rgb=not args.no_rgb,
                                 rgb_size=args.rgb_size, rgb_fit=args.rgb_fit, seed=args.seed)
        report = run(args.root, args.out, settings, workers=args.workers, limit=args.limit,
                     progress=not args.no_progress)
    except (ValueError, FileNotFoundError) as exc:
        print(f"vg4d preprocess ntu: error: {exc}", file=sys.stderr)
        return 2
    return 1 if report["videos_failed"] else 0
