"""How well several people were followed and labelled: the recogniser's per-person results against a
bag's per-person ground truth (:mod:`vg4d_ros.bags.people_truth`).

At each tick (one :class:`~vg4d_ros.pipeline.recognizer.PeopleResult`: every person scored at one frame)
the tracks present (window classified: ``labelled`` or ``unsure``) are matched one-to-one to the ground
truth people visible at that frame's stamp: cost = horizontal distance (x, z of the optical frame)
between box centres, gated at ``gate_m``, optimal assignment. Then, as in multi-object tracking
evaluation (CLEAR MOT):

* ``missed``: ground-truth people visible at a tick that no track matched;
* ``false_tracks``: tracks at a tick that matched no one (a track holding no person);
* ``id_switches``: a person matched to another track than the last time they were matched;
* ``accuracy``: of the matched people who act at that tick (the ground truth names a class) and whose
  track was labelled, the percentage whose top-1 is that class; ``per_track``: the same per track;
* ``matches``: every matched person-tick (stamp, actor, track, ground-truth label, top-1, status).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment


def _centre(box_min, box_max) -> np.ndarray:
    return (np.asarray(box_min, np.float64) + np.asarray(box_max, np.float64)) / 2.0


def people_report(results: Sequence, truth, gate_m: float = 0.5) -> dict:
    """The module docstring's figures for one bag: ``results`` (PeopleResult s in order) against
    ``truth`` (:class:`~vg4d_ros.bags.people_truth.PeopleTruth`)."""
    frames = dict(truth.frames)
    instances = matched = missed = false_tracks = switches = labelled = correct = 0
    last_track: dict[str, str] = {}
    per_track: dict[str, Counter] = defaultdict(Counter)
    pairs: Counter = Counter()  # (actor, track) -> ticks matched
    matches: list[dict] = []  # one per matched person-tick
    for r in results:
        gt = frames.get(int(r.stamp_ns))
        if gt is None:
            continue
        # people only: a pair's window (people.pairs) is two of them together, not a person
        present = [p for p in r.people if p.verdict.status in ("labelled", "unsure") and not p.members]
        instances += len(gt)
        if gt and present:
            cost = np.array([[np.linalg.norm((_centre(p.box.box_min, p.box.box_max) - np.asarray(g.box_center))[[0, 2]])
                              for g in gt] for p in present])
            rows, cols = linear_sum_assignment(np.where(cost <= gate_m, cost, 1e9))
            hits = [(i, j) for i, j in zip(rows, cols) if cost[i, j] <= gate_m]
        else:
            hits = []
        matched += len(hits)
        missed += len(gt) - len(hits)
        false_tracks += len(present) - len(hits)
        for i, j in hits:
            p, g = present[i], gt[j]
            pairs[(g.actor_id, p.track_id)] += 1
            if g.actor_id in last_track and last_track[g.actor_id] != p.track_id:
                switches += 1
            last_track[g.actor_id] = p.track_id
            top1 = p.verdict.recognition.top_k[0][0] if p.verdict.status == "labelled" else None
            matches.append({"stamp_ns": int(r.stamp_ns), "actor": g.actor_id, "track": p.track_id,
                            "label": g.label, "top1": top1, "status": p.verdict.status})
            if g.label and p.verdict.status == "labelled" and p.verdict.recognition is not None:
                ok = p.verdict.recognition.top_k[0][0] == g.label
                labelled += 1
                correct += int(ok)
                per_track[p.track_id]["labelled"] += 1
                per_track[p.track_id]["correct"] += int(ok)
    return {
        "ticks": len(results), "person_instances": instances, "matched": matched, "missed": missed,
        "missed_rate": 100.0 * missed / instances if instances else None, "false_tracks": false_tracks,
        "id_switches": switches, "labelled": labelled,
        "accuracy": 100.0 * correct / labelled if labelled else None,
        "per_track": {t: {"labelled": c["labelled"], "accuracy": 100.0 * c["correct"] / c["labelled"]}
                      for t, c in sorted(per_track.items()) if c["labelled"]},
        "actor_tracks": {f"{a}->{t}": n for (a, t), n in sorted(pairs.items())},
        "gate_m": gate_m, "matches": matches,
    }


def pooled_people_report(reports: Sequence[dict]) -> dict | None:
    """Counts summed over bags; accuracy and missed rate recomputed from the sums."""
    reports = [r for r in reports if r]
    if not reports:
        return None
    keys = ("ticks", "person_instances", "matched", "missed", "false_tracks", "id_switches", "labelled")
    out = {k: sum(r[k] for r in reports) for k in keys}
    correct = sum((r["accuracy"] or 0.0) * r["labelled"] / 100.0 for r in reports)
    out["accuracy"] = 100.0 * correct / out["labelled"] if out["labelled"] else None
    out["missed_rate"] = 100.0 * out["missed"] / out["person_instances"] if out["person_instances"] else None
    out["bags"] = len(reports)
    return out
