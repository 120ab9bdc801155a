"""`python -m vg4d_core.evaluation.synthetic_report`: the figures come from the evaluate folder untouched."""
import json

import pytest

from vg4d_core.evaluation.synthetic_report import build_report, main


def _eval_dir(tmp_path, scores):
    d = tmp_path / "eval"
    d.mkdir()
    (d / "metrics.json").write_text(json.dumps({
        "scores": {n: {"top1": t1, "top5": 100.0} for n, t1 in scores.items()}, "split": "test",
        "num_videos": 400, "dataset": "synthetic", "per_class": {"a": {"accuracy": 50.0}},
        "checkpoint": "runs/x/last.pt", "training": {"time_s": 12.5}, "command": "vg4d evaluate ...",
        "commit": "abc", "hardware": {"cpu": "test"}}))
    (d / "loss_study.json").write_text(json.dumps({"rows": [{"run": "full", "top1": 91.0}], "table": "II (losses)"}))
    (d / "loss_study.md").write_text("| run |\n")
    return d


def test_report_keeps_every_figure_and_the_gain(tmp_path):
    d = _eval_dir(tmp_path, {"pc": 75.0, "pc_text": 74.5, "rgb": 60.0, "rgb_text": 55.0, "fused": 90.25})
    r = build_report(d)
    assert [r[k]["top1"] for k in ("pc", "pc_text", "rgb", "rgb_text", "fusion")] == [75.0, 74.5, 60.0, 55.0, 90.25]
    assert r["fusion_gain_over_best_single"] == 15.25
    assert r["loss_study"]["rows"] == [{"run": "full", "top1": 91.0}] and "ablations" not in r
    assert (r["num_videos"], r["commit"], r["per_class"]) == (400, "abc", {"a": 50.0})


def test_missing_rgb_scores_are_named(tmp_path):
    d = _eval_dir(tmp_path, {"pc": 75.0, "pc_text": 74.5, "fused": 75.0})
    with pytest.raises(KeyError, match="rgb"):
        build_report(d)
    assert main([str(d), str(tmp_path / "res")]) == 2


def test_cli_writes_json_and_tables(tmp_path):
    d = _eval_dir(tmp_path, {"pc": 75.0, "pc_text": 74.5, "rgb": 60.0, "rgb_text": 55.0, "fused": 90.25})
    assert main([str(d), str(tmp_path / "res")]) == 0
    out = json.loads((tmp_path / "res" / "synthetic_vg4d.json").read_text())
    assert out["fusion"]["top1"] == 90.25 and out["command"] == "vg4d evaluate ..."
    assert (tmp_path / "res" / "synthetic_vg4d_loss_study.md").read_text() == "| run |\n"
    assert not (tmp_path / "res" / "synthetic_vg4d_ablations.md").exists()


def test_a_single_run_keeps_the_multi_seed_band(tmp_path):
    d = _eval_dir(tmp_path, {"pc": 75.0, "pc_text": 74.5, "rgb": 60.0, "rgb_text": 55.0, "fused": 90.25})
    res = tmp_path / "res"
    res.mkdir()
    band = {"per_seed": {"fused": [95.0, 96.0, 97.0]}, "summary": {"fused": {"mean": 96.0, "std": 1.0}}}
    (res / "synthetic_vg4d.json").write_text(json.dumps({**band, "fusion": {"top1": 1.0}}))
    assert main([str(d), str(res)]) == 0
    out = json.loads((res / "synthetic_vg4d.json").read_text())
    assert out["per_seed"] == band["per_seed"] and out["summary"] == band["summary"]
    assert out["fusion"]["top1"] == 90.25  # the single-run keys are this run's
