"""`vg4d soak` end to end on a short schedule: every fault kind, the recogniser survives, labels come out.

The real benchmark is 10 minutes (`vg4d soak`, results/bench/soak_cpu.json); this runs 15 s with
short faults packed close together. No wall-clock figures are asserted: the machine may be loaded.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from vg4d_ros.programs.soak import FAULT_KINDS, fault_schedule


def test_schedule_is_seeded_has_every_kind_and_no_overlap():
    faults = fault_schedule(600, seed=3, quiet_s=10, gap_s=(5, 15))
    assert faults == fault_schedule(600, seed=3, quiet_s=10, gap_s=(5, 15))
    assert faults != fault_schedule(600, seed=4, quiet_s=10, gap_s=(5, 15))
    assert {f.kind for f in faults[: len(FAULT_KINDS)]} == set(FAULT_KINDS)  # one of each per round
    assert faults[0].start_s == 10 and all(f.end_s < 600 for f in faults)
    assert all(a.end_s + 5 <= b.start_s for a, b in zip(faults, faults[1:]))
    assert all(f.jump_s < 0 for f in faults if f.kind == "stamp_back")
    assert all(f.jump_s > 0 for f in faults if f.kind == "stamp_forward")


def test_soak_runs_every_fault_and_the_recognizer_survives(tmp_path):
    out = tmp_path / "soak.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), OMP_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "vg4d_core.cli", "soak", "--seconds", "15", "--quiet", "2",
                           "--fault-gap", "0.3", "0.6", "--fault-seconds", "0.8", "1.2", "--warmup", "3",
                           "--out", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 1: goal missed, still a complete report
    report = json.loads(out.read_text())
    for key in ("command", "commit", "hardware", "load_average", "published", "faults_injected", "rss_mb",
                "windows", "latency_ms", "stamp_resets", "malformed_total", "received", "recognizer", "goal_met"):
        assert key in report, key
    assert report["recognizer"]["alive_until_end"] and report["recognizer"]["exit_status"] == 0, report["recognizer"]
    assert not report["recognizer"]["traceback_in_log"] and report["crashes"] == 0
    assert all(report["faults_injected"][k] >= 1 for k in FAULT_KINDS), report["faults_injected"]
    assert {"depth", "depth_empty", "malformed_short", "malformed_encoding", "rgb", "rgb_other_clock",
            "camera_info"} <= set(report["published"]), report["published"]
    assert report["received"]["label"] > 0 and report["windows"]["windows_inferred"] > 0, report["windows"]
    assert report["stamp_resets"].get("back", 0) >= 1  # the bag loop restarted the window buffer
    assert report["malformed_total"] >= 1  # best effort: at least one of the bursts arrived and was counted
    rss = report["rss_mb"]
    assert rss["samples"] >= 10 and rss["start_mb"] <= rss["max_mb"] and rss["end_mb"] <= rss["max_mb"]
