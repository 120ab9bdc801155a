"""``vg4d demo --out DIR``: VG4D end to end on a fresh machine, on CPU, in minutes.

Steps (each resumable; a killed demo rerun with the same ``--out`` continues):

1. ``xclip``: a tiny random-initialised X-CLIP written to ``DIR/models/xclip``
   (no weights can be downloaded: the demo's vision-language model learns
   from the synthetic RGB alone).
2. ``pretrain``, ``vlm``, ``crossmodal``: ``vg4d train`` with the synthetic
   recipes (``config/train/synthetic_*.yaml``) into ``DIR/<stage>/``; a stage
   with a ``last.pt`` resumes from it.
3. ``evaluate``: ``vg4d evaluate --ablations`` of the cross-modal checkpoint
   into ``DIR/eval/`` (the four scores, their fusion, Table III).
4. ``bag``: held-out synthetic videos (a seed the training never used) in the
   generator's *room* mode - floor and walls in the depth, like a live depth
   camera - written as ROS 2 bags the way a Kinect v2 driver records them
   (``DIR/bags/<video>/``), with a ground-truth label topic.
5. ``replay``: the bags through the live recognizer's code (``vg4d replay``),
   with the foreground selection a robot user would configure for such a
   room (``config/demo/*.yaml``: ``recognizer_overrides``), into
   ``DIR/replay/`` (``report.json`` and output bags).

Then one summary: the four scores and the fusion, the replay accuracy and
latency, and where the files are; also written as ``DIR/summary.json``.
The figures are read from the files that ``vg4d evaluate`` and ``vg4d
replay`` wrote, never recomputed here.

Profiles (``--profile``): ``full`` (the synthetic recipes as they are: the
README's table) and ``reduced`` (the same code path at toy sizes, for the
test suite). ``key=value`` overrides apply to the profile (``bag.videos=8``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from vg4d_core.cli import run_subcommand
from vg4d_core.config import ConfigError, apply_overrides, from_dict, read_yaml, to_dict
from vg4d_core.paths import resolve_named
from vg4d_core.provenance import save_json
from vg4d_core.training.config import STAGES

STEPS = ("xclip", *STAGES, "evaluate", "bag", "replay")
STATE_FILE = "demo_state.json"
SUMMARY_FILE = "summary.json"


@dataclass
class TinyXClipSettings:
    """Arguments of :func:`vg4d_core.vlm.tiny.write_tiny_xclip`."""

    frames: int = 8
    image: int = 64
    dim: int = 32
    patch: int = 16
    width: int = 64
    layers: int = 2
    seed: int = 0


@dataclass
class BagSettings:
    """The held-out recording."""

    videos: int = 40  # held-out synthetic videos, one bag each
    seed: int = 7919  # generator seed: not the training data's (data seed 0), so the videos are new
    room_back_wall_m: float = 1.5  # back wall this far behind the subject (3-4 m away), metres
    room_side_wall_m: float = 1.6  # side wall right of the camera axis, metres; 0 = none
    storage: str = "mcap"  # or sqlite3

    def __post_init__(self) -> None:
        if self.videos < 1:
            raise ConfigError(f"bag.videos must be >= 1, got {self.videos}")
        if self.storage not in ("mcap", "sqlite3"):
            raise ConfigError(f"bag.storage must be 'mcap' or 'sqlite3', got {self.storage!r}")


@dataclass
class DemoConfig:
    """One demo profile (``config/demo/<profile>.yaml``)."""

    recipes: dict[str, str] = field(default_factory=lambda: {s: f"train/synthetic_{s}.yaml" for s in STAGES})
    tiny_xclip: TinyXClipSettings = field(default_factory=TinyXClipSettings)
    train_overrides: list[str] = field(default_factory=list)  # key=value for every stage
    stage_overrides: dict[str, list[str]] = field(default_factory=dict)  # stage -> key=value
    bag: BagSettings = field(default_factory=BagSettings)
    recognizer_overrides: list[str] = field(default_factory=list)  # key=value on config/recognize.yaml
    # the one seed of a demo run: every stage's `seed` (weights, data order, synthetic videos, views,
    # augmentation), the tiny X-CLIP's (tiny_xclip.seed + seed) and the held-out bags' (bag.seed + seed)
    seed: int = 0

    def __post_init__(self) -> None:
        missing = [s for s in STAGES if s not in self.recipes]
        if missing:
            raise ConfigError(f"demo recipes lack stage(s) {missing}")
        unknown = sorted(set(self.stage_overrides) - set(STAGES))
        if unknown:
            raise ConfigError(f"demo stage_overrides name unknown stage(s) {unknown}; stages: {list(STAGES)}")


def load_demo_config(profile: str, overrides: Sequence[str] = ()) -> DemoConfig:
    """``config/demo/<profile>.yaml`` (or a path) plus ``key=value`` overrides."""
    try:
        path = resolve_named(profile, "demo")
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    return from_dict(DemoConfig, apply_overrides(read_yaml(path), overrides), where=str(path))


# ---------------------------------------------------------------- state (resumable)


def _read_state(out: Path) -> dict[str, Any]:
    path = out / STATE_FILE
    if not path.is_file():
        return {"done": []}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"{path} is corrupt ({exc}); delete it to redo every step") from None


def _write_state(out: Path, state: dict[str, Any]) -> None:
    tmp = out / f".{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / STATE_FILE)


def _vg4d(args: Sequence[str]) -> None:
    """Run one ``vg4d`` subcommand in this process; a non-zero exit is an error naming it."""
    rc = run_subcommand(args[0], list(args[1:]))
    if rc != 0:
        raise RuntimeError(f"`vg4d {' '.join(map(str, args))}` failed with exit status {rc}")


# ---------------------------------------------------------------- steps


def _step_xclip(cfg: DemoConfig, out: Path) -> None:
    from vg4d_core.vlm.tiny import write_tiny_xclip

    settings = to_dict(cfg.tiny_xclip)
    settings["seed"] += cfg.seed
    write_tiny_xclip(out / "models" / "xclip", **settings)


def _stage_args(cfg: DemoConfig, out: Path, stage: str) -> list[str]:
    run = out / stage
    args = ["train", "--config", cfg.recipes[stage], "--out", str(run)]
    if (run / "last.pt").is_file():
        args.append("--resume")  # a killed demo continues the stage where it stopped
    over = [f"seed={cfg.seed}", *cfg.train_overrides, *cfg.stage_overrides.get(stage, [])]
    if stage == "vlm":
        over.append(f"vlm_overrides.model={out / 'models' / 'xclip'}")
    if stage == "crossmodal":
        over += [f"pretrained={out / 'pretrain' / 'last.pt'}", f"vlm_checkpoint={out / 'vlm' / 'last.pt'}"]
    return args + over


def _step_evaluate(cfg: DemoConfig, out: Path) -> None:
    _vg4d(["evaluate", "--checkpoint", str(out / "crossmodal" / "last.pt"), "--out", str(out / "eval"),
           "--ablations"])


def _step_bag(cfg: DemoConfig, out: Path) -> None:
    b = cfg.bag
    raw = out / "heldout_raw"
    _vg4d(["synth", "--out", str(raw), "--videos", str(b.videos), "--seed", str(b.seed + cfg.seed), "--room",
           "--room-back-wall", str(b.room_back_wall_m), "--room-side-wall", str(b.room_side_wall_m)])
    bags = out / "bags"
    if bags.exists():  # a bag half-written by a killed run cannot be appended to: write them again
        import shutil

        shutil.rmtree(bags)
    _vg4d(["ntu2bag", "--root", str(raw), "--out", str(bags), "--storage", b.storage, "--class-names", "synthetic"])


def _bag_paths(out: Path) -> list[str]:
    bags = sorted(p for p in (out / "bags").iterdir() if p.is_dir())
    if not bags:
        raise RuntimeError(f"no bags under {out / 'bags'}")
    return [str(p) for p in bags]


def _step_replay(cfg: DemoConfig, out: Path) -> None:
    rec_cfg = resolve_named("recognize.yaml", ".")
    _vg4d(["replay", *_bag_paths(out), "--checkpoint", str(out / "crossmodal" / "last.pt"), "--config",
           str(rec_cfg), "--out", str(out / "replay"), "--quiet", *cfg.recognizer_overrides])


# ---------------------------------------------------------------- summary


def summary(out: Path) -> dict[str, Any]:
    """The demo's figures, read from what ``vg4d evaluate`` and ``vg4d replay`` wrote."""
    metrics = json.loads((out / "eval" / "metrics.json").read_text(encoding="utf-8"))
    report = json.loads((out / "replay" / "report.json").read_text(encoding="utf-8"))
    s = report["summary"]
    return {
        "scores": {name: v["top1"] for name, v in metrics["scores"].items()},
        "test_videos": metrics["num_videos"],
        "replay": {"videos": s["videos"], "video_accuracy": s["video_accuracy"],
                   "window_accuracy": s["window_accuracy"], "latency_ms_p50": s["latency_ms_p50"],
                   "latency_ms_p95": s["latency_ms_p95"], "frames_per_s": s["frames_per_s"],
                   "warnings": s["warnings"]},
        "files": {
            "checkpoint": str(out / "crossmodal" / "last.pt"),
            "metrics": str(out / "eval" / "metrics.json"),
            "confusion_png": str(out / "eval" / "confusion.png"),
            "ablations": str(out / "eval" / "ablation_scores.md"),
            "replay_report": str(out / "replay" / "report.json"),
            "output_bags": str(out / "replay" / "bags"),
            "input_bags": str(out / "bags"),
        },
    }


def format_summary(s: dict[str, Any]) -> str:
    names = {"pc": "PC (4D classifier)", "pc_text": "PC-Text (4D vs class texts)", "rgb": "RGB (video classifier)",
             "rgb_text": "RGB-Text (video vs class texts)", "fused": "fusion (validation-fitted weights)"}
    width = max(len(v) for v in names.values())
    lines = [f"VG4D demo: synthetic RGB-D actions, {s['test_videos']} held-out test videos", "",
             f"  {'score':<{width}}  top-1 %"]
    for key in ("pc", "pc_text", "rgb", "rgb_text", "fused"):
        if key in s["scores"]:
            lines.append(f"  {names[key]:<{width}}  {s['scores'][key]:6.2f}")
    r = s["replay"]

    def num(v, fmt):
        return "-" if v is None else format(v, fmt)

    lines += ["", f"  replay of {r['videos']} held-out room-mode bags through the recognizer: video top-1 "
                  f"{num(r['video_accuracy'], '.2f')} %, window top-1 {num(r['window_accuracy'], '.2f')} %, "
                  f"latency p50 {num(r['latency_ms_p50'], '.1f')} ms / p95 {num(r['latency_ms_p95'], '.1f')} ms, "
                  f"{num(r['frames_per_s'], '.0f')} frames/s", ""]
    lines += [f"  {k:<14} {v}" for k, v in s["files"].items()]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def run(out: str | Path, cfg: DemoConfig, *, profile: str = "full", log=print) -> dict[str, Any]:
    """Run (or resume) every step into ``out``; returns the summary."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = _read_state(out)
    if state.get("profile", profile) != profile:
        raise RuntimeError(f"{out} holds a demo of profile {state['profile']!r}, not {profile!r}: "
                           "use another --out")
    state["profile"] = profile
    if state.get("seed", cfg.seed) != cfg.seed:
        raise RuntimeError(f"{out} holds a demo of seed {state['seed']}, not {cfg.seed}: use another --out")
    state["seed"] = cfg.seed
    steps = {"xclip": _step_xclip, "evaluate": _step_evaluate, "bag": _step_bag, "replay": _step_replay}
    bar = tqdm(STEPS, desc="vg4d demo", unit="step", dynamic_ncols=True)
    for step in bar:
        bar.set_postfix(step=step)
        if step in state["done"]:
            log(f"[vg4d demo] {step}: done in an earlier run, skipped")
            continue
        t0 = time.perf_counter()
        if step in STAGES:
            _vg4d(_stage_args(cfg, out, step))
        else:
            steps[step](cfg, out)
        state["done"].append(step)
        state.setdefault("seconds", {})[step] = time.perf_counter() - t0
        _write_state(out, state)
        log(f"[vg4d demo] {step}: {state['seconds'][step]:.0f} s")
    bar.close()
    s = summary(out)
    s["seconds"] = state.get("seconds", {})

    save_json(out / SUMMARY_FILE, s)
    return s


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="vg4d demo", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for every file the demo writes (rerun it to resume)")
    p.add_argument("--profile", default="full", help="config/demo/<profile>.yaml: full (default) or reduced")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="profile overrides, e.g. bag.videos=8")
    args = p.parse_args(argv)

    try:
        cfg = load_demo_config(args.profile, args.overrides)
    except ConfigError as exc:
        print(f"vg4d demo: error: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        s = run(args.out, cfg, profile=Path(args.profile).stem)
    except RuntimeError as exc:
        print(f"vg4d demo: error: {exc}", file=sys.stderr)
        return 1
    print()
    print(format_summary(s))
    from vg4d_core.evaluation.seeds import band_report, demo_figures

    print("\n" + "\n".join(band_report(demo_figures(s))))
    print(f"\n(vg4d demo: {time.perf_counter() - t0:.0f} s in this run; summary in {Path(args.out) / SUMMARY_FILE})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
