"""``vg4d people-figure``: a picture of what the recogniser makes of several people.

Replays a depth bag through :class:`vg4d_ros.pipeline.recognizer.Recognizer` with ``people.enabled``
(the same core the nodes run) and draws one tick: each person's points as the model saw them (the
newest sampled frame of their window, metres), coloured by track, with the track id and its top-1 label
and score; the front view (as the camera sees it) and the top view. With per-person ground truth in the
bag (``vg4d people2bag`` / ``vg4d composite``) each person's true label is written beside it.

Usage::

    vg4d people-figure BAG --checkpoint CK --out FIG.png [--tick N] [key=value ...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from vg4d_ros.bags.bagio import BagError, bag_topics, open_bag, read_messages
from vg4d_ros.bags.people_truth import PEOPLE_TRUTH_TOPIC, PEOPLE_TRUTH_TYPE, read_people_truth
from vg4d_ros.topics import resolve_topic
from vg4d_ros.config import load_recognizer_config
from vg4d_ros.pipeline.model import RecognizerError, load_model
from vg4d_ros.pipeline.recognizer import PeopleResult, Recognizer

COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def people_ticks(bag: Path, config) -> list[PeopleResult]:
    """Every tick of ``bag`` in people mode (each frame's windows scored before the next frame)."""
    rec = Recognizer(config, load_model(config), lambda r: None)
    ticks: list[PeopleResult] = []
    rec.on_people = ticks.append
    topics = {role: resolve_topic(topic) for role, topic in rec.topics().items()}  # as a node in the root namespace
    handlers = {topics[r]: h for r, h in (("depth", rec.on_depth), ("camera_info", rec.on_camera_info),
                                          ("cloud", rec.on_cloud)) if r in topics}
    rec.start()
    try:
        with open_bag(bag) as reader:
            for m in read_messages(reader, list(handlers), path=bag):
                if m.msg is not None:
                    handlers[m.topic](m.msg)
                    rec.wait_idle(120.0)
    finally:
        rec.stop()
    return ticks


def draw(result: PeopleResult, out: Path, truth: dict[str, str] | None = None, title: str = "") -> Path:
    """Front and top view of one tick's people (see the module docstring); returns ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (front, top) = plt.subplots(1, 2, figsize=(10, 4.8), gridspec_kw={"width_ratios": [1.3, 1]})
    scored = [p for p in result.people if p.verdict.recognition is not None and not p.members]
    pairs = [p for p in result.people if p.verdict.recognition is not None and p.members]
    heights = np.concatenate([-p.verdict.recognition.points_m[:, 1] for p in scored]) if scored else np.zeros(1)
    front.set_ylim(float(heights.min()) - 0.1, float(heights.max()) + 0.55)  # room for the labels above heads
    for i, person in enumerate(scored):
        r = person.verdict.recognition
        pts = r.points_m
        colour = COLOURS[i % len(COLOURS)]
        front.scatter(pts[:, 0], -pts[:, 1], s=2, c=colour)
        top.scatter(pts[:, 0], pts[:, 2], s=2, c=colour)
        name, score = r.top_k[0]
        text = f"{person.track_id}: {name} ({score:.2f})" if person.verdict.status == "labelled" else \
            f"{person.track_id}: ({person.verdict.status})"
        if truth is not None:
            text += f"\ntruth: {truth.get(person.track_id) or '-'}"
        front.annotate(text, (float(pts[:, 0].mean()), float(-pts[:, 1].min()) + 0.08), ha="center", va="bottom",
                       fontsize=9, color=colour, annotation_clip=False)
    front.set(xlabel="x (m, right)", ylabel="height (m, -y)", title="as the camera sees it")
    top.set(xlabel="x (m, right)", ylabel="z (m, forward)", title="from above")
    front.set_aspect("equal", adjustable="box")
    top.set_aspect("equal", adjustable="datalim")  # depth spans little: widen the view, not squash it
    for ax in (front, top):
        ax.grid(alpha=0.3)
    heading = title or f"{len(scored)} people at {result.stamp_ns / 1e9:.2f} s"
    for pair in pairs:  # a pair's points are its members' (drawn above): its label goes in the heading
        r = pair.verdict.recognition
        heading += (f"\npair {pair.track_id}: {r.top_k[0][0]} ({r.top_k[0][1]:.2f})"
                    if pair.verdict.status == "labelled" else f"\npair {pair.track_id}: ({pair.verdict.status})")
    fig.suptitle(heading, fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _truth_by_track(bag: Path, result: PeopleResult) -> dict[str, str] | None:
    """Each track's ground-truth label at the tick (nearest ground-truth person by box centre)."""
    with open_bag(bag) as reader:
        if bag_topics(reader).get(PEOPLE_TRUTH_TOPIC) != PEOPLE_TRUTH_TYPE:
            return None
    frames = dict(read_people_truth(bag).frames)
    gt = frames.get(int(result.stamp_ns), [])
    out = {}
    for p in result.people:
        centre = (p.box.box_min + p.box.box_max) / 2.0
        if gt:
            out[p.track_id] = min(gt, key=lambda g: float(np.linalg.norm(np.asarray(g.box_center) - centre))).label
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="vg4d people-figure", description=__doc__.split("\n\n")[0])
    ap.add_argument("bag", type=Path)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", type=Path, required=True, help="the picture (.png)")
    ap.add_argument("--tick", type=int, default=-1, help="which tick to draw (default: the last)")
    ap.add_argument("--config", default=None, help="recognize.yaml (default: built-in)")
    ap.add_argument("--title", default="")
    ap.add_argument("overrides", nargs="*", help="recogniser settings, e.g. people.max_width_m=1.5")
    args = ap.parse_intermixed_args(list(sys.argv[1:] if argv is None else argv))
    try:
        config = load_recognizer_config(args.config, ["people.enabled=true", f"inference.checkpoint={args.checkpoint}",
                                                      *args.overrides])
        ticks = people_ticks(args.bag, config)
        if not ticks:
            raise BagError(f"{args.bag}: no person was scored (no tick to draw)")
        result = ticks[args.tick]
        out = draw(result, args.out, _truth_by_track(args.bag, result), args.title)
    except (ValueError, OSError, IndexError, RecognizerError) as exc:
        print(f"vg4d people-figure: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({len(result.people)} people, tick {args.tick} of {len(ticks)})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
