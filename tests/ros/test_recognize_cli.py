"""`vg4d recognize` and `vg4d bench node` entry points (no DDS traffic, no rclpy)."""
from __future__ import annotations

import pytest

from vg4d_core import cli


def test_recognize_is_a_subcommand_pointing_at_vg4d_ros():
    assert cli.SUBCOMMANDS["recognize"][0] == "vg4d_ros.transports.dds_node:main"


def test_a_missing_package_is_named(monkeypatch, capsys):
    monkeypatch.setitem(cli.SUBCOMMANDS, "recognize", ("vg4d_missing_pkg.recognize_dds:main", "x"))
    assert cli.main(["recognize", "--transport", "dds"]) == 2
    assert "needs the vg4d_missing_pkg package, which is not installed" in capsys.readouterr().err


def test_ros_transport_points_at_the_node(capsys):
    assert cli.main(["recognize", "--transport", "ros"]) == 2
    assert "ros2 run vg4d_ros recognizer" in capsys.readouterr().err


def test_an_unknown_setting_is_an_error_naming_it(capsys):
    assert cli.main(["recognize", "--checkpoint", "x.pt", "window.hop_frame=3"]) == 2
    assert "unknown key(s) ['hop_frame']" in capsys.readouterr().err


def test_topic_resolution():
    from vg4d_ros.topics import resolve_topic
    assert resolve_topic("~/action", "recognizer") == "/recognizer/action"
    assert resolve_topic("~/action", "rec", "/robot") == "/robot/rec/action"
    assert resolve_topic("/diagnostics", "rec", "/robot") == "/diagnostics"
    assert resolve_topic("label", "rec", "/robot") == "/robot/label"


def test_bench_node_row_on_a_short_run(tmp_path):
    from vg4d_core.bench.cli import BENCHMARKS
    from vg4d_ros.programs.bench_node import bench_config
    assert BENCHMARKS["node"][0] == "vg4d_ros.programs.bench_node"
    row = bench_config("lite", seconds=0.6, rate_hz=30.0, threads=1, workdir=tmp_path)
    assert (row["config"], row["frames"], row["points"], row["paced_frames"]) == ("lite", 12, 256, 18)
    assert row["windows"] == 1  # min_frames 8 then a hop of 15: frame 8 only
    assert row["labelled"] + row["dropped"] == row["windows"]
    assert row["callback_ms"] > 0 and row["infer_ms"] > 0


def test_bench_people_rows_on_a_short_run(tmp_path):
    """`vg4d bench people`: each count of people gets that many tracks, a window per person per tick, and
    the batched and one-by-one runs time the same ticks."""
    from vg4d_core.bench.cli import BENCHMARKS
    from vg4d_ros.programs.bench_people import bench_people, crowd
    assert BENCHMARKS["people"][0] == "vg4d_ros.programs.bench_people"
    assert [a.actor_id for a in crowd(4, 20, 15.0).actors] == ["a0", "a1", "a2", "a3"]
    rows = bench_people([1, 2], model_name="lite", frames=24, rate_hz=15.0, hop=5, threads=1, image_scale=0.5,
                        workdir=tmp_path)
    assert [r["people"] for r in rows] == [1, 2] and [r["tracks"] for r in rows] == [1, 2]
    for r in rows:
        assert r["ticks"] >= 2 and r["windows"] == r["people"] * r["ticks"]
        assert r["latency_p95_ms"] > 0 and r["sequential_p95_ms"] > 0 and r["callback_ms"] > 0
    assert rows[0]["p95_vs_one"] == 1.0


def test_bench_people_on_cuda_without_a_gpu_says_so(capsys):
    import torch

    from vg4d_ros.programs.bench_people import main
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the refusal is for machines without one")
    with pytest.raises(SystemExit) as e:
        main(["--device", "cuda", "--people", "1"])
    assert e.value.code == 2 and "no CUDA device" in capsys.readouterr().err


@pytest.mark.cuda
def test_bench_people_on_cuda(tmp_path):
    """The people benchmark on the GPU: one batch per tick there too."""
    import torch
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from vg4d_ros.programs.bench_people import bench_people
    rows = bench_people([1, 3], model_name="lite", frames=24, rate_hz=15.0, hop=5, threads=1, image_scale=0.5,
                        workdir=tmp_path, device="cuda")
    assert [r["tracks"] for r in rows] == [1, 3]
    assert all(r["windows"] == r["people"] * r["ticks"] for r in rows)
