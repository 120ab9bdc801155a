"""Two real people at once: MSR-Action3D test videos composited side by side, labelled per person.

    python offline/msr_composite.py --bags runs/msr_bags/bags --checkpoint runs/msr_bags/lite/last.pt \
        [--pairs 40] [--people 2] [--seed 0] [--spacing 1.5] [--work runs/msr_composite]
        [--out results/people_msr_composite.json]

(The bags, their labels.yaml and the checkpoint come from ``bash offline/msr_action3d_bags.sh``.)

1. ``--pairs`` random groups of ``--people`` test bags (subjects 6-10 by the labels file, different
   subjects in a group, seeded) -> ``vg4d composite`` bags: the two people side by side, per-person ground truth.
2. ``vg4d replay people.enabled=true`` on the composites, and ``vg4d replay`` (one person) on every input
   bag alone, same checkpoint and settings otherwise.
   Control: each person alone at their place in the composite's view (``vg4d composite --only k``,
   the single-person pipeline): the effect of standing off-centre, without the other person.
3. Per matched person-tick of the composites (``people.matches``): the top-1 of each run at the same
   stamp (MSR bags all start at the same stamp, so frame i has one stamp everywhere). Reported: per-person
   top-1 of each run over the same person-ticks, the share of person-ticks right alone that are right
   together, and id switches, missed person-ticks and track-ticks holding no person.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml

from vg4d_core.provenance import save_json
from vg4d_ros.bags import composite, replay
from vg4d_ros.bags.labels import load_labels


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bags", type=Path, required=True, help="the MSR-Action3D bags (with labels.yaml)")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--pairs", type=int, default=40, help="how many composites")
    ap.add_argument("--people", type=int, default=2, help="people per composite, side by side (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--spacing", type=float, default=1.5, help="metres between the two people (default 1.5)")
    ap.add_argument("--work", type=Path, default=Path("runs/msr_composite"))
    ap.add_argument("--out", type=Path, default=Path("results/people_msr_composite.json"))
    ap.add_argument("overrides", nargs="*", help="recogniser settings for the composites' replay, e.g. people.max_width_m=2")
    args = ap.parse_args(argv)
    labels_path = args.bags / "labels.yaml"
    entries = yaml.safe_load(labels_path.read_text())["bags"]
    test = sorted(name for name, e in entries.items() if int(e["subject"]) >= 6 and (args.bags / name).exists())
    rng = np.random.default_rng(args.seed)
    if args.people < 2:
        ap.error("--people must be at least 2")
    pairs, used = [], set()
    while len(pairs) < args.pairs:
        group = tuple(test[i] for i in rng.choice(len(test), args.people, replace=False))
        if len({entries[n]["subject"] for n in group}) == len(group) and group not in used:
            used.add(group)
            pairs.append(group)
    # composites of another spacing are other bags: kept apart so a rerun never mixes them
    tag = ("" if args.spacing == 1.5 else f"_{args.spacing:g}m") + ("" if args.people == 2 else f"_{args.people}p")
    made = args.work / f"composites{tag}"
    made.mkdir(parents=True, exist_ok=True)
    labels = load_labels(labels_path)
    together, in_place = [], []  # composite bags; (bag, k): person k alone at their place in the composite
    for i, group in enumerate(pairs):
        sources = [args.bags / n for n in group]
        out = made / f"pair{i:03d}_{'_'.join(group)}"
        if not out.exists():
            composite.composite(sources, out, labels=labels, spacing_m=args.spacing)
        together.append(out)
        for k in range(len(group)):
            solo = made / f"{out.name}_only{k}"
            if not solo.exists():
                composite.composite(sources, solo, labels=labels, only=k, spacing_m=args.spacing)
            in_place.append(solo)
    inputs = sorted({n for p in pairs for n in p})
    common = ["--checkpoint", args.checkpoint, "--quiet", "--no-progress", "--no-segment-verdicts"]
    runs = {"together": ([str(b) for b in together], ["people.enabled=true", *args.overrides]),
            "alone_in_place": ([str(b) for b in in_place], []),
            "alone": ([str(args.bags / n) for n in inputs], ["--labels", str(labels_path)])}
    reports = {}
    for name, (bags, extra) in runs.items():
        out = args.work / f"replay_{name}{tag}"
        assert replay.main(bags + common + ["--out", str(out)] + extra) == 0
        reports[name] = json.loads((out / "report.json").read_text())

    def single_top1(report):  # (bag name, stamp) -> top-1 of the single-person pipeline's live windows
        return {(b["name"], w["stamp_ns"]): w["top1"] for b in report["bags"] for w in b["windows"]
                if w["kind"] == "window"}

    alone, in_place_top1 = single_top1(reports["alone"]), single_top1(reports["alone_in_place"])
    rows = []
    for bag, group in zip(reports["together"]["bags"], pairs):
        for m in (bag["people"] or {}).get("matches", []):
            if not m["label"]:
                continue
            k = int(m["actor"][1:])
            rows.append({"pair": bag["name"], "actor": m["actor"], "source": group[k], "stamp_ns": m["stamp_ns"],
                         "label": m["label"], "together": m["top1"],
                         "alone": alone.get((group[k], m["stamp_ns"])),
                         "alone_in_place": in_place_top1.get((f"{bag['name']}_only{k}", m["stamp_ns"]))})
    keys = ("together", "alone", "alone_in_place")
    both = [r for r in rows if all(r[k] is not None for k in keys)]

    def top1(key, among=both):
        return 100.0 * float(np.mean([r[key] == r["label"] for r in among])) if among else None

    right_alone = [r for r in both if r["alone"] == r["label"]]
    pooled = reports["together"]["summary"]["people"]
    result = {
        "pairs": len(pairs), "person_ticks": len(rows), "compared": len(both),
        # per-person top-1 over the same person-ticks (windows at the same stamps)
        "top1": {k: top1(k) for k in keys},
        "right_alone_right_together": top1("together", right_alone),
        "tracking": {f: pooled[f] for f in ("ticks", "person_instances", "matched", "missed", "false_tracks",
                                            "id_switches")},
        "spacing_m": args.spacing, "people": args.people,
        "meaning": {"alone": "the person's own bag, single-person pipeline (centred, as trained)",
                    "alone_in_place": "the composite with only this person drawn, single-person pipeline",
                    "together": "the composite, people.enabled"},
        "units": {"top1": "percent of compared person-ticks"},
        "sources": {"composites": str(made), "checkpoint": args.checkpoint, "seed": args.seed,
                    "command": "python offline/msr_composite.py " + " ".join(sys.argv[1:] if argv is None else argv)},
        "rows": rows,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
    print(f"wrote {save_json(args.out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
