"""`vg4d bench ops` end to end on tiny shapes, its real-data loader, and the
scipy cross-check of the ball query semantics."""
from __future__ import annotations

import json

import numpy as np
import torch

from vg4d_core.bench import ops as bench_ops
from vg4d_core.ops import ball_query


def test_bench_runs_and_saves_json(tmp_path, capsys):
    out = tmp_path / "ops.json"
    rc = bench_ops.main(["--data", "uniform", "--batch", "1", "2", "--points", "96", "--frames", "2",
                         "--anchors", "24", "-k", "5", "--repeats", "1", "--baseline-repeats", "1",
                         "--radius", "0.3", "--out", str(out)])
    assert rc == 0
    payload = json.loads(out.read_text())
    rows = payload["rows"]
    assert payload["config"]["anchors"] == 24 and payload["machine"]["cpu_count"] >= 1
    seen = {(r["clips"], r["op"], r["impl"]) for r in rows}
    for op in ("fps", "ball_query", "total"):
        assert (1, op, "numba") in seen and (1, op, "torch") in seen and (2, op, "numba") in seen
    # grouping is the one gather the model runs, timed once per batch (+ the naive reference at batch 1)
    assert {(c, i) for c, op, i in seen if op == "group_fwd_bwd"} == {(1, "gather"), (2, "gather"), (1, "naive")}
    assert (1, "fps", "naive") in seen and (2, "fps", "naive") not in seen  # naive: batch 1 only
    for r in rows:
        if r["op"] in ("fps", "ball_query") and r["impl"] != "ckdtree":
            assert r["agrees"] is True, r
        if r["impl"] == "ckdtree":
            assert r["agrees"] == 1.0, r  # random data: no point exactly on a ball's edge
        assert r["median_ms"] > 0
    assert "ball_query" in capsys.readouterr().out


def test_ckdtree_reference_agrees_with_ball_query():
    """An independent implementation (scipy) of "first k in index order, pad
    with the first hit, nearest point when empty" gives the same rows."""
    g = torch.Generator().manual_seed(0)
    xyz = torch.rand(3, 400, 3, generator=g)
    centers = torch.cat([xyz[:, :50], torch.rand(3, 20, 3, generator=g) * 3.0 - 1.0], 1)  # some far away
    ours = ball_query(xyz, centers, 0.12, 9)
    theirs = bench_ops.ckdtree_ball_query(xyz.numpy(), centers.numpy(), 0.12, 9, workers=1)
    assert torch.equal(ours, torch.from_numpy(theirs))


def test_ntu_clip_loader(shared_data):
    clip = bench_ops.ntu_clip(512, 3, clips=2, root=shared_data)
    assert clip.shape == (2, 3, 512, 3) and clip.dtype == torch.float32
    assert torch.isfinite(clip).all()
    z = clip[..., 2]
    assert 0.5 < float(z.min()) and float(z.max()) < 8.0  # metres from a Kinect v2
    assert not torch.equal(clip[0], clip[1])  # each clip draws its own resampling


def test_uniform_clip_is_seeded():
    a = bench_ops.uniform_clip(64, 2, 1, seed=3)
    assert torch.equal(a, bench_ops.uniform_clip(64, 2, 1, seed=3))
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_bad_arguments_exit_with_message(capsys):
    import pytest

    with pytest.raises(SystemExit):
        bench_ops.main(["--anchors", "4096", "--points", "2048"])
    assert "--anchors 4096 exceeds --points 2048" in capsys.readouterr().err
    assert np.isclose(bench_ops.ntu_radius(), 0.1 / 1.526, atol=1e-3)
