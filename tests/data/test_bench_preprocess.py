"""`vg4d bench preprocess` runs end to end on a tiny input and writes its JSON."""
from __future__ import annotations

import json

from vg4d_core.bench.preprocess import main


def test_bench_preprocess_writes_table_and_json(tmp_path, shared_data, capsys):
    out = tmp_path / "preprocess.json"
    args = ["--workers", "1", "2", "--videos", "2", "--repeats", "1", "--profile-repeats", "1", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "frames_per_s" in printed and "NTU120" in printed
    payload = json.loads(out.read_text())
    assert [r["workers"] for r in payload["results"]] == [1, 2]
    for row in payload["results"]:
        assert row["frames"] == 2 * 71 and row["frames_per_s"] > 0 and row["videos"] == 2
        assert row["bytes_per_frame"] > 2048 * 6  # int16 xyz for 2048 points + per-frame counts
    assert payload["stage_profile_ms"]["frames"] == 71
    assert payload["cache_size"]["depth_only"]["ntu120_estimate_GB"] > 0
