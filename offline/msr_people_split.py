"""Is one real person one whole track? People mode's candidates and tracks on every MSR-Action3D frame.

    python offline/msr_people_split.py [--root ../shared/data/msr_action3d] [--out results/people_msr_split.json]
        [--variant name=field=value,...]

MSR-Action3D holds one person per video, so people mode should find exactly one person in every frame
and, once the track is confirmed, give it every foreground point. Per video: its depth as ``vg4d
msr2bag`` writes it (raw x 5 mm, the literature's camera), each frame back-projected to metres,
``split_people`` with the recogniser's default people settings, then ``PersonTracker`` with the default
track settings (15 Hz stamps). Counted from the frame at which a track can first be confirmed
(``birth_frames``):

* split frames: frames with more than one person candidate;
* frames not whole: not exactly one confirmed track, or a tentative one beside it, or the confirmed
  track's cloud lacks some candidate's points;
* extra tracks: confirmed tracks beyond the first per video (a piece of the person taken for another).

``--variant nojoin=join_along_m=0`` repeats the tracking with other :class:`TrackSettings` fields.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

from vg4d_core.data.depth import MSR_ACTION3D_DEPTH, depth_to_points
from vg4d_core.data.msr_action3d import CLASS_NAMES, load_depth_video, parse_name
from vg4d_core.provenance import save_json
from vg4d_ros.bags.msr2bag import MM_PER_RAW_UNIT, RATE_HZ
from vg4d_ros.pipeline.people import split_people
from vg4d_ros.pipeline.tracks import PersonTracker, TrackSettings


def video_frames(path: Path) -> list[np.ndarray]:
    """(P, 3) float32 metres per frame, as the recogniser converts an msr2bag depth image."""
    depth = load_depth_video(path).astype(np.uint16) * MM_PER_RAW_UNIT
    return [depth_to_points(d, MSR_ACTION3D_DEPTH) for d in depth]


def track_video(frames: list[np.ndarray], candidates: list[list], settings: TrackSettings) -> dict:
    """The counts of the module docstring for one video's frames and their ``split_people`` candidates."""
    tracker = PersonTracker(settings)
    period_ns = round(1e9 / RATE_HZ)
    ids: set[str] = set()
    split = not_whole = 0
    bad: list[int] = []
    for t, (pts, cands) in enumerate(zip(frames, candidates)):
        frame = tracker.update(1_000_000_000 + t * period_ns, pts, cands)
        ids |= {p.track_id for p in frame.confirmed}
        if t < settings.birth_frames - 1:
            continue
        split += len(cands) > 1
        whole = (len(frame.confirmed) == 1 and not frame.tentative
                 and frame.confirmed[0].candidate.num_points == sum(c.num_points for c in cands))
        if not whole:
            not_whole += 1
            bad.append(t)
    return {"frames": max(0, len(frames) - settings.birth_frames + 1), "split_frames": split,
            "frames_not_whole": not_whole, "extra_tracks": max(0, len(ids) - 1), "not_whole_at": bad}


def main(argv=None) -> int:
    data = Path(os.environ.get("VG4D_SHARED_DATA", "../shared/data"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=data / "msr_action3d", help="the MSR-Action3D .mat videos")
    ap.add_argument("--out", type=Path, default=Path("results/people_msr_split.json"))
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=field=value[,field=value...]: TrackSettings fields of one more run")
    args = ap.parse_args(argv)
    files = sorted(args.root.glob("*_sdepth.mat"))
    if not files:
        ap.error(f"no MSR-Action3D videos (*_sdepth.mat) under {args.root}")
    runs = {"default": TrackSettings()}
    for v in args.variant:
        name, _, fields = v.partition("=")
        try:
            pairs = [f.split("=", 1) for f in fields.split(",")]
            runs[name] = TrackSettings(**{k: type(getattr(TrackSettings(), k))(x) for k, x in pairs})
        except (ValueError, TypeError, AttributeError) as e:
            ap.error(f"--variant {v!r}: {e}")
    per_run: dict[str, dict] = {name: {"videos": {}} for name in runs}
    for path in files:
        frames = video_frames(path)
        candidates = [split_people(pts) for pts in frames]  # the same for every run: only tracking differs
        for name, settings in runs.items():
            r = track_video(frames, candidates, settings)
            if r["split_frames"] or r["frames_not_whole"] or r["extra_tracks"]:
                r["class"] = CLASS_NAMES[parse_name(path.name).label]
                per_run[name]["videos"][path.name.removesuffix("_sdepth.mat")] = r
            for k in ("frames", "split_frames", "frames_not_whole", "extra_tracks"):
                per_run[name][k] = per_run[name].get(k, 0) + r[k]
        per_run_summary = "; ".join(f"{n}: {s['frames_not_whole']} not whole" for n, s in per_run.items())
        print(f"{path.name}: {per_run_summary}", end="\r", flush=True)
    print()
    for name, s in per_run.items():
        s["videos_not_whole"] = sum(1 for v in s["videos"].values() if v["frames_not_whole"])
        s["settings"] = dataclasses.asdict(runs[name])
        print(f"{name}: {s['split_frames']} split frames; {s['frames_not_whole']} of {s['frames']} frames not one "
              f"whole track in {s['videos_not_whole']} of {len(files)} videos; {s['extra_tracks']} extra tracks")
    result = {"videos": len(files), "runs": per_run,
              "sources": {"root": str(args.root), "command": "python offline/msr_people_split.py "
                          + " ".join(sys.argv[1:] if argv is None else argv)}}
    print(f"wrote {save_json(args.out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
