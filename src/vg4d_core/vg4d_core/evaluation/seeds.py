"""``vg4d seeds``: one recipe over several seeds, figures as mean ± std (and every seed's).

    vg4d seeds --recipe demo --seeds 0 1 2 --out runs/seeds/demo --results results/synthetic_vg4d.json
    vg4d seeds --recipe train:msr_action3d_lite --seeds 0 1 2 --out runs/seeds/msr_lite \\
        --eval test_views=5 --results results/msr_action3d_lite_seeds.json

Recipes:

* ``demo``: ``vg4d demo --out OUT/seed_<s> seed=<s>`` per seed: the synthetic
  VG4D chain (pretrain, vlm, crossmodal, evaluate; the README's four scores
  and their fusion) and the replay of held-out room-mode bags. Figures:
  ``pc``, ``pc_text``, ``rgb``, ``rgb_text``, ``fused`` (test top-1 %),
  ``replay_video``, ``replay_window`` (replay top-1 %), with each seed's
  validation-fitted fusion weights, validation size and fit objective.
* ``train:<recipe>``: ``vg4d train --config <recipe> seed=<s>`` then ``vg4d
  evaluate`` (``--eval key=value`` data overrides, e.g. ``test_views=5``).
  Figures: ``top1`` (the headline score) and each score's top-1.

The seed is the recipe's one seed (initial weights, data order, synthetic
generation, clip and view sampling, augmentation; the demo's tiny X-CLIP
and held-out bags too). Each seed's run folder is resumable: rerunning the
command continues a killed seed and re-reads finished ones (``--collect-only``
reads finished seed folders and runs nothing). ``OUT/seeds.json``
holds ``per_seed`` (figure -> list over seeds), ``summary`` (figure ->
``mean``, ``std`` (sample standard deviation, n - 1), ``min``, ``max``,
``n``) and ``runs`` (each seed's details). ``--results FILE`` merges them
into a result file (under ``--results-key`` when given, else at its top
level; a ``demo`` band also refreshes FILE's single-run keys from the first
seed's evaluation, :mod:`vg4d_core.evaluation.synthetic_report`).

Nothing is recomputed here: every figure is read from what ``vg4d
evaluate`` and ``vg4d replay`` wrote for that seed.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

SYNTHETIC_FIGURES: tuple[str, ...] = ("pc", "pc_text", "rgb", "rgb_text", "fused", "replay_video", "replay_window")
def _results_file() -> Path:
    from vg4d_core.paths import SOURCE_ROOT

    return SOURCE_ROOT / "results" / "synthetic_vg4d.json"  # the committed band


def band(values: Sequence[float]) -> dict[str, float]:
    """mean, sample std (n - 1; 0 for one value), min, max and n of ``values``."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("band of no values")
    n = len(vals)
    mean = sum(vals) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "min": min(vals), "max": max(vals), "n": n}


def summarise(runs: Sequence[Mapping[str, Any]], figures: Sequence[str] | None = None) -> dict[str, Any]:
    """``per_seed`` and ``summary`` over ``runs`` (each ``{"seed", "figures": {name: value}}``)."""
    names = list(figures) if figures is not None else sorted({k for r in runs for k in r["figures"]})
    per_seed = {n: [r["figures"][n] for r in runs if r["figures"].get(n) is not None] for n in names}
    return {"seeds": [r["seed"] for r in runs], "per_seed": per_seed,
            "summary": {n: band(v) for n, v in per_seed.items() if v}}


def inside(value: float, entry: Mapping[str, float], k: float = 2.0) -> bool:
    """Whether ``value`` lies within mean ± k std of a band entry (at least ± 0.5 points)."""
    half = max(k * float(entry["std"]), 0.5)
    return abs(float(value) - float(entry["mean"])) <= half + 1e-9


def band_report(figures: Mapping[str, float | None], results: str | Path | None = None) -> list[str]:
    """Lines comparing a demo run's figures with the committed band (``results/synthetic_vg4d.json``).

    Each line: the figure, this run's value, the band's mean ± std over its seeds and whether the
    run falls inside mean ± 2 std. No band file (an install without the results folder): one line
    saying so.
    """
    path = Path(results) if results is not None else _results_file()
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))["summary"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return [f"(no committed band to compare with: {path} has no `summary`)"]
    labels = {"pc": "PC", "pc_text": "PC-Text", "rgb": "RGB", "rgb_text": "RGB-Text", "fused": "fusion",
              "replay_video": "replay video", "replay_window": "replay window"}
    lines, all_in = [], True
    for key, label in labels.items():
        value, entry = figures.get(key), summary.get(key)
        if value is None or entry is None:
            continue
        ok = inside(value, entry)
        all_in &= ok
        lines.append(f"  {label:<14} {value:6.2f}   band {entry['mean']:6.2f} ± {entry['std']:4.2f} "
                     f"({entry['n']} seeds)   {'inside' if ok else 'OUTSIDE'}")
    if not lines:
        return [f"(the band in {path} names none of this run's figures)"]
    n = max(int(summary[k]["n"]) for k in labels if k in summary)
    head = (f"this run against the committed band ({path.name}, mean ± std over {n} seeds; inside = within "
            f"mean ± 2 std): {'every figure inside' if all_in else 'some figure OUTSIDE'}")
    return [head, *lines]


def demo_figures(summary: Mapping[str, Any]) -> dict[str, float | None]:
    """The band's figures from a demo ``summary.json``."""
    out: dict[str, float | None] = {k: summary["scores"].get(k) for k in ("pc", "pc_text", "rgb", "rgb_text", "fused")}
    out["replay_video"] = summary["replay"]["video_accuracy"]
    out["replay_window"] = summary["replay"]["window_accuracy"]
    return out


# ---------------------------------------------------------------- running seeds


def _vg4d(args: Sequence[str]) -> None:
    from vg4d_core.cli import run_subcommand

    rc = run_subcommand(args[0], list(args[1:]))
    if rc != 0:
        raise RuntimeError(f"`vg4d {' '.join(map(str, args))}` failed with exit status {rc}")


def _fusion_details(checkpoint: Path) -> dict[str, Any]:
    from vg4d_core.runtime import checkpoint as ckpt_io

    state = ckpt_io.load_checkpoint(checkpoint)
    return {"fusion_weights": state.get("fusion_weights"), "fusion_validation": state.get("fusion_validation"),
            "logit_scale": state.get("logit_scale")}


def run_demo_seed(out: Path, seed: int, overrides: Sequence[str], *, run: bool = True) -> dict[str, Any]:
    if run:
        _vg4d(["demo", "--out", str(out), f"seed={seed}", *overrides])
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {"seed": seed, "figures": demo_figures(s), "seconds": s.get("seconds"), "run_dir": str(out),
            "command": s.get("command"), "commit": s.get("commit"), "hardware": s.get("hardware"),
            **_fusion_details(out / "crossmodal" / "last.pt")}


def run_train_seed(recipe: str, out: Path, seed: int, overrides: Sequence[str],
                   eval_overrides: Sequence[str], *, run: bool = True) -> dict[str, Any]:
    train_s = None
    if run:
        args = ["train", "--config", recipe, "--out", str(out), f"seed={seed}", *overrides]
        if (out / "last.pt").is_file():
            args.append("--resume")
        t0 = time.perf_counter()
        _vg4d(args)
        train_s = time.perf_counter() - t0
        _vg4d(["evaluate", "--checkpoint", str(out / "last.pt"), "--out", str(out / "eval"), "--no-progress",
               *eval_overrides])
    m = json.loads((out / "eval" / "metrics.json").read_text(encoding="utf-8"))
    figures = {"top1": m["top1"], **{f"{n}_top1": v["top1"] for n, v in m["scores"].items()}}
    return {"seed": seed, "figures": figures, "seconds": {"train_this_call": train_s}, "run_dir": str(out),
            "command": m.get("command"), "commit": m.get("commit"), "hardware": m.get("hardware"),
            **_fusion_details(out / "last.pt")}


def merge_results(path: Path, band_payload: Mapping[str, Any], key: str | None,
                  first_eval: Path | None) -> dict[str, Any]:
    """Write ``band_payload`` into the result file ``path`` (at ``key`` or the top level)."""
    from vg4d_core.provenance import save_json

    current: dict[str, Any] = {}
    if path.is_file():
        current = json.loads(path.read_text(encoding="utf-8"))
    if key:
        current[key] = dict(band_payload)
    else:
        if first_eval is not None:  # the single-run keys (pc: {top1, top5}, ablations, ...) of the first seed
            from vg4d_core.evaluation.synthetic_report import build_report

            single = build_report(first_eval)
            single.pop("loss_study", None)  # Table II needs its own runs (offline/synthetic_vg4d_results.sh)
            for k in ("command", "commit", "hardware"):
                single[f"single_run_{k}"] = single.pop(k)
            current.update(single, single_run_seed=band_payload["seeds"][0])
        current.update(band_payload)
        for k in ("command", "commit", "hardware"):
            current.pop(k, None)  # save_json writes this command's
    save_json(path, current)
    return current


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="vg4d seeds", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", required=True, help="demo, or train:<recipe> (e.g. train:msr_action3d_lite)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to run (default 0 1 2)")
    p.add_argument("--out", required=True, help="folder: OUT/seed_<s>/ per seed, OUT/seeds.json")
    p.add_argument("--results", help="also merge the band into this result JSON")
    p.add_argument("--results-key", help="put the band under this key of --results (e.g. before_fix)")
    p.add_argument("--collect-only", action="store_true",
                   help="run nothing: read the figures of seed folders that exist (OUT/seed_<s>/) already")
    p.add_argument("--eval", nargs="*", default=[], metavar="key=value", help="train:* only: evaluate overrides")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="overrides for every seed's run (demo profile keys, or train recipe keys)")
    args = p.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds):
        print(f"vg4d seeds: error: repeated seeds {args.seeds}", file=sys.stderr)
        return 2
    if args.recipe != "demo" and not args.recipe.startswith("train:"):
        print(f"vg4d seeds: error: --recipe must be demo or train:<recipe>, got {args.recipe!r}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in args.seeds:
        d = out / f"seed_{seed}"
        t0 = time.perf_counter()
        try:
            if args.recipe == "demo":
                r = run_demo_seed(d, seed, args.overrides, run=not args.collect_only)
            else:
                r = run_train_seed(args.recipe.split(":", 1)[1], d, seed, args.overrides, args.eval,
                                   run=not args.collect_only)
        except FileNotFoundError as exc:
            print(f"vg4d seeds: error: seed {seed}: {exc}", file=sys.stderr)
            return 1
        except RuntimeError as exc:
            print(f"vg4d seeds: error: seed {seed}: {exc}", file=sys.stderr)
            return 1
        r["wall_s_this_call"] = time.perf_counter() - t0
        runs.append(r)
        shown = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in r["figures"].items()}
        print(f"[vg4d seeds] seed {seed}: {json.dumps(shown)}", flush=True)
    figures = SYNTHETIC_FIGURES if args.recipe == "demo" else None
    payload = {"recipe": args.recipe, "overrides": list(args.overrides), **summarise(runs, figures),
               "std_definition": "sample standard deviation (n - 1) over seeds", "units": "percent",
               "runs": runs}
    if args.recipe == "demo":  # the bar: fusion >= best single score + 10 points on every seed
        gains = [r["figures"]["fused"] - max(r["figures"][n] for n in ("pc", "pc_text", "rgb", "rgb_text"))
                 for r in runs]
        payload["fusion_gain_over_best_single_per_seed"] = gains
        payload["fusion_gain_over_best_single_min"] = min(gains)
    from vg4d_core.provenance import save_json

    save_json(out / "seeds.json", payload)
    if args.results:
        first_eval = out / f"seed_{args.seeds[0]}" / "eval" if args.recipe == "demo" else None
        merge_results(Path(args.results), payload, args.results_key, first_eval)
    print(f"\n{'figure':<16} {'mean':>7} {'std':>6} {'min':>7} {'max':>7}   per seed ({', '.join(map(str, args.seeds))})")
    for name, entry in payload["summary"].items():
        vals = ", ".join(f"{v:.2f}" for v in payload["per_seed"][name])
        print(f"{name:<16} {entry['mean']:7.2f} {entry['std']:6.2f} {entry['min']:7.2f} {entry['max']:7.2f}   {vals}")
    print(f"wrote {out / 'seeds.json'}" + (f" and {args.results}" if args.results else ""))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
