"""``vg4d evaluate``: video-level metrics of a training checkpoint.

    vg4d evaluate --checkpoint runs/msr_lite/last.pt --out runs/msr_lite/eval [key=value ...]

Rebuilds the model and the test split from what the checkpoint carries (its
architecture and data config; ``key=value`` overrides the data config, e.g.
``root=/datasets/msr``; ``--data`` swaps in another data YAML of the same
classes, e.g. another NTU protocol). Writes ``OUT/metrics.json`` (``top1``,
``top5``, ``mean_class_accuracy``, ``per_class``, ``confusion``, the
command, commit and hardware, the training summary) and ``OUT/confusion.png``.

Scores: a crossmodal checkpoint gives ``pc`` and ``pc_text``; with its VLM
(the ``vlm_checkpoint`` it records, or ``--vlm-checkpoint``) also ``rgb`` and
``rgb_text``, and ``fused`` with the validation-fitted weights of that set
of scores. ``metrics.json`` ``scores`` holds top-1/top-5 of each and of the
fusion; the headline is the fused one. ``--scores pc,pc_text`` evaluates a
point-cloud-only deployment (the VLM is not loaded).

Ablations: ``--ablations`` writes Table III (every subset of the scores,
fused with its validation-fitted weights) to ``OUT/ablation_scores.{json,md}``;
``--loss-study NAME=CKPT ...`` evaluates crossmodal runs with a loss switched
off on the same test split into ``OUT/loss_study.{json,md}`` (Table II).

The headline number is this checkpoint's (normally the final epoch's). The
best test epoch of the training run is shown only under its own label: it is
selected on the test set and overstates accuracy.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Sequence

from vg4d_core.config import ConfigError, apply_overrides, read_yaml, to_dict
from vg4d_core.data.factory import build_split, data_config_from_dict
from vg4d_core.data.point_video import literature_video_ids
from vg4d_core.evaluation.ablation import score_subsets, write_table
from vg4d_core.evaluation.plot import plot_confusion
from vg4d_core.paths import resolve_named
from vg4d_core.provenance import save_json
from vg4d_core.runtime.checkpoint import CheckpointError
from vg4d_core.runtime.metrics import run_summary
from vg4d_core.runtime.predictor import predictor_from_checkpoint, read_checkpoint
from vg4d_core.runtime.scoring import metrics_of, restrict, score_dataset
from vg4d_core.runtime.tables import print_table


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vg4d evaluate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="a checkpoint written by `vg4d train` (e.g. RUN/last.pt)")
    p.add_argument("--out", required=True, help="output folder for metrics.json and confusion.png")
    p.add_argument("--split", default="test", choices=["train", "test"], help="split to score (default test)")
    p.add_argument("--data", help="another data config (name in config/data/ or path) instead of the checkpoint's")
    p.add_argument("--batch-size", type=int, default=0, help="clips per batch (default: the recipe's eval_batch_size)")
    p.add_argument("--workers", type=int, default=-1, help="DataLoader workers (default: the recipe's)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--amp", default=None, choices=["auto", "bf16", "off"], help="default: the recipe's")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--scores", help="comma-separated scores to use, e.g. pc,pc_text (default: all available)")
    p.add_argument("--vlm-checkpoint", help="the fine-tuned VLM (vlm stage last.pt) for rgb / rgb_text "
                                            "(default: the path the checkpoint records, when it exists)")
    p.add_argument("--ablations", action="store_true",
                   help="also write Table III: every subset of the scores, fused with validation-fitted weights")
    p.add_argument("--loss-study", nargs="+", metavar="NAME=CKPT",
                   help="Table II: evaluate these crossmodal checkpoints (a loss switched off in each) too")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="data config overrides (root=..., seed=...)")
    return p


def _check_class_names(trained: list[str], scored: list[str], split: str) -> None:
    """Refuse to score a checkpoint on a dataset whose classes are other ones (same count or not)."""
    if not trained or not scored or trained == scored:
        return  # a side without names (older checkpoint, unnamed dataset) cannot be compared
    diffs = [(i, a, b) for i, (a, b) in enumerate(zip(trained, scored)) if a != b][:3]
    listed = "; ".join(f"class {i}: {a!r} in the checkpoint, {b!r} in the data" for i, a, b in diffs)
    if len(trained) != len(scored):
        listed = listed or f"{len(trained)} classes in the checkpoint, {len(scored)} in the data"
    raise ConfigError(f"the {split} split's class names differ from the checkpoint's ({listed}); "
                      f"it was trained on other classes")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if args.batch_size < 0:
        print(f"vg4d evaluate: error: --batch-size must be >= 1, got {args.batch_size}", file=sys.stderr)
        return 2

    try:
        ck = read_checkpoint(args.checkpoint)
        state, arch = ck.state, ck.arch
        train_cfg = state.get("config", {})
        wanted = [n.strip() for n in args.scores.split(",") if n.strip()] if args.scores else None
        # which inputs the scores will read, known before any weights are loaded, so that a checkpoint
        # for other classes is refused with that reason rather than a weight-shape error
        vlm_path = args.vlm_checkpoint or state.get("vlm_checkpoint")
        has_rgb = arch.get("model") == "VLMClassifier" or bool(vlm_path and Path(vlm_path).is_file())
        needs_rgb = any(n.startswith("rgb") for n in wanted) if wanted is not None else has_rgb
        data = read_yaml(resolve_named(args.data, "data")) if args.data else dict(ck.data_config)
        if not data:
            raise ConfigError(f"{args.checkpoint} carries no data config; pass --data")
        if needs_rgb:
            data["rgb"] = True  # the VLM's scores need the RGB frames
        data = to_dict(data_config_from_dict(apply_overrides(data, args.overrides)))
        dataset = build_split(data, args.split)
        if dataset.num_classes != arch["num_classes"]:
            raise ConfigError(f"the {args.split} split has {dataset.num_classes} classes but the checkpoint "
                              f"was trained for {arch['num_classes']}")
        _check_class_names(list(state.get("class_names") or []), list(getattr(dataset, "class_names", []) or []),
                           args.split)
        # the recipe's precision unless told otherwise
        predictor, _ = predictor_from_checkpoint(ck, device=args.device, amp=args.amp or train_cfg.get("amp", "auto"),
                                                 scores=wanted, vlm_checkpoint=args.vlm_checkpoint)
        if wanted is not None and not (set(predictor.score_names) >= set(wanted)):
            raise ConfigError(f"--scores {args.scores}: the checkpoint gives {list(predictor.score_names)}")
    except (ConfigError, CheckpointError, FileNotFoundError, ValueError) as exc:
        print(f"vg4d evaluate: error: {exc}", file=sys.stderr)
        return 2

    device = predictor.device
    batch = args.batch_size or int(train_cfg.get("eval_batch_size", 32))
    workers = args.workers if args.workers >= 0 else int(train_cfg.get("workers", 0))
    t0 = time.perf_counter()
    scores = score_dataset(predictor, dataset, batch_size=batch, workers=workers, progress=not args.no_progress)
    metrics = metrics_of(scores, list(getattr(dataset, "class_names", [])) or None)
    # the subset the literature's protocol scores (MSR-Action3D: videos of at least one clip), so
    # that our figure over every video sits beside one comparable with published numbers
    literature = literature_video_ids(dataset)
    lit_metrics = None
    if literature is not None and len(literature) != len(scores.videos):
        lit_metrics = metrics_of(restrict(scores, literature), list(getattr(dataset, "class_names", [])) or None)
    if wanted is not None:  # a source may give more than asked (pc comes with pc_text)
        keep = set(wanted) | {"fused"}
        scores.tables = {n: t for n, t in scores.tables.items() if n in keep}
        scores.clip_tables = {n: t for n, t in scores.clip_tables.items() if n in keep}
        metrics = metrics_of(scores, list(getattr(dataset, "class_names", [])) or None)
    elapsed = time.perf_counter() - t0

    history = list(state.get("history", []))
    epochs_planned = train_cfg.get("schedule", {}).get("epochs")
    out = Path(args.out)
    result = {
        "top1": metrics["top1"],
        "top5": metrics["top5"],
        "mean_class_accuracy": metrics["mean_class_accuracy"],
        "clip_top1": metrics["clip_top1"],
        "score": metrics["score"],
        "scores": metrics["scores"],
        "units": "percent",
        "selection": ("final epoch" if state["epoch"] == epochs_planned
                      else f"checkpoint after epoch {state['epoch']} of {epochs_planned}"),
        "checkpoint": str(args.checkpoint),
        "epoch": int(state["epoch"]),
        "split": args.split,
        "dataset": data.get("name"),
        "protocol": data.get("protocol") if data.get("name") == "ntu" else None,
        "num_videos": metrics["num_videos"],
        "num_clips": metrics["num_clips"],
        "per_class": metrics["per_class"],
        "class_names": metrics["class_names"],
        "confusion": metrics["confusion"],
        "predictions": {v: {"pred": p, "label": t} for v, p, t in
                        zip(metrics["videos"], metrics["video_predictions"], metrics["video_labels"])},
        "literature_subset": None if lit_metrics is None else {
            "rule": " ".join((type(dataset).literature_videos.__doc__ or "").split()),
            "num_videos": lit_metrics["num_videos"], "top1": lit_metrics["top1"], "top5": lit_metrics["top5"],
            "scores": lit_metrics["scores"], "videos_left_out": sorted(set(scores.videos) - set(literature))},
        "training": {
            **run_summary(history),
            "command": state.get("train_command"),
            "hardware": state.get("train_hardware"),
            # wall time of training + per-epoch evaluation, summed over epochs (and resumed runs)
            "time_s": sum(r.get("train_time_s", 0.0) + r.get("eval_time_s", 0.0) for r in history),
        },
        "arch": arch,
        "data_config": data,
        "train_config": train_cfg,
        "eval_time_s": elapsed,
    }
    command = shlex.join(["vg4d", "evaluate", *argv])
    save_json(out / "metrics.json", result, command=command, device=device)

    if args.ablations:
        try:
            rows = score_subsets(scores.tables, scores.labels, state.get("fusion_subsets") or {})
        except KeyError as exc:
            print(f"vg4d evaluate: error: --ablations: {exc.args[0]}", file=sys.stderr)
            return 2
        write_table(out, "ablation_scores", rows, ["scores", "top1", "top5", "weights"], command=command,
                    device=device, extra={"table": "III (scores)", "checkpoint": str(args.checkpoint),
                                          "split": args.split, "num_videos": metrics["num_videos"],
                                          "weights_fitted_on": state.get("fusion_validation")})
        print(f"wrote {out / 'ablation_scores.json'} and {out / 'ablation_scores.md'}")
    if args.loss_study:
        rows = []
        for spec in args.loss_study:
            name, sep, path = spec.partition("=")
            if not sep or not name or not path:
                print(f"vg4d evaluate: error: --loss-study takes NAME=CKPT, got {spec!r}", file=sys.stderr)
                return 2
            try:
                p2, ck2 = predictor_from_checkpoint(path, device=args.device, amp=args.amp or train_cfg.get("amp", "auto"), scores=wanted)
            except (ConfigError, CheckpointError, FileNotFoundError, ValueError) as exc:
                print(f"vg4d evaluate: error: --loss-study {name}: {exc}", file=sys.stderr)
                return 2
            if ck2.class_names != ck.class_names:
                print(f"vg4d evaluate: error: --loss-study {name}: other classes than {args.checkpoint}",
                      file=sys.stderr)
                return 2
            m2 = metrics_of(score_dataset(p2, dataset, batch_size=batch, workers=workers,
                                          progress=not args.no_progress))
            loss = ck2.state.get("config", {}).get("crossmodal_loss", {})
            rows.append({"run": name, **{k: loss.get(k) for k in ("a", "b", "c", "d")},
                         "headline": m2["score"], "top1": m2["top1"],
                         **{f"{n}_top1": v["top1"] for n, v in m2["scores"].items()}, "checkpoint": path})
        cols = ["run", "a", "b", "c", "d", "top1"] + sorted({k for r in rows for k in r if k.endswith("_top1")})
        write_table(out, "loss_study", rows, cols, command=command, device=device,
                    extra={"table": "II (losses)", "split": args.split, "num_videos": metrics["num_videos"]})
        print(f"wrote {out / 'loss_study.json'} and {out / 'loss_study.md'}")
    title = f"{data.get('name')} {args.split}: top-1 {metrics['top1']:.2f}% (epoch {state['epoch']})"
    plot_confusion(metrics["confusion"], metrics["class_names"], out / "confusion.png", title=title)

    rows = [{"class": name, "accuracy": pc["accuracy"], "correct": pc["correct"], "videos": pc["support"]}
            for name, pc in metrics["per_class"].items()]
    print_table(rows, ["class", "accuracy", "correct", "videos"])
    print(f"\n{data.get('name')} {args.split}, {metrics['num_videos']} videos ({metrics['num_clips']} clips), "
          f"checkpoint epoch {state['epoch']} ({result['selection']}):")
    print("  " + "   ".join(f"{n} {v['top1']:.2f}%" for n, v in metrics["scores"].items()) + "   (top-1)")
    print(f"  top-1 {metrics['top1']:.2f}%   top-5 {metrics['top5']:.2f}%   "
          f"mean class {metrics['mean_class_accuracy']:.2f}%   clip top-1 {metrics['clip_top1']:.2f}%")
    if lit_metrics is not None:
        print(f"  literature subset ({lit_metrics['num_videos']} of {metrics['num_videos']} videos, the ones "
              f"published numbers score): top-1 {lit_metrics['top1']:.2f}%")
    best = result["training"].get("best_on_test")
    if best:
        print(f"  best epoch on the test set during training (NOT the headline; selected on test, for "
              f"comparison with papers that report it): epoch {best['epoch']}, top-1 {best['top1']:.2f}%")
    print(f"wrote {out / 'metrics.json'} and {out / 'confusion.png'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
