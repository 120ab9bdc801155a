"""Ablation tables of VG4D from already-computed test scores.

* Table III (score study): every non-empty subset of the available scores
  (pc, pc_text, rgb, rgb_text), fused with the weights fitted on the
  VALIDATION videos for that very subset (stored by the crossmodal stage in
  ``fusion_subsets``), reported on the test set.
* Table II (loss study): several crossmodal runs, each with a loss switched
  off (``crossmodal_loss.a/b/c = 0``): the fused and single-score top-1 of
  each run's checkpoint.

Both are written as JSON and as a markdown table.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from vg4d_core.provenance import save_json
from vg4d_core.runtime.fusion import fuse
from vg4d_core.runtime.metrics import topk_accuracy
from vg4d_core.runtime.predictor import subset_key


def score_subsets(tables: Mapping[str, np.ndarray], labels: np.ndarray,
                  fusion_subsets: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    """Rows of Table III: for every non-empty subset of ``tables`` (video-level (V, K)
    probabilities), its weights (validation-fitted; a single score weighs 1) and test top-1/top-5.

    A multi-score subset without stored weights is an error: test-set fitting is never a fallback.
    """
    names = [n for n in tables if n != "fused"]
    rows = []
    for r in range(1, len(names) + 1):
        for combo in itertools.combinations(names, r):
            key = subset_key(combo)
            if r == 1:
                w = {combo[0]: 1.0}
            elif key in fusion_subsets:
                w = dict(fusion_subsets[key])
            else:
                raise KeyError(f"no validation-fitted fusion weights for {key}; the checkpoint holds "
                               f"{sorted(fusion_subsets)}")
            fused = fuse(tables, w)
            rows.append({"scores": key, "weights": w, "top1": topk_accuracy(fused, labels, 1),
                         "top5": topk_accuracy(fused, labels, 5)})
    return rows


def markdown(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A markdown table of ``rows`` (floats to 2 decimals)."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.2f}"
        if isinstance(v, dict):
            return ", ".join(f"{k} {x:.2f}" for k, x in v.items())
        return "" if v is None else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_table(out: Path, stem: str, rows: list[dict[str, Any]], columns: Sequence[str], *, command: str,
                device: Any, extra: Mapping[str, Any] | None = None) -> None:
    """``OUT/<stem>.json`` (with provenance) and ``OUT/<stem>.md``."""
    save_json(out / f"{stem}.json", {"rows": rows, "units": "percent", **dict(extra or {})}, command=command,
              device=device)
    (out / f"{stem}.md").write_text(markdown(rows, columns), encoding="utf-8")
