"""Open-set study of the recogniser's confidence threshold (``guards.confidence_threshold``).

A model trained without some classes (``data.exclude_classes``) is shown the
test videos of every class; the videos of the left-out classes are the
"unknown action" input. The recogniser withholds a label when the top-1
probability of its primary score is below the threshold (``p < t``), so for
each threshold ``t`` this reports

* ``unknown_withheld``: the share of held-out-class videos (or windows) withheld,
* ``known_withheld``: the share of known-class videos (windows) withheld,
* ``known_accuracy_labelled``: top-1 accuracy on the known-class videos that
  are still labelled, and ``known_correct_labelled`` (correct labels / all known).

Two levels, both with the predictor the recogniser uses
(:func:`vg4d_core.runtime.predictor.predictor_from_checkpoint`):

* videos: the checkpoint's test split with the class restriction lifted,
  scored as ``vg4d evaluate`` scores it (the primary table: ``fused`` when
  present, else the first score, which is ``primary: auto`` in the recogniser);
* windows: a ``vg4d replay`` ``report.json`` made with the threshold off (0),
  whose windows carry their top-1 probability (``score``); the held-out
  classes are its ``unknown_label`` windows. The replay's ``end`` window of
  each bag is its video-level decision.

    python -m vg4d_core.evaluation.open_set --fold steps=runs/open_set/synthetic_steps/last.pt \\
        [--replay steps=runs/open_set/synthetic_steps/replay/report.json] --out results/open_set_synthetic.json

``offline/open_set.sh`` runs the whole study (training, bags, replay, this).
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vg4d_core.data.factory import build_split
from vg4d_core.provenance import save_json
from vg4d_core.runtime.predictor import predictor_from_checkpoint, read_checkpoint
from vg4d_core.runtime.scoring import primary_score, score_dataset

THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(20))  # 0.00 .. 0.95


def sweep(top1_prob: Sequence[float], known: Sequence[bool], correct: Sequence[bool],
          thresholds: Sequence[float] = THRESHOLDS) -> list[dict[str, Any]]:
    """One row per threshold: the withheld shares (percent) of unknown and known inputs and the
    accuracy on the known inputs still labelled. An input is withheld when ``top1_prob < t``
    (the recogniser's rule). ``correct`` is only read for known inputs. Empty groups give None."""
    p = np.asarray(top1_prob, dtype=np.float64)
    known = np.asarray(known, dtype=bool)
    correct = np.asarray(correct, dtype=bool) & known
    if not (p.shape == known.shape == correct.shape):
        raise ValueError(f"lengths differ: {p.shape}, {known.shape}, {correct.shape}")

    def pct(num: int, den: int) -> float | None:
        return None if den == 0 else round(100.0 * num / den, 2)

    rows = []
    n_known, n_unknown = int(known.sum()), int((~known).sum())
    for t in thresholds:
        labelled = p >= t
        lk = labelled & known
        rows.append({
            "threshold": float(t),
            "unknown_withheld": pct(int((~labelled & ~known).sum()), n_unknown),
            "known_withheld": pct(int((~labelled & known).sum()), n_known),
            "known_accuracy_labelled": pct(int((lk & correct).sum()), int(lk.sum())),
            "known_correct_labelled": pct(int((lk & correct).sum()), n_known),
            "unknown": n_unknown, "known": n_known,
        })
    return rows


def summary_stats(top1_prob: Sequence[float], known: Sequence[bool]) -> dict[str, Any]:
    """Quartiles of the top-1 probability of known and unknown inputs (how separable they are)."""
    p = np.asarray(top1_prob, dtype=np.float64)
    known = np.asarray(known, dtype=bool)
    out = {}
    for name, sel in (("known", known), ("unknown", ~known)):
        q = np.percentile(p[sel], [25, 50, 75]).round(4).tolist() if sel.any() else None
        out[name] = {"count": int(sel.sum()), "top1_prob_quartiles": q,
                     "top1_prob_mean": round(float(p[sel].mean()), 4) if sel.any() else None}
    out["auroc_known_vs_unknown"] = _auroc(p[known], p[~known])
    return out


def _auroc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """P(a known input's top-1 probability > an unknown one's), ties count half."""
    if not len(pos) or not len(neg):
        return None
    gt = (pos[:, None] > neg[None, :]).mean()
    eq = (pos[:, None] == neg[None, :]).mean()
    return round(float(gt + 0.5 * eq), 4)


def score_videos(checkpoint: str, *, batch_size: int = 32, progress: bool = False) -> dict[str, Any]:
    """The checkpoint's test split with its class restriction lifted, scored by the recogniser's
    predictor: per video the true class name, the top-1 name and probability of the primary score."""
    ck = read_checkpoint(checkpoint)
    data = dict(ck.data_config)
    held_out = {"classes": list(data.get("classes") or []), "exclude_classes": list(data.get("exclude_classes") or [])}
    data["classes"], data["exclude_classes"] = [], []
    dataset = build_split(data, "test")
    predictor, _ = predictor_from_checkpoint(ck, device="cpu", amp="off")
    # the scorer checks labels against the model's K classes: the true class goes aside, by video id
    truth_of = {vid: dataset.class_names[y] for vid, y in zip(dataset.video_ids, dataset.labels)}
    scores = score_dataset(predictor, _NoLabels(dataset), batch_size=batch_size, progress=progress)
    primary = primary_score(list(scores.tables))
    table = scores.tables[primary]
    names = list(ck.class_names)
    truth = [truth_of[v] for v in scores.videos]
    pred = [names[int(i)] for i in table.argmax(axis=1)]
    return {"checkpoint": str(checkpoint), "score": primary, "known_classes": names,
            "held_out_classes": sorted(set(dataset.class_names) - set(names), key=dataset.class_names.index),
            "restriction": held_out, "videos": scores.videos, "truth": truth, "pred": pred,
            "top1_prob": table.max(axis=1).astype(float).tolist(), "known": [t in names for t in truth]}


class _NoLabels:
    """A dataset's items with ``label`` 0 (the held-out classes have no index in the model)."""

    def __init__(self, base) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict:
        return {**self.base[i], "label": 0}


def replay_windows(report_path: str) -> dict[str, Any]:
    """Window- and end-window-level records of a ``vg4d replay`` report made with the threshold off."""
    import json

    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    thr = (report.get("config") or {}).get("guards", {}).get("confidence_threshold", 0.0)
    if thr:
        raise ValueError(f"{report_path}: replayed with confidence_threshold={thr}; replay with 0 to sweep")
    out: dict[str, dict[str, list]] = {k: {"top1_prob": [], "known": [], "correct": [], "truth": []}
                                       for k in ("window", "end")}
    not_classified: dict[str, int] = {}
    for bag in report["bags"]:
        for w in bag["windows"]:
            if w["label"] is None:
                continue
            if w["status"] != "labelled":  # no person in view etc.: never classified, nothing to sweep
                not_classified[w["status"]] = not_classified.get(w["status"], 0) + 1
                continue
            rec = out["end" if w["kind"] == "end" else "window"]
            rec["top1_prob"].append(float(w["score"]))
            rec["known"].append(not w["unknown_label"])
            rec["correct"].append(bool(w["correct"]))
            rec["truth"].append(w["label"])
    return {"report": str(report_path), "levels": out, "not_classified": not_classified,
            "bags": len(report["bags"]), "summary": {k: report["summary"].get(k) for k in
                                                     ("windows", "window_accuracy", "videos", "video_accuracy")}}


def _per_class(top1_prob, truth, known, threshold_list=(0.5, 0.7, 0.8)) -> dict[str, Any]:
    p = np.asarray(top1_prob)
    out = {}
    for name in dict.fromkeys(truth):
        sel = np.array([t == name for t in truth])
        out[name] = {"known": bool(np.asarray(known)[sel][0]), "count": int(sel.sum()),
                     "median_top1_prob": round(float(np.median(p[sel])), 4),
                     **{f"withheld_at_{t:g}": round(100.0 * float((p[sel] < t).mean()), 2) for t in threshold_list}}
    return out


def fold_result(name: str, checkpoint: str, replay_report: str | None, *, progress: bool = False) -> dict[str, Any]:
    v = score_videos(checkpoint, progress=progress)
    correct = [k and t == p for t, p, k in zip(v["truth"], v["pred"], v["known"])]
    res: dict[str, Any] = {
        "fold": name, "checkpoint": checkpoint, "score": v["score"], "known_classes": v["known_classes"],
        "held_out_classes": v["held_out_classes"], "restriction": v["restriction"],
        "videos": {"count": len(v["videos"]), **summary_stats(v["top1_prob"], v["known"]),
                   "known_top1_at_0": sweep(v["top1_prob"], v["known"], correct, [0.0])[0]["known_accuracy_labelled"],
                   "sweep": sweep(v["top1_prob"], v["known"], correct),
                   "per_class": _per_class(v["top1_prob"], v["truth"], v["known"]),
                   # the pred of a held-out video: which known class it is mistaken for
                   "held_out_predicted_as": _counts([p for p, k in zip(v["pred"], v["known"]) if not k])},
    }
    if replay_report:
        r = replay_windows(replay_report)
        res["replay"] = {"report": r["report"], "bags": r["bags"], "not_classified": r["not_classified"],
                         "summary": r["summary"]}
        for level, rec in r["levels"].items():
            key = "windows" if level == "window" else "end_windows"
            res["replay"][key] = {"count": len(rec["top1_prob"]), **summary_stats(rec["top1_prob"], rec["known"]),
                                  "sweep": sweep(rec["top1_prob"], rec["known"], rec["correct"]),
                                  "per_class": _per_class(rec["top1_prob"], rec["truth"], rec["known"])}
    return res


def _counts(items: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def format_sweep(rows: Sequence[dict[str, Any]], title: str) -> str:
    def f(x):
        return "   -  " if x is None else f"{x:6.2f}"

    lines = [title, "  thr  unknown withheld %  known withheld %  known acc. labelled %  known correct+labelled %"]
    for r in rows:
        lines.append(f"  {r['threshold']:.2f}      {f(r['unknown_withheld'])}          {f(r['known_withheld'])}"
                     f"             {f(r['known_accuracy_labelled'])}                 {f(r['known_correct_labelled'])}")
    return "\n".join(lines)


def payload_command(argv: Sequence[str]) -> str:
    return shlex.join(["python", "-m", "vg4d_core.evaluation.open_set", *argv])


def markdown(folds: Sequence[dict[str, Any]], thresholds: Sequence[float] = (0.0, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95)
             ) -> str:
    """The sweep of every fold and level as markdown tables (a subset of the thresholds)."""
    out = []
    for f in folds:
        levels = [("videos", f["videos"])]
        if "replay" in f:
            levels += [("replay windows", f["replay"]["windows"]), ("replay end windows (per bag)",
                                                                    f["replay"]["end_windows"])]
        for title, lv in levels:
            out += [f"**{f['fold']}** - held out {', '.join(f['held_out_classes'])}; {title}: "
                    f"{lv['known']['count']} known / {lv['unknown']['count']} unknown, score {f['score']}, "
                    f"AUROC known vs unknown {lv['auroc_known_vs_unknown']}", "",
                    "| threshold | unknown withheld % | known withheld % | known accuracy among labelled % |",
                    "|---|---|---|---|"]
            for r in lv["sweep"]:
                if any(abs(r["threshold"] - t) < 1e-9 for t in thresholds):
                    cells = ["-" if r[k] is None else f"{r[k]:.1f}" for k in
                             ("unknown_withheld", "known_withheld", "known_accuracy_labelled")]
                    out.append(f"| {r['threshold']:.2f} | " + " | ".join(cells) + " |")
            out.append("")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m vg4d_core.evaluation.open_set", description=__doc__.split("\n\n")[0])
    p.add_argument("--fold", action="append", required=True, metavar="NAME=CKPT",
                   help="a checkpoint trained without some classes (data.exclude_classes / data.classes)")
    p.add_argument("--replay", action="append", default=[], metavar="NAME=REPORT",
                   help="a vg4d replay report.json of that fold's checkpoint, threshold 0")
    p.add_argument("--out", required=True, help="results JSON")
    p.add_argument("--note", action="append", default=[], help="free text kept in the JSON (e.g. the exact commands)")
    p.add_argument("--commands", help="a text file of the commands that made the inputs, one a line, kept in the JSON")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args(argv)

    replays = dict(s.split("=", 1) for s in args.replay)
    folds = []
    for spec in args.fold:
        name, sep, ck = spec.partition("=")
        if not sep:
            p.error(f"--fold takes NAME=CKPT, got {spec!r}")
        res = fold_result(name, ck, replays.get(name), progress=args.progress)
        folds.append(res)
        print(f"\nfold {name}: held out {res['held_out_classes']}; score {res['score']}; "
              f"AUROC known vs unknown (videos) {res['videos']['auroc_known_vs_unknown']}")
        print(format_sweep(res["videos"]["sweep"], f"videos ({res['videos']['count']})"))
        if "replay" in res:
            print(format_sweep(res["replay"]["windows"]["sweep"],
                               f"replay windows ({res['replay']['windows']['count']} classified)"))
    commands = []
    if args.commands:
        commands = [ln.rstrip("\n") for ln in Path(args.commands).read_text(encoding="utf-8").splitlines() if ln.strip()]
    payload = {"study": "open-set: confidence threshold on held-out classes", "rule": "withheld iff top-1 p < threshold",
               "thresholds": list(THRESHOLDS), "units": "percent", "commands": commands, "notes": args.note,
               "folds": folds}
    save_json(args.out, payload, command=payload_command(argv))
    md = Path(args.out).with_suffix(".md")
    md.write_text(f"Open-set sweep (written by `{payload_command(argv)}`; figures in {Path(args.out).name})\n\n"
                  + markdown(folds), encoding="utf-8")
    print(f"\nwrote {args.out} and {md}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
