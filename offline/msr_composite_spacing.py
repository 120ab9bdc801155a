"""People closer together, and three in a row: ``offline/msr_composite.py`` at several spacings, with and
without the split between heads, collected into one JSON (``results/people_msr_composite_spacing.json``).

    python offline/msr_composite_spacing.py --bags runs/msr_bags/bags --checkpoint runs/msr_bags/lite/last.pt \
        [--out results/people_msr_composite_spacing.json] [--work runs/msr_composite]

Rows (MSR-Action3D test recordings of subjects 6-10 composited side by side, seed 0):

* two people, 20 pairs, centres 0.5 / 0.7 / 1.0 m apart; ``before``: connected components and the width
  split only (``people.split_dip_m=10`` turns the split between heads off), ``after``: the defaults;
* three people in a row, 15 groups, 1.0 and 0.7 m apart, the defaults;
* one person alone through people mode: ``vg4d replay`` of subject 6's bags with ``people.enabled=true``
  against the single-person path (top-1 of the live windows - people mode forms no end-of-bag window -,
  how many windows were scored differently, in how many bags a second track was born).

Per row: per-person top-1 together over every person-tick of the ground truth (a missed person counts as
wrong) and over the matched ones, the same person-ticks alone, tracking counts (see msr_composite.py).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import msr_composite  # noqa: E402  (the one composite experiment; this script only varies it)

from vg4d_core.cli import main as vg4d  # noqa: E402
from vg4d_core.provenance import save_json  # noqa: E402

SPLIT_OFF = "people.split_dip_m=10"


def _row(bags: Path, checkpoint: str, work: Path, tmp: Path, *, pairs: int, people: int, spacing: float,
         overrides: list[str]) -> dict:
    out = tmp / f"p{people}_{spacing:g}_{'off' if overrides else 'on'}.json"
    argv = ["--bags", str(bags), "--checkpoint", checkpoint, "--pairs", str(pairs), "--people", str(people),
            "--spacing", str(spacing), "--work", str(work), "--out", str(out), *overrides]
    if msr_composite.main(argv) != 0:
        raise SystemExit(f"msr_composite.py {' '.join(argv)} failed")
    got = json.loads(out.read_text())
    tracking = got["tracking"]
    # over every person-tick of the ground truth: a missed person counts as wrong
    right = sum(1 for r in got["rows"] if r["together"] == r["label"])
    together_all = 100.0 * right / max(tracking["person_instances"], 1)
    return {"spacing_m": spacing, "people": people, "groups": pairs, "person_ticks": got["person_ticks"],
            "compared": got["compared"], "top1": got["top1"], "together_over_all_person_ticks": together_all,
            "right_alone_right_together": got["right_alone_right_together"], "tracking": tracking,
            "command": "python offline/msr_composite.py " + " ".join(a if a != str(out) else "OUT" for a in argv)}


def _single_person(bags: Path, checkpoint: str, tmp: Path) -> dict:
    names = sorted(str(p) for p in bags.iterdir() if p.is_dir() and "_s06_" in p.name)
    rows = {}
    for mode, extra in (("people", ["people.enabled=true"]), ("single", [])):
        out = tmp / f"s06_{mode}"
        argv = ["replay", *names, "--checkpoint", checkpoint, "--labels", str(bags / "labels.yaml"), "--out",
                str(out), "--quiet", "--no-progress", "--no-segment-verdicts", *extra]
        if vg4d(argv) != 0:
            raise SystemExit(f"vg4d {' '.join(argv[:3])} ... failed")
        rows[mode] = json.loads((out / "report.json").read_text())
    second = sum(1 for b in rows["people"]["bags"] if len({e["track_id"] for e in b["events"]}) > 1)

    def live(report):  # the live windows only (people mode has no end-of-bag window)
        ws = [w for b in report["bags"] for w in b["windows"] if w["kind"] == "window" and w["status"] == "labelled"]
        return 100.0 * sum(bool(w["correct"]) for w in ws) / max(len(ws), 1), len(ws)

    (people, n_people), (single, n_single) = live(rows["people"]), live(rows["single"])
    same = {(b["name"], w["stamp_ns"]): w["score"] for b in rows["single"]["bags"] for w in b["windows"]
            if w["kind"] == "window"}
    differ = sum(1 for b in rows["people"]["bags"] for w in b["windows"]
                 if abs(same.get((b["name"], w["stamp_ns"]), -1.0) - w["score"]) > 1e-4)
    return {"command": f"vg4d replay {bags}/a*_s06_* --checkpoint {checkpoint} --labels {bags}/labels.yaml "
                       "--no-segment-verdicts [people.enabled=true]",
            "bags": len(names), "live_windows": {"people_mode": n_people, "single_person": n_single},
            "window_top1_people_mode": people, "window_top1_single_person": single,
            "windows_whose_score_differs": differ, "bags_with_a_second_track": second}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bags", type=Path, required=True, help="the MSR-Action3D bags (with labels.yaml)")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--work", type=Path, default=Path("runs/msr_composite"))
    ap.add_argument("--out", type=Path, default=Path("results/people_msr_composite_spacing.json"))
    args = ap.parse_args(argv)
    rows, three = [], []
    with tempfile.TemporaryDirectory(prefix="vg4d_spacing_") as name:
        tmp = Path(name)
        for spacing in (0.5, 0.7, 1.0):
            for split, overrides in (("before", [SPLIT_OFF]), ("after", [])):
                row = _row(args.bags, args.checkpoint, args.work, tmp, pairs=20, people=2, spacing=spacing,
                           overrides=overrides)
                rows.append({"split": split, **row})
        for spacing in (1.0, 0.7):
            three.append(_row(args.bags, args.checkpoint, args.work, tmp, pairs=15, people=3, spacing=spacing,
                              overrides=[]))
        single = _single_person(args.bags, args.checkpoint, tmp)
    print(f"{'people':>6} {'apart':>6} {'split':>7} {'together (all ticks)':>21} {'alone':>6} {'missed':>7}")
    for r in rows + [{"split": "after", **t} for t in three]:
        print(f"{r['people']:6d} {r['spacing_m']:6.1f} {r['split']:>7} {r['together_over_all_person_ticks']:21.1f} "
              f"{r['top1']['alone']:6.1f} {r['tracking']['missed']:4d}/{r['tracking']['person_instances']}")
    print(f"one person, people mode: {single['window_top1_people_mode']:.2f} % vs single-person "
          f"{single['window_top1_single_person']:.2f} % top-1 of the live windows "
          f"({single['windows_whose_score_differs']} of {single['live_windows']['people_mode']} scored "
          f"differently); a second track in {single['bags_with_a_second_track']} of {single['bags']} bags")
    out = save_json(args.out, {
        "question": "#24: people closer together than the 1.5 m of results/people_msr_composite.json, and three "
                    "in a row (MSR-Action3D test recordings composited side by side)",
        "before": f"connected components + the width split only ({SPLIT_OFF})",
        "after": "plus the valley split between heads (people.split_dip_m 0.15, people.split_ground_m 0.3)",
        "checkpoint": args.checkpoint,
        "command": "python offline/msr_composite_spacing.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "units": {"top1": "percent of compared person-ticks", "spacing_m": "metres between neighbours' centres",
                  "together_over_all_person_ticks": "percent of every person-tick of the ground truth; a missed "
                                                    "person counts as wrong"},
        "rows": rows, "three_people": three, "single_person": single})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
