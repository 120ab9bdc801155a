"""`vg4d demo`: the reduced profile end to end (default suite) and the README's command (slow).

The demo's printed and saved figures must be the ones `vg4d evaluate` and
`vg4d replay` give on its checkpoint and bags; a killed demo resumes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vg4d_core.cli import main as vg4d
from vg4d_ros.programs import demo

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reduced(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "run"
    cfg = demo.load_demo_config("reduced")
    calls = {"n": 0}
    real_bag = demo._step_bag

    def dies_once(cfg, out_dir):  # a kill in the middle of the demo (after training and evaluation)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt("simulated kill during the bag step")
        return real_bag(cfg, out_dir)

    demo._step_bag = dies_once
    try:
        with pytest.raises(KeyboardInterrupt):
            demo.run(out, cfg, profile="reduced")
        state = json.loads((out / demo.STATE_FILE).read_text())
        assert state["done"] == ["xclip", "pretrain", "vlm", "crossmodal", "evaluate"]
        ckpt_mtime = (out / "crossmodal" / "last.pt").stat().st_mtime_ns
        logs: list[str] = []
        summary = demo.run(out, cfg, profile="reduced", log=logs.append)
    finally:
        demo._step_bag = real_bag
    return {"out": out, "summary": summary, "logs": logs, "ckpt_mtime": ckpt_mtime}


def test_a_killed_demo_resumes_instead_of_starting_over(reduced):
    out = reduced["out"]
    skipped = [line for line in reduced["logs"] if "done in an earlier run, skipped" in line]
    assert len(skipped) == 5  # xclip, the three stages and evaluate were not redone
    assert (out / "crossmodal" / "last.pt").stat().st_mtime_ns == reduced["ckpt_mtime"]
    assert json.loads((out / demo.STATE_FILE).read_text())["done"] == list(demo.STEPS)


def test_demo_figures_are_those_of_evaluate_and_replay(reduced, tmp_path, capsys):
    out, s = reduced["out"], reduced["summary"]
    assert set(s["scores"]) == {"pc", "pc_text", "rgb", "rgb_text", "fused"}
    # vg4d evaluate, run again on the demo's checkpoint, gives the very same figures
    assert vg4d(["evaluate", "--checkpoint", str(out / "crossmodal" / "last.pt"), "--out", str(tmp_path / "e"),
                 "--no-progress"]) == 0
    again = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert {k: v["top1"] for k, v in again["scores"].items()} == s["scores"]
    assert again["num_videos"] == s["test_videos"] == 12
    # and vg4d replay of its bags gives its replay figures
    report = json.loads((out / "replay" / "report.json").read_text())["summary"]
    assert s["replay"]["video_accuracy"] == report["video_accuracy"]
    assert s["replay"]["videos"] == report["videos"] == 3 and report["bags_failed"] == 0
    assert report["warnings"]["unknown_labels"] == 0  # the bags' ground truth names the model's classes
    # every file the summary names exists
    for name, path in s["files"].items():
        assert Path(path).exists(), name
    saved = json.loads((out / demo.SUMMARY_FILE).read_text())
    assert saved["scores"] == s["scores"] and "command" in saved and "hardware" in saved
    text = demo.format_summary(s)
    for key in ("pc", "pc_text", "rgb", "rgb_text", "fused"):
        assert f"{s['scores'][key]:6.2f}" in text


def test_the_bags_hold_a_room_not_a_masked_person(reduced):
    """The held-out recording is unmasked: far wall and floor are in the depth, and the recognizer's
    foreground selection (config/demo: max_depth) is what keeps the person."""
    import numpy as np

    from vg4d_ros.bags.bagio import open_bag, read_messages
    from vg4d_ros.pipeline.decode import depth_image_to_array

    bag = sorted(p for p in (reduced["out"] / "bags").iterdir() if p.is_dir())[0]
    with open_bag(bag) as reader:
        msg = next(m.msg for m in read_messages(reader, ["/camera/depth/image_raw"], path=bag))
    depth = depth_image_to_array(msg).astype(np.float64) / 1000.0
    assert (depth > 4.5).mean() > 0.2  # the back wall (subject 3-4 m away, wall 1.5 m behind)
    assert (depth > 0).mean() > 0.9  # nearly every pixel has depth, as with a live sensor


def test_profile_errors_are_named():
    from vg4d_core.config import ConfigError

    with pytest.raises(ConfigError, match="bag.videos must be >= 1"):
        demo.load_demo_config("reduced", ["bag.videos=0"])
    with pytest.raises(ConfigError, match="demo config 'nope' not found"):
        demo.load_demo_config("nope")


@pytest.mark.slow
def test_the_readme_demo_command_from_a_clean_directory(tmp_path):
    """`bash demo.sh OUT`: the README's first command, full profile, in a fresh output folder."""
    out = tmp_path / "demo_run"
    env = {**os.environ, "VG4D_VENV": str(Path(sys.executable).parents[1])}  # the venv these tests run in
    proc = subprocess.run(["bash", str(REPO / "demo.sh"), str(out)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    saved = json.loads((out / demo.SUMMARY_FILE).read_text())
    assert set(saved["scores"]) == {"pc", "pc_text", "rgb", "rgb_text", "fused"} and saved["test_videos"] >= 400
    for path in saved["files"].values():
        assert Path(path).exists(), path
    assert "VG4D demo" in proc.stdout and "replay of" in proc.stdout
