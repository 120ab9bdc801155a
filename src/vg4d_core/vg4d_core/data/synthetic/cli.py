"""``vg4d synth``: write synthetic RGB-D action videos in NTU's layout."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from vg4d_core.data.config import SyntheticConfig
from vg4d_core.data.synthetic.ntu_layout import write_ntu_layout
from vg4d_core.data.synthetic.scene import CLASS_NAMES


def main(argv: Sequence[str]) -> int:
    """``vg4d synth``: write synthetic RGB-D action videos in NTU's layout."""
    parser = argparse.ArgumentParser(prog="vg4d synth", description=main.__doc__)
    parser.add_argument("--out", required=True, type=Path,
                        help="root folder (gets nturgb+d_depth_masked/ and nturgb+d_rgb/)")
    parser.add_argument("--videos", type=int, default=64, help="number of videos (class = index %% 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-frames", type=int, default=SyntheticConfig.min_frames)
    parser.add_argument("--max-frames", type=int, default=SyntheticConfig.max_frames)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--room", action="store_true",
                        help="unmasked depth: floor, back wall and side wall too, like a live sensor")
    parser.add_argument("--room-back-wall", type=float, default=SyntheticConfig.room_back_wall_m,
                        help="room: back wall this far behind the subject, metres (default %(default)s)")
    parser.add_argument("--room-side-wall", type=float, default=SyntheticConfig.room_side_wall_m,
                        help="room: side wall at this x right of the camera axis, metres; 0 = none "
                             "(default %(default)s)")
    args = parser.parse_args(list(argv))
    try:
        cfg = SyntheticConfig(min_frames=args.min_frames, max_frames=args.max_frames, image_scale=1.0,
                              room=args.room, room_back_wall_m=args.room_back_wall,
                              room_side_wall_m=args.room_side_wall)
    except ValueError as exc:
        parser.error(str(exc))
    t0 = time.perf_counter()
    names = write_ntu_layout(args.out, args.videos, seed=args.seed, cfg=cfg, workers=args.workers)
    print(f"wrote {len(names)} synthetic videos ({len(CLASS_NAMES)} classes{', room' if args.room else ''}) "
          f"to {args.out} "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0
