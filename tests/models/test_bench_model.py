"""`vg4d bench model` on a tiny architecture: prints the table, writes the JSON rows."""
from __future__ import annotations

import json

from vg4d_core.bench import model as bench_model
from vg4d_core.models import load_model_config
from vg4d_core.models.cost import clip_macs

TINY = """
name: tiny
frames: 5
points: 32
radius: 0.3
neighbours: 4
layers:
  - {mid_channels: 8, out_channels: 12, spatial_stride: 2}
  - {mid_channels: 12, out_channels: 16, radius_scale: 2, temporal_kernel: 3, temporal_stride: 2,
     temporal_padding: [1, 1]}
"""


def test_bench_model_writes_rows(tmp_path, capsys):
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(TINY)
    rc = bench_model.main(["--configs", str(cfg_path), "--device", "cpu", "--repeats", "1",
                           "--cpu-train-batch", "3", "--warmup", "1", "--train-warmup", "1", "--num-classes", "5", "--embed-dim", "8",
                           "--out-dir", str(tmp_path), "--tag", "t"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "train_clips_s" in printed and "tiny" in printed
    payload = json.loads((tmp_path / "model_cpu_t.json").read_text())
    assert payload["benchmark"] == "model" and "--tag t" in payload["command"]
    assert payload["machine"]["torch"] and len(payload["machine"]["load_avg_1_5_15"]) == 3
    (row,) = payload["rows"]
    cfg = load_model_config(cfg_path)
    macs = clip_macs(cfg, 5, 8)
    assert row["gflops"] == 2 * macs["implemented"] / 1e9
    assert row["train_batch"] == 3 and row["device"] == "cpu" and row["dtype"] == "fp32"
    assert row["params_m"] * 1e6 == sum(p.numel() for p in bench_model.IMPSTNet(cfg, 5, 8).parameters())
    for key in ("fwd_ms", "fwd_cpu_ms", "index_ms", "train_clips_s", "train_step_ms", "train_cpu_ms_per_clip"):
        assert row[key] > 0, key
    assert row["architecture"]["name"] == "tiny"


def test_bench_model_rejects_bad_arguments(tmp_path, capsys):
    assert bench_model.main(["--configs", "lite", "--repeats", "0", "--out-dir", str(tmp_path)]) == 2
    assert "--repeats must be >= 1" in capsys.readouterr().err
