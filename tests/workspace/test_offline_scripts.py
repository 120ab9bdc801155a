"""The offline NTU scripts call the stages in order with the right run folders, resume a stage
that has a last.pt, and pass each stage's checkpoint on - checked with a stand-in `vg4d`."""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _fake_vg4d(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "calls.log"
    fake = tmp_path / "vg4d"
    fake.write_text(f'#!/usr/bin/env bash\necho "$*" >> {log}\n'
                    # a train call leaves a last.pt behind, as the real one does
                    'prev=""; for a in "$@"; do [ "$prev" = "--out" ] && mkdir -p "$a" && touch "$a/last.pt"; '
                    '[ "$prev" = "--out" ] && [ "$1" = evaluate ] && echo "{}" > "$a/metrics.json"; prev=$a; done\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake, log


@pytest.mark.parametrize("protocol", ["ntu60_cs", "ntu60_cv", "ntu120_csub", "ntu120_cset"])
def test_vg4d_chain_runs_the_three_stages_and_evaluates(tmp_path, protocol):
    fake, log = _fake_vg4d(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    run = tmp_path / "run"
    env = {**os.environ, "VG4D": str(fake), "CACHE": str(cache), "RUN": str(run), "RESULTS": str(tmp_path / "res")}
    for attempt in range(2):  # the second run resumes every stage
        subprocess.run(["bash", str(REPO / "offline" / f"{protocol}_vg4d.sh"), "workers=2"], env=env, check=True,
                       capture_output=True, timeout=60)
    calls = log.read_text().splitlines()
    assert len(calls) == 8
    first, second = calls[:4], calls[4:]
    assert first[0].startswith(f"train --config config/train/{protocol}.yaml --out {run}/pretrain ")
    assert "val_fraction=0.05" in first[0] and "workers=2" in first[0] and f"data_overrides.root={cache}" in first[0]
    assert first[1].startswith(f"train --config config/train/{protocol}_vlm.yaml --out {run}/vlm ")
    assert first[2].startswith(f"train --config config/train/{protocol}_crossmodal.yaml --out {run}/crossmodal ")
    assert f"pretrained={run}/pretrain/last.pt" in first[2] and f"vlm_checkpoint={run}/vlm/last.pt" in first[2]
    assert first[3].startswith(f"evaluate --checkpoint {run}/crossmodal/last.pt") and "--ablations" in first[3]
    assert all("--resume" not in c for c in first[:3]) and all("--resume" in c for c in second[:3])
    assert (tmp_path / "res" / f"{protocol}_vg4d.json").is_file()


def test_baseline_recipe_script_still_trains_and_evaluates(tmp_path):
    fake, log = _fake_vg4d(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {**os.environ, "VG4D": str(fake), "CACHE": str(cache), "RUN": str(tmp_path / "r"),
           "RESULTS": str(tmp_path / "res")}
    subprocess.run(["bash", str(REPO / "offline" / "ntu60_cs.sh")], env=env, check=True, capture_output=True,
                   timeout=60)
    calls = log.read_text().splitlines()
    assert calls[0].startswith("train --config config/train/ntu60_cs.yaml --out ") and calls[1].startswith("evaluate")
