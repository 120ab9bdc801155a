"""``python -m vg4d_ros.programs.stream_sweep REPORT --out JSON``: event settings swept on recorded verdicts.

A stream replay with ``--verdicts`` records what the event tracker saw: every window's status and
probabilities, the converted frames' stamps and the labelled segments. This program feeds those verdicts
to the real :class:`~vg4d_ros.pipeline.events.EventTracker` under other settings and scores each run with
the real stream metrics (:func:`vg4d_ros.bags.streams.stream_report`), without inferring anything again:

* ``--rates``: window rates to try, each at most the recorded one. A lower rate keeps the recorded windows
  that a :class:`~vg4d_ros.pipeline.window.WindowSchedule` of that rate would form (its grid, the same
  code);
* ``--min-frames``: ``window.min_frames`` values to try, each at least the recorded one: a window of fewer
  frames (after a pause: of the action) is not formed, and the schedule waits for the next that is, as
  :class:`~vg4d_ros.pipeline.window.WindowBuffer` does. With a window recorded at every frame (the
  replay's ``window.rate_hz`` at least the camera's) both are exact: the verdicts kept are those a replay
  with that rate and ``min_frames`` would record. Rerun the replay with the chosen values for the figure
  to commit all the same;
* ``--alphas`` x ``--min-scores``: :class:`~vg4d_ros.pipeline.events.EventSettings`.

It reports every setting's pooled figures, how early the model is first right in each action (the first
recorded window inside it whose top-1 is its label: a bound on the delay no event setting beats), the
top-1 of the windows that begin inside an action by their number of frames (how much of an action the
model needs), and a
**leave-one-stream-out** choice: for each stream, the
setting chosen on the other streams (the shortest median delay among those with F1@50 >= ``--min-f1``;
none: the best F1@50) is scored on that stream, and the held-out streams are pooled. That figure is what
choosing settings on recordings like these gives on a recording not used to choose them; the setting
chosen on all streams is reported too (its figure is optimistic: chosen on the data it is scored on).
With one stream there is no leave-one-out choice (``null``).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from vg4d_core.provenance import save_json
from vg4d_ros.bags.labels import Segment
from vg4d_ros.bags.streams import pooled_report, stream_report
from vg4d_ros.pipeline.events import EventSettings, EventTracker
from vg4d_ros.pipeline.window import WindowConfig, WindowSchedule

SUMMARY_KEYS = ("f1_at_10", "f1_at_25", "f1_at_50", "edit", "frame_accuracy", "median_delay_s", "actions",
                "detected", "missed", "events")


def recorded_streams(report: dict) -> list[dict]:
    """The bags of a replay report that carry recorded verdicts and labelled segments."""
    out = []
    for b in report.get("bags", []):
        v = b.get("verdicts")
        if v and v.get("segments") and v.get("windows"):
            # the probabilities as arrays once, not once per swept setting
            windows = [{**w, "probs": None if w["probs"] is None else np.asarray(w["probs"], np.float64)}
                       for w in v["windows"]]
            out.append({"name": b["name"], **v, "windows": windows})
    if not out:
        raise ValueError("the report has no recorded verdicts with labelled segments: replay the streams with "
                         "--verdicts and --labels (or a ground-truth topic)")
    # a segment whose label the checkpoint does not know can never be detected: every setting would score 0
    known = {n for s in out for n in s["class_names"]}
    labels = {str(label) for s in out for _, _, label in s["segments"]}
    if not labels & known:
        raise ValueError(f"none of the labelled segments' labels {sorted(labels)} is a class of the checkpoint "
                         f"(e.g. {sorted(known)[:3]}): the labels file is for another dataset or class list")
    return out


def thin(windows: list[dict], rate_hz: float, min_frames: int = 0) -> list[dict]:
    """The recorded windows a schedule of ``rate_hz`` (0: as recorded) would form with ``window.min_frames``
    ``min_frames`` (0: as recorded). A window too short is skipped before the schedule is asked, so the
    schedule does not fire on it and the next long enough window is due: the order of
    :meth:`~vg4d_ros.pipeline.window.WindowBuffer.push` (a window's ``num_frames`` counts the frames after
    a pause, the frames that rule counts)."""
    if min_frames > 0:
        windows = [w for w in windows if w["num_frames"] >= min_frames]
    if rate_hz <= 0:
        return windows
    schedule = WindowSchedule(WindowConfig(rate_hz=rate_hz))
    kept = []
    for w in windows:
        if schedule.due(w["stamp_ns"]):
            schedule.fired(w["stamp_ns"])
            kept.append(w)
    return kept


def replay_events(stream: dict, settings: EventSettings, windows: list[dict]) -> dict:
    """One stream's metrics with the events ``settings`` give on ``windows``: its recorded verdicts, thinned
    (:func:`thin`)."""
    tracker = EventTracker(stream["class_names"], settings)
    events = []
    for w in windows:
        if w["status"] == "labelled" and w["probs"] is not None:
            events += tracker.window(w["probs"], w["first_stamp_ns"], w["stamp_ns"])
        elif w["status"] in ("no_person", "still", "unsure"):
            events += tracker.refused(w["stamp_ns"], w["status"])
    if windows:
        events += tracker.reset(windows[-1]["stamp_ns"], "stream_end")
    truth = [Segment(int(s), int(e), str(label)) for s, e, label in stream["segments"]]
    return stream_report(stream["frame_stamps"], truth, events, float(stream["window_s"]))


def first_correct_s(stream: dict, windows: list[dict] | None = None) -> list[float | None]:
    """Per labelled segment: seconds from its first frame to the first window (of ``windows``, default the
    recorded ones), stamped inside the segment, whose top-1 is its label (None: no such window) - how early
    the model can be right, whatever the event settings."""
    names = stream["class_names"]
    windows = stream["windows"] if windows is None else windows
    out: list[float | None] = []
    for start, end, label in stream["segments"]:
        hit = next((w["stamp_ns"] for w in windows if start < w["stamp_ns"] <= end
                    and w["status"] == "labelled" and w["probs"] is not None
                    and names[int(np.argmax(w["probs"]))] == label), None)
        out.append(None if hit is None else (hit - start) / 1e9)
    return out


def accuracy_by_frames(streams: list[dict], max_frames: int = 30) -> dict:
    """Top-1 of the windows that begin inside an action (their first frame in a labelled segment: after a
    pause, the windows of its start, growing frame by frame), by their number of frames (at most
    ``max_frames``): {frames: {"windows", "top1" (percent), "mean_top_prob"}} - how much of an action the
    model needs to see."""
    hits: dict[int, list] = {}
    for s in streams:
        names = s["class_names"]
        for start, end, label in s["segments"]:
            for w in s["windows"]:
                if (w["status"] == "labelled" and w["probs"] is not None and start <= w["first_stamp_ns"]
                        and w["stamp_ns"] <= end and w["num_frames"] <= max_frames):
                    k = int(np.argmax(w["probs"]))
                    hits.setdefault(int(w["num_frames"]), []).append((names[k] == label, float(w["probs"][k])))
    return {str(n): {"windows": len(h), "top1": 100.0 * sum(ok for ok, _ in h) / len(h),
                     "mean_top_prob": float(np.mean([p for _, p in h]))} for n, h in sorted(hits.items())}


def _quartiles(values: list[float | None]) -> dict:
    found = [v for v in values if v is not None]
    q = np.percentile(found, [25, 50, 75]).tolist() if found else [None] * 3
    return {"p25_s": q[0], "median_s": q[1], "p75_s": q[2], "within_1s": sum(v <= 1.0 for v in found),
            "found": len(found), "never": len(values) - len(found)}


def _summary(report: dict) -> dict:
    return {k: report[k] for k in SUMMARY_KEYS}


def choose(results: dict, names: Sequence[str], min_f1: float):
    """The setting with the shortest median delay among those reaching ``min_f1`` F1@50 on the pooled
    ``names`` streams (ties: higher F1@50); when none reaches it, the highest F1@50."""
    best_key, best = None, None
    for setting, per_stream in results.items():
        r = pooled_report([per_stream[n] for n in names])
        delay = r["median_delay_s"] if r["median_delay_s"] is not None else float("inf")
        key = (1, -delay, r["f1_at_50"]) if r["f1_at_50"] >= min_f1 else (0, r["f1_at_50"], -delay)
        if best_key is None or key > best_key:
            best_key, best = key, setting
    return best


def sweep(report: dict, rates: Sequence[float], alphas: Sequence[float], min_scores: Sequence[float],
          min_f1: float, min_frames: Sequence[int] = (0,)) -> dict:
    """Every (rate, min_frames, alpha, min_score) on the recorded verdicts (see the module docstring)."""
    streams = recorded_streams(report)
    # thinning can drop recorded windows, not add any: refuse what the recording cannot show
    window = (report.get("config") or {}).get("window") or {}
    recorded_min, recorded_rate = int(window.get("min_frames") or 0), float(window.get("rate_hz") or 0.0)
    if any(0 < m < recorded_min for m in min_frames):
        raise ValueError(f"--min-frames {list(min_frames)}: the replay recorded windows from "
                         f"window.min_frames={recorded_min} on; replay with a smaller window.min_frames")
    if recorded_rate > 0 and any(r > recorded_rate * (1 + 1e-9) for r in rates):
        raise ValueError(f"--rates {list(rates)}: the replay recorded window.rate_hz={recorded_rate:g}; "
                         f"replay at the highest rate to sweep")
    names = [s["name"] for s in streams]
    results = {}
    thinned = {(rate, m, s["name"]): thin(s["windows"], rate, m) for rate in rates for m in min_frames
               for s in streams}
    for rate, m, alpha, min_score in itertools.product(rates, min_frames, alphas, min_scores):
        settings = EventSettings(alpha=alpha, min_score=min_score)
        results[(rate, m, alpha, min_score)] = {s["name"]: replay_events(s, settings, thinned[rate, m, s["name"]])
                                                for s in streams}

    def named(setting: tuple) -> dict:
        return dict(zip(("rate_hz", "min_frames", "alpha", "min_score"), setting))

    rows = [{**named(k), **_summary(pooled_report(list(v.values())))} for k, v in results.items()]
    folds, held_out = [], []
    for name in names if len(names) > 1 else []:  # one stream: nothing to choose on but itself
        setting = choose(results, [n for n in names if n != name], min_f1)
        held_out.append(results[setting][name])
        folds.append({"held_out": name, **named(setting), **_summary(results[setting][name])})
    on_all = choose(results, names, min_f1)
    return {
        "streams": names, "min_f1": min_f1, "grid": rows,
        "leave_one_stream_out": {"folds": folds, "pooled": _summary(pooled_report(held_out))} if folds else None,
        "chosen_on_all": {**named(on_all), **_summary(pooled_report(list(results[on_all].values())))},
        "first_correct_window": _quartiles([t for s in streams for t in first_correct_s(s)]),
        # the same bound with fewer windows: those min_frames lets through (at the recorded rate)
        "first_correct_window_by_min_frames": {
            str(m): _quartiles([t for s in streams for t in first_correct_s(s, thin(s["windows"], 0.0, m))])
            for m in min_frames},
        "accuracy_by_frames": accuracy_by_frames(streams),
        "recorded": {"replay": report.get("command"), "checkpoint": report.get("checkpoint")},
        "units": {"f1": "0..1", "edit": "percent", "frame_accuracy": "percent", "median_delay_s": "seconds"},
    }


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vg4d_ros.programs.stream_sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report", type=Path, help="report.json of `vg4d replay --verdicts` on labelled streams")
    p.add_argument("--out", required=True, type=Path, help="the JSON to write")
    p.add_argument("--rates", default="0", help="window rates (Hz, comma-separated; 0 = as recorded)")
    p.add_argument("--min-frames", default="0",
                   help="window.min_frames values (comma-separated, each at least the recorded; 0 = as recorded)")
    p.add_argument("--alphas", default="1.0,0.8,0.7,0.6,0.5")
    p.add_argument("--min-scores", default="0.3,0.4,0.5,0.6")
    p.add_argument("--min-f1", type=float, default=0.80, help="F1@50 a chosen setting must reach")
    args = p.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
        min_frames = [int(x) for x in _floats(args.min_frames)]
        if any(m < 0 for m in min_frames):
            raise ValueError(f"--min-frames must be >= 0, got {args.min_frames!r}")
        out = sweep(report, _floats(args.rates), _floats(args.alphas), _floats(args.min_scores), args.min_f1,
                    min_frames)
    except (OSError, ValueError, KeyError) as exc:
        print(f"stream_sweep: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    save_json(args.out, out)
    for row in out["grid"]:
        print(f"rate {row['rate_hz']:>4} min_frames {row['min_frames']} alpha {row['alpha']:.2f} "
              f"min_score {row['min_score']:.2f}: F1@50 {row['f1_at_50']:.3f} edit {row['edit']:.1f} "
              f"frame {row['frame_accuracy']:.1f} % median delay {row['median_delay_s']} s missed {row['missed']}")
    loso, chosen = out["leave_one_stream_out"], out["chosen_on_all"]
    if loso is not None:
        print(f"leave one stream out: F1@50 {loso['pooled']['f1_at_50']:.3f}, median delay "
              f"{loso['pooled']['median_delay_s']} s")
    print(f"chosen on all streams: rate {chosen['rate_hz']} min_frames {chosen['min_frames']} "
          f"alpha {chosen['alpha']} min_score {chosen['min_score']}: F1@50 {chosen['f1_at_50']:.3f}, "
          f"median delay {chosen['median_delay_s']} s")
    fc = out["first_correct_window"]
    print(f"first correct window after an action's start (recorded windows): p25 / median / p75 {fc['p25_s']} / "
          f"{fc['median_s']} / {fc['p75_s']} s, {fc['never']} actions never")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
