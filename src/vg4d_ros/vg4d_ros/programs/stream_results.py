"""``python -m vg4d_ros.programs.stream_results``: the committed parity and stream figures from the reports.

Reads ``vg4d evaluate``'s ``metrics.json`` (on a bag cache), the ``report.json`` of ``vg4d replay`` on the
same test bags (each one trimmed video) and, optionally, the ``report.json`` of a replay of stitched
streams, and writes:

* ``--parity OUT``: ``evaluate_video_top1`` (evaluate's video top-1 on the cache), ``replay_video_top1``
  (the replay's per-segment verdicts: each labelled segment classified as one trimmed video through the
  live converter and model), ``replay_window_top1`` (live windows that lie inside one labelled segment; a
  window not labelled counts as wrong), their gaps, counts, the windows' settings and latency;
* ``--stream OUT``: ``f1_at_10``, ``f1_at_25``, ``f1_at_50`` (0..1), ``edit``, ``frame_accuracy`` (percent),
  ``median_delay_s`` and the detected / missed counts, from the stream replay's pooled report;

each with the commands of the reports it read, the commit and the machine (``vg4d_core.provenance``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from vg4d_core.provenance import save_json


def _load(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def parity(metrics: dict, report: dict) -> dict:
    s = report["summary"]
    ev, video, window = float(metrics["top1"]), s["segment_top1"], s["window_top1"]
    stats = [b.get("recognizer") or {} for b in report.get("bags", [])]
    window_cfg = next((st.get("window") for st in stats if st.get("window")), None)
    return {
        "evaluate_video_top1": ev, "replay_video_top1": video, "replay_window_top1": window,
        "replay_minus_evaluate": None if video is None else video - ev,
        "window_minus_video": None if window is None or video is None else window - video,
        "videos": s["segments"], "windows_inside": s["inside_windows"], "evaluate_videos": metrics.get("num_videos"),
        "window": window_cfg, "latency_ms_p50": s["latency_ms_p50"], "latency_ms_p95": s["latency_ms_p95"],
        "units": "percent",
        "definitions": {
            "replay_video_top1": "each labelled segment of the replayed test bags classified as one trimmed video: "
                                 "its frames through the live frame converter, the checkpoint's test views, the "
                                 "live predictor",
            "replay_window_top1": "live windows whose frames all lie in one labelled segment; a window not "
                                  "labelled (no person, unsure) counts as wrong"},
        "sources": {"evaluate": metrics.get("command"), "replay": report.get("command")},
        "checkpoint": metrics.get("checkpoint"),
    }


def stream(report: dict) -> dict:
    s = report["summary"]["stream"]
    if s is None:
        raise ValueError("the replay report has no stream figures (no labelled segments?)")
    keys = ("f1_at_10", "f1_at_25", "f1_at_50", "edit", "frame_accuracy", "median_delay_s", "actions", "detected",
            "missed", "events", "streams")
    return {**{k: s[k] for k in keys}, "units": {"f1": "0..1", "edit": "percent", "frame_accuracy": "percent",
                                                  "median_delay_s": "seconds"},
            "sources": {"replay": report.get("command")}}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vg4d_ros.programs.stream_results", description=__doc__.split("\n\n")[0])
    p.add_argument("--metrics", help="vg4d evaluate's metrics.json (with --parity)")
    p.add_argument("--replay", help="report.json of vg4d replay on the test bags (with --parity)")
    p.add_argument("--parity", type=Path, help="write the parity figures here")
    p.add_argument("--training", action="append", default=[],
                   help="a command that trained the checkpoint (repeat for each stage, in order): kept in the parity figures")
    p.add_argument("--stream-replay", help="report.json of vg4d replay on stitched streams (with --stream)")
    p.add_argument("--stream", type=Path, help="write the stream figures here")
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        if args.parity:
            figures = parity(_load(args.metrics), _load(args.replay))
            if args.training:
                figures["training"] = {"commands": list(args.training)}
            save_json(args.parity, figures)
            print(f"{args.parity}: evaluate {figures['evaluate_video_top1']:.2f} %, replay video "
                  f"{figures['replay_video_top1']:.2f} %, replay window {figures['replay_window_top1']:.2f} %")
        if args.stream:
            figures = stream(_load(args.stream_replay))
            save_json(args.stream, figures)
            print(f"{args.stream}: F1@10/25/50 {figures['f1_at_10']:.3f} / {figures['f1_at_25']:.3f} / "
                  f"{figures['f1_at_50']:.3f}, edit {figures['edit']:.1f}, frame accuracy "
                  f"{figures['frame_accuracy']:.1f} %, median delay {figures['median_delay_s']} s")
    except (OSError, KeyError, TypeError, ValueError) as exc:
        print(f"stream_results: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
