"""Where the synthetic benchmark's fusion gain comes from, per class pair, for finished demo runs.

    python offline/synthetic_pairs.py OUT.json RUN_DIR [RUN_DIR ...]     (RUN_DIR: a `vg4d demo --out` folder)

For each score (pc, pc_text, rgb, rgb_text, fused) on the test videos and on the validation videos
the fusion weights were fitted on: top-1, and separately on the appearance pairs (red / blue cup,
plain / checkered board: bit-identical depth) and the depth pairs (lean, step: bit-identical RGB):
``acc`` (top-1 on those classes), ``within_pair`` (the true class beats its partner) and
``certainty`` (mean |2 p(true) / (p(true) + p(partner)) - 1|: 0 = no preference within the pair,
1 = certain). A modality should be at chance with certainty ~0 on the pairs it cannot see; the
fusion on the appearance pairs can then be no better than the RGB scores there.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from vg4d_core.data.factory import build_split
from vg4d_core.data.synthetic.scene import APPEARANCE_PAIRS, DEPTH_PAIRS
from vg4d_core.provenance import save_json
from vg4d_core.runtime import checkpoint as ckpt_io
from vg4d_core.runtime.predictor import predictor_from_checkpoint
from vg4d_core.runtime.scoring import score_dataset
from vg4d_core.training.validation import validation_set

PARTNER = {a: b for x, y in APPEARANCE_PAIRS + DEPTH_PAIRS for a, b in ((x, y), (y, x))}


def pair_stats(table: np.ndarray, labels: np.ndarray) -> dict:
    out = {"top1": float(100 * (table.argmax(1) == labels).mean())}
    for name, pairs in (("appearance_pairs", APPEARANCE_PAIRS), ("depth_pairs", DEPTH_PAIRS)):
        m = np.isin(labels, [c for p in pairs for c in p])
        y = labels[m]
        pt, pp = table[m, y], table[m, [PARTNER[int(c)] for c in y]]
        share = pt / (pt + pp + 1e-12)
        out[name] = {"acc": float(100 * (table[m].argmax(1) == y).mean()),
                     "within_pair": float(100 * (share > 0.5).mean()),
                     "certainty": float(np.abs(2 * share - 1).mean())}
    return out


def run(run_dir: Path) -> dict:
    path = run_dir / "crossmodal" / "last.pt"
    state = ckpt_io.load_checkpoint(path)
    predictor, ck = predictor_from_checkpoint(path, device="cpu", amp="off")
    data = dict(ck.data_config, rgb=True)
    splits = {"test": build_split(data, "test"),
              "validation": validation_set(build_split(data, "train"), state["fusion_validation"]["val_fraction"])}
    out = {"run_dir": str(run_dir), "seed": ck.data_config.get("seed"), "fusion_weights": state["fusion_weights"]}
    for split, ds in splits.items():
        s = score_dataset(predictor, ds, batch_size=32)
        out[split] = {"videos": int(len(s.labels)),
                      **{n: pair_stats(np.asarray(t), np.asarray(s.labels)) for n, t in s.tables.items()}}
    return out


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    torch.set_num_threads(min(2, torch.get_num_threads()))
    runs = [run(Path(d)) for d in args[1:]]
    save_json(args[0], {"runs": runs, "units": "percent (certainty: 0-1)"})
    for r in runs:
        t = r["test"]
        print(r["run_dir"], " ".join(f"{n}: {t[n]['top1']:.2f} (app {t[n]['appearance_pairs']['acc']:.1f}, "
                                     f"depth {t[n]['depth_pairs']['acc']:.1f})" for n in t if n != "videos"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
