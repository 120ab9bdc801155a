"""`vg4d seeds`: a recipe over several seeds, mean ± std and every seed's figures (#23)."""
import json
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from test_cli import TINY  # noqa: E402

from vg4d_core.cli import main as vg4d  # noqa: E402
from vg4d_core.evaluation.seeds import band, band_report, inside, summarise  # noqa: E402


def test_band_is_mean_and_sample_std():
    b = band([1.0, 2.0, 3.0])
    assert (b["mean"], b["std"], b["min"], b["max"], b["n"]) == (2.0, 1.0, 1.0, 3.0, 3)
    assert band([5.0])["std"] == 0.0
    with pytest.raises(ValueError):
        band([])


def test_summarise_keeps_every_seed_in_order():
    runs = [{"seed": 0, "figures": {"fused": 90.0, "pc": 75.0}},
            {"seed": 1, "figures": {"fused": 92.0, "pc": 76.0}},
            {"seed": 2, "figures": {"fused": 94.0, "pc": 74.0}}]
    s = summarise(runs, ["pc", "fused"])
    assert s["seeds"] == [0, 1, 2]
    assert s["per_seed"] == {"pc": [75.0, 76.0, 74.0], "fused": [90.0, 92.0, 94.0]}
    assert s["summary"]["fused"]["mean"] == 92.0 and s["summary"]["fused"]["std"] == 2.0


def test_inside_is_two_std_with_a_half_point_floor():
    entry = {"mean": 90.0, "std": 1.0}
    assert inside(92.0, entry) and inside(88.0, entry) and not inside(92.1, entry)
    assert inside(90.4, {"mean": 90.0, "std": 0.0}) and not inside(90.6, {"mean": 90.0, "std": 0.0})


def test_band_report_says_inside_or_outside(tmp_path):
    res = tmp_path / "r.json"
    res.write_text(json.dumps({"summary": {"fused": {"mean": 95.0, "std": 1.0, "n": 3},
                                           "replay_video": {"mean": 90.0, "std": 2.0, "n": 3}}}))
    lines = band_report({"fused": 94.0, "replay_video": 80.0, "pc": 75.0}, res)
    assert "some figure OUTSIDE" in lines[0] and "3 seeds" in lines[0]
    assert any(line.strip().startswith("fusion") and line.endswith("inside") for line in lines)
    assert any(line.strip().startswith("replay video") and line.endswith("OUTSIDE") for line in lines)
    assert "every figure inside" in band_report({"fused": 96.5}, res)[0]
    assert "no committed band" in band_report({"fused": 96.5}, tmp_path / "missing.json")[0]
    # by default the repository's committed band
    assert "synthetic_vg4d.json" in band_report({"fused": 90.0})[0] and "no committed band" not in band_report({"fused": 90.0})[0]


def test_the_committed_band_has_every_score_over_three_seeds():
    """results/synthetic_vg4d.json: per score the per-seed figures and their mean / std."""
    r = json.loads((Path(__file__).resolve().parents[2] / "results" / "synthetic_vg4d.json").read_text())
    for name in ("pc", "pc_text", "rgb", "rgb_text", "fused"):
        seeds = r["per_seed"][name]
        assert len(seeds) >= 3 and len(seeds) == len(r["seeds"])
        assert r["summary"][name] == pytest.approx(band(seeds))
    for run in r["runs"]:  # the fitted weights, the validation size and the objective of every seed
        assert run["fusion_weights"] and run["fusion_validation"]["num_videos"] > 0
        assert "validation" in run["fusion_validation"]["objective"]


def test_seeds_command_runs_a_training_recipe_per_seed(tmp_path, capsys):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(dict(TINY, stage="pretrain")), encoding="utf-8")
    out, res = tmp_path / "seeds", tmp_path / "res.json"
    res.write_text(json.dumps({"kept": 1}))
    args = ["seeds", "--recipe", f"train:{recipe}", "--seeds", "0", "1", "--out", str(out), "--results", str(res),
            "--results-key", "tiny", "schedule.epochs=1"]
    assert vg4d(args) == 0
    s = json.loads((out / "seeds.json").read_text())
    assert s["seeds"] == [0, 1] and len(s["per_seed"]["top1"]) == 2
    for seed, value in zip((0, 1), s["per_seed"]["top1"]):
        m = json.loads((out / f"seed_{seed}" / "eval" / "metrics.json").read_text())
        assert m["top1"] == value and m["data_config"]["seed"] == seed  # the seed drove the data too
    assert s["summary"]["top1"] == pytest.approx(band(s["per_seed"]["top1"]))
    merged = json.loads(res.read_text())
    assert merged["kept"] == 1 and merged["tiny"]["per_seed"] == s["per_seed"]
    # a second call resumes the finished seeds and finds the same figures
    assert vg4d(args) == 0
    assert json.loads((out / "seeds.json").read_text())["per_seed"] == s["per_seed"]
    # --collect-only reads the finished folders and runs nothing
    mtime = (out / "seed_1" / "last.pt").stat().st_mtime_ns
    assert vg4d([*args[:-1], "--collect-only", "--results-key", "again"]) == 0
    assert (out / "seed_1" / "last.pt").stat().st_mtime_ns == mtime
    assert json.loads(res.read_text())["again"]["per_seed"] == s["per_seed"]
    assert vg4d(["seeds", "--recipe", f"train:{recipe}", "--seeds", "7", "--out", str(out), "--collect-only"]) == 1
    assert vg4d(["seeds", "--recipe", "nothing", "--out", str(out)]) == 2
