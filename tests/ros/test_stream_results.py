"""The committed parity / stream figures are assembled from the reports, with their provenance."""
from __future__ import annotations

import json

from vg4d_ros.programs import stream_results


def test_parity_and_stream_figures_come_from_the_reports(tmp_path):
    metrics = {"top1": 78.0, "num_videos": 10, "command": "vg4d evaluate --checkpoint ck.pt", "checkpoint": "ck.pt"}
    replay = {"summary": {"segment_top1": 77.0, "window_top1": 74.5, "segments": 10, "inside_windows": 40,
                          "latency_ms_p50": 20.0, "latency_ms_p95": 30.0,
                          "stream": {"f1_at_10": 0.9, "f1_at_25": 0.8, "f1_at_50": 0.7, "edit": 80.0,
                                     "frame_accuracy": 70.0, "median_delay_s": 0.8, "actions": 5, "detected": 4,
                                     "missed": 1, "events": 12, "streams": 1}},
              "bags": [{"recognizer": {"window": {"window_s": 2.5}}}], "command": "vg4d replay x"}
    paths = {}
    for name, data in (("metrics", metrics), ("replay", replay)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(data))
    code = stream_results.main(["--metrics", str(paths["metrics"]), "--replay", str(paths["replay"]),
                                "--parity", str(tmp_path / "parity.json"), "--training", "vg4d train a",
                                "--training", "vg4d train b", "--stream-replay", str(paths["replay"]),
                                "--stream", str(tmp_path / "stream.json")])
    assert code == 0
    parity = json.loads((tmp_path / "parity.json").read_text())
    assert parity["evaluate_video_top1"] == 78.0 and parity["replay_video_top1"] == 77.0
    assert parity["replay_minus_evaluate"] == -1.0 and parity["window_minus_video"] == -2.5
    assert parity["training"] == {"commands": ["vg4d train a", "vg4d train b"]}
    assert parity["window"] == {"window_s": 2.5} and "commit" in parity and "hardware" in parity
    stream = json.loads((tmp_path / "stream.json").read_text())
    assert stream["f1_at_50"] == 0.7 and stream["median_delay_s"] == 0.8 and stream["sources"]["replay"] == "vg4d replay x"
    assert stream_results.main(["--metrics", str(tmp_path / "none.json"), "--replay", str(paths["replay"]),
                                "--parity", str(tmp_path / "p.json")]) == 2
