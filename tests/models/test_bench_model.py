"""`vg4d bench model` on a tiny architecture: prints the table, writes the JSON rows."""
from __future__ import annotations

import json
import math

import pytest

from vg4d_core.bench import model as bench_model

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
    # MACs per clip, by hand (models/cost.py's "implemented" count; frames 5, 32 points):
    #   stage 1 (0->8->12, M=16, T'=5, l=1): per point 5*32*3*8 = 3840; temporal 5*16*1*8*12 = 7680
    #   stage 2 (12->12->16, 16 points in, M=16, T'=(5+2-3)//2+1=3, l=3): per point 5*16*(3+12)*12 = 14400,
    #            anchor feature 3*16*12*12 = 6912, temporal 3*16*3*12*16 = 27648
    #   heads: classifier 16*5 = 80, projection 16*8 = 128         -> 60688 MACs = 121376 FLOPs
    assert row["gflops"] == pytest.approx(121376e-9, rel=1e-12)
    # parameters: stage 1 temporal 12*1*8 + disp 8*3 + BN 2*8 + BN 2*12 = 160;
    # stage 2 temporal 16*3*12 + disp 12*3 + feat 12*12 + anchor 12*12 + BN 2*12 + BN 2*48 = 1020;
    # classifier 16*5+5 = 85; projection 16*8 = 128                  -> 1393
    assert row["params_m"] == pytest.approx(1393e-6, rel=1e-12)
    assert row["train_batch"] == 3 and row["device"] == "cpu" and row["dtype"] == "fp32"
    for key in ("fwd_ms", "fwd_min_ms", "fwd_cpu_ms", "index_ms", "train_clips_s", "train_best_clips_s",
                "train_step_ms", "train_cpu_ms_per_clip"):
        assert math.isfinite(row[key]) and row[key] > 0, key
    # the timing fields hang together as documented (throughput from the median step, best >= median)
    assert row["train_clips_s"] == pytest.approx(3 / (row["train_step_ms"] / 1e3), rel=1e-9)
    assert row["train_best_clips_s"] >= row["train_clips_s"] and row["fwd_min_ms"] <= row["fwd_ms"]
    assert row["architecture"]["name"] == "tiny"


def test_bench_model_rejects_bad_arguments(tmp_path, capsys):
    assert bench_model.main(["--configs", "lite", "--repeats", "0", "--out-dir", str(tmp_path)]) == 2
    assert "--repeats must be >= 1" in capsys.readouterr().err
