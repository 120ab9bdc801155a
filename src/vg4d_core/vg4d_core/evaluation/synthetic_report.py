"""The synthetic VG4D result file from one ``vg4d evaluate --ablations --loss-study`` folder.

    python -m vg4d_core.evaluation.synthetic_report EVAL_DIR RESULTS_DIR

Reads ``EVAL_DIR/metrics.json`` (the four scores and the fusion),
``ablation_scores.json`` (Table III) and ``loss_study.json`` (Table II) and
writes ``RESULTS_DIR/synthetic_vg4d.json`` (keys ``pc``, ``pc_text``,
``rgb``, ``rgb_text``, ``fusion``, each ``{"top1", "top5"}`` in percent,
plus ``per_class``, ``ablations``, ``loss_study``, ``num_videos`` and the
provenance of the evaluation), ``synthetic_vg4d_ablations.md`` and
``synthetic_vg4d_loss_study.md``. Nothing is recomputed: every figure is
one that ``vg4d evaluate`` measured. The multi-seed band that ``vg4d seeds``
keeps in the same file (``per_seed``, ``summary``, ...) is left as it is.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

from vg4d_core.provenance import save_json

SCORES: tuple[str, ...] = ("pc", "pc_text", "rgb", "rgb_text")
# what `vg4d seeds --results` writes into the same file; a single run's report leaves them as they are
BAND_KEYS: tuple[str, ...] = ("recipe", "overrides", "seeds", "per_seed", "summary", "std_definition", "runs",
                              "fusion_gain_over_best_single_per_seed", "fusion_gain_over_best_single_min",
                              "before_fix", "before_one_thread_vlm", "single_run_seed")


def build_report(eval_dir: str | Path) -> dict[str, Any]:
    """The result payload of ``eval_dir`` (see the module docstring); KeyError names a missing score."""
    d = Path(eval_dir)
    m = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
    scores = m["scores"]
    missing = [n for n in (*SCORES, "fused") if n not in scores]
    if missing:
        raise KeyError(f"{d / 'metrics.json'} lacks the scores {missing}: evaluate a crossmodal checkpoint "
                       "with its VLM")
    out: dict[str, Any] = {n: {"top1": scores[n]["top1"], "top5": scores[n]["top5"]} for n in SCORES}
    out["fusion"] = {"top1": scores["fused"]["top1"], "top5": scores["fused"]["top5"]}
    best_single = max(out[n]["top1"] for n in SCORES)
    out["fusion_gain_over_best_single"] = out["fusion"]["top1"] - best_single
    out.update(units="percent", split=m["split"], num_videos=m["num_videos"], dataset=m["dataset"],
               per_class={k: v["accuracy"] for k, v in m["per_class"].items()},
               checkpoint=m["checkpoint"], training_time_s=m["training"]["time_s"],
               command=m["command"], commit=m["commit"], hardware=m["hardware"])
    for stem, key in (("ablation_scores", "ablations"), ("loss_study", "loss_study")):
        path = d / f"{stem}.json"
        if path.is_file():
            table = json.loads(path.read_text(encoding="utf-8"))
            out[key] = {"rows": table["rows"], "table": table.get("table")}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    src, dst = Path(args[0]), Path(args[1])
    try:
        report = build_report(src)
    except (FileNotFoundError, KeyError) as exc:
        print(f"synthetic_report: error: {exc}", file=sys.stderr)
        return 2
    dst.mkdir(parents=True, exist_ok=True)
    path = dst / "synthetic_vg4d.json"
    if path.is_file():  # keep the multi-seed band (`vg4d seeds`: per_seed, summary, runs, ...) beside this run
        old = json.loads(path.read_text(encoding="utf-8"))
        report = {**{k: v for k, v in old.items() if k in BAND_KEYS}, **report}
    save_json(path, report)  # provenance: the evaluate run's, kept from metrics.json
    for stem, name in (("ablation_scores", "synthetic_vg4d_ablations.md"), ("loss_study", "synthetic_vg4d_loss_study.md")):
        if (src / f"{stem}.md").is_file():
            shutil.copyfile(src / f"{stem}.md", dst / name)
    print(json.dumps({k: report[k] for k in (*SCORES, "fusion")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
