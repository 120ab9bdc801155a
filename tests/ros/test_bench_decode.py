"""bench_decode returns one figure per case and path (values are not judged)."""
from __future__ import annotations

import os

from vg4d_ros.programs.bench_decode import bench_decode

LOOPBACK = ('<CycloneDDS><Domain Id="any"><General><Interfaces><NetworkInterface name="lo"/>'
            '</Interfaces></General></Domain></CycloneDDS>')


def test_bench_decode_shape():
    os.environ.setdefault("CYCLONEDDS_URI", LOOPBACK)
    out = bench_decode(repeats=2, dds=True)
    assert set(out) == {"depth_16uc1_512x424", "bgr8_640x480", "pointcloud2_30k", "depth_png_640x480",
                        "depth_rvl_640x480", "jpeg_640x480"}
    for figures in out.values():
        assert set(figures) == {"cdr", "dds", "dds_write"}
        assert all(v > 0 for v in figures.values())
